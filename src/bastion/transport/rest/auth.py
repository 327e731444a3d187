"""Request authentication: staff by session cookie (+ CSRF on writes), visitors by bearer."""

from __future__ import annotations

from fastapi import Request

from bastion.domain.errors import Forbidden, NotAuthenticated
from bastion.domain.principals import Principal, StaffPrincipal, VisitorPrincipal
from bastion.security.tokens import csrf_matches
from bastion.transport.context import SESSION_COOKIE, ip_of, services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _staff(request: Request, *, allow_unenrolled: bool) -> StaffPrincipal:
    svc = services(request)
    bearer = _bearer(request)
    if bearer is not None and bearer.startswith("bt_"):
        if allow_unenrolled:
            raise Forbidden("account settings need a console session, not an API token")
        # An integration's API token: not sent automatically by browsers, so no CSRF.
        return await svc.tokens.authenticate(bearer, ip_of(request))
    token = request.cookies.get(SESSION_COOKIE)
    principal, _user = await svc.staff.authenticate(
        token, ip=ip_of(request), allow_unenrolled=allow_unenrolled
    )
    if request.method not in SAFE_METHODS:
        assert token is not None
        if not csrf_matches(token, request.headers.get("x-csrf-token")):
            raise Forbidden("missing or wrong CSRF token")
    return principal


async def staff_principal(request: Request) -> StaffPrincipal:
    """FastAPI dependency: the logged-in staff member; writes also need X-CSRF-Token."""
    return await _staff(request, allow_unenrolled=False)


async def enrolling_principal(request: Request) -> StaffPrincipal:
    """Like :func:`staff_principal`, but also admits a user who must still set up
    two-step login (for the account and enrolment routes only).
    """
    return await _staff(request, allow_unenrolled=True)


async def any_principal(request: Request) -> Principal:
    """A visitor (``Authorization: Bearer vt_…``) or a staff member (cookie)."""
    svc = services(request)
    bearer = _bearer(request)
    if bearer is not None and not bearer.startswith("bt_"):
        return await svc.visitors.authenticate(bearer)
    if bearer is not None or request.cookies.get(SESSION_COOKIE):
        return await staff_principal(request)
    raise NotAuthenticated("a visitor token or a staff session is required")


async def visitor_principal(request: Request) -> VisitorPrincipal:
    """A visitor only (``Authorization: Bearer vt_…``): staff cookies and API tokens are
    not accepted, so a route behind it can never serve a staff view.
    """
    bearer = _bearer(request)
    if bearer is None or bearer.startswith("bt_"):
        raise NotAuthenticated("a visitor token is required")
    return await services(request).visitors.authenticate(bearer)
