"""``/api/v1/auth``: staff login and the logged-in user's own security settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from bastion.domain.auth import LoginResult
from bastion.domain.models import User
from bastion.domain.principals import StaffPrincipal
from bastion.domain.staff import user_summary
from bastion.security.tokens import csrf_for
from bastion.transport.context import SESSION_COOKIE, ip_of, services
from bastion.transport.rest.api import ERRORS, Strict
from bastion.transport.rest.auth import enrolling_principal

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

Enrolling = Annotated[StaffPrincipal, Depends(enrolling_principal)]


class LoginIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(default=None, max_length=20)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: str
    status: str
    totp_enabled: bool
    # TOTP is on but its stored secret does not open: app codes answer 409
    # second_factor_unavailable until the app is set up again (/totp/setup).
    totp_unreadable: bool = False
    email_otp_enabled: bool = False


class LoginOut(BaseModel):
    csrf_token: str
    user: UserOut


def _user_out(user: User) -> UserOut:
    return UserOut(
        **user_summary(user),
        totp_enabled=user.totp_enabled,
        totp_unreadable=user.totp_unreadable,
        email_otp_enabled=user.email_otp_enabled,
    )


def _cookie_secure(request: Request) -> bool:
    # Secure everywhere except plain-http loopback development, where browsers would
    # otherwise drop the cookie.
    if request.url.scheme == "https":
        return True
    host = (request.url.hostname or "").lower()
    return host not in ("127.0.0.1", "localhost", "::1")


@router.post("/login", response_model=LoginOut, responses=ERRORS | {429: ERRORS[401]})
async def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    """Password, then the second factor when enrolled (401 ``otp_required`` asks for it;
    409 ``second_factor_unavailable`` when the stored app secret does not open: use a
    recovery or e-mailed code).

    Sets an HttpOnly, SameSite=Strict session cookie and returns the CSRF token.
    Repeated failures lock the account and the address for a growing time (429
    ``too_many_attempts`` with Retry-After).
    """
    svc = services(request)
    result = await svc.auth.login(
        body.email,
        body.password,
        body.otp,
        ip=ip_of(request),
        user_agent=request.headers.get("user-agent"),
    )
    return signed_in(request, response, result)


def signed_in(request: Request, response: Response, result: LoginResult) -> LoginOut:
    """Sets the new session's cookie (HttpOnly, SameSite=Strict) and answers the CSRF token."""
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        max_age=services(request).settings.session_absolute_s,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
        path="/",
    )
    return LoginOut(csrf_token=csrf_for(result.session_token), user=_user_out(result.user))


@router.post("/logout", status_code=204, responses=ERRORS)
async def logout(request: Request, _actor: Enrolling) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    assert token is not None
    await services(request).staff.logout(token, ip_of(request))
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return out


class MeOut(BaseModel):
    csrf_token: str
    user: UserOut
    enrollment_required: bool
    # Mail is set up and the policy allows e-mailed codes (the console offers them).
    email_otp_available: bool = False
    # Files can be shared (a malware scanner is set up): the console offers attaching.
    files_available: bool = False
    # The longest message or note the server takes (BASTION_MESSAGE_MAX_CHARS): the
    # console's composer shows the limit instead of cutting text off.
    message_max_chars: int


@router.get("/me", response_model=MeOut, responses=ERRORS)
async def me(request: Request) -> MeOut:
    """The current user; ``enrollment_required`` when their role needs two-step login
    (TOTP or a passkey) they have not set up (every other route refuses them until they do).
    """
    svc = services(request)
    token = request.cookies.get(SESSION_COOKIE)
    _principal, user = await svc.staff.authenticate(token, ip=ip_of(request), allow_unenrolled=True)
    assert token is not None
    policy = await svc.auth.policy()
    return MeOut(
        csrf_token=csrf_for(token),
        user=_user_out(user),
        enrollment_required=await svc.auth.enrollment_required(user),
        email_otp_available=svc.settings.mail_enabled and policy["allow_email_otp"],
        files_available=svc.files.enabled,
        message_max_chars=svc.settings.message_max_chars,
    )


class TotpSetupOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg_data_uri: str


class PasswordIn(Strict):
    password: str = Field(min_length=1, max_length=1024)


@router.post("/totp/setup", response_model=TotpSetupOut, responses=ERRORS)
async def totp_setup(body: PasswordIn, request: Request, actor: Enrolling) -> dict[str, str]:
    """Start enrolment with the current password (401 ``invalid_credentials`` when wrong,
    counted towards the account lock): a secret and its QR code; nothing changes until
    confirmed.
    """
    return await services(request).auth.totp_setup(actor, body.password, ip_of(request))


class CodeIn(Strict):
    code: str = Field(min_length=1, max_length=20)


class RecoveryOut(BaseModel):
    recovery_codes: list[str]


@router.post("/totp/confirm", response_model=RecoveryOut, responses=ERRORS)
async def totp_confirm(body: CodeIn, request: Request, actor: Enrolling) -> RecoveryOut:
    """Turn two-step login on with a current code; returns ten recovery codes, once."""
    codes = await services(request).auth.totp_confirm(actor, body.code, ip_of(request))
    return RecoveryOut(recovery_codes=codes)


@router.post("/totp/disable", status_code=204, responses=ERRORS)
async def totp_disable(body: PasswordIn, request: Request, actor: Enrolling) -> Response:
    await services(request).auth.totp_disable(actor, body.password, ip_of(request))
    return Response(status_code=204)


class ChangePasswordIn(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


@router.post("/password", status_code=204, responses=ERRORS)
async def change_password(body: ChangePasswordIn, request: Request, actor: Enrolling) -> Response:
    """Change your password; your other sessions end."""
    await services(request).auth.change_password(
        actor, body.current_password, body.new_password, ip_of(request)
    )
    return Response(status_code=204)


class SessionOut(BaseModel):
    id: str
    created_at: str
    last_seen_at: str
    ip: str | None
    user_agent: str | None
    current: bool


@router.get("/sessions", response_model=list[SessionOut], responses=ERRORS)
async def list_sessions(request: Request, actor: Enrolling) -> list[dict[str, Any]]:
    return await services(request).auth.sessions(actor)


@router.delete("/sessions/{session_id}", status_code=204, responses=ERRORS)
async def end_session(
    session_id: Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")],
    request: Request,
    actor: Enrolling,
) -> Response:
    await services(request).auth.end_session(actor, session_id, ip_of(request))
    return Response(status_code=204)


@router.post("/sessions/end-others", status_code=204, responses=ERRORS)
async def end_other_sessions(request: Request, actor: Enrolling) -> Response:
    await services(request).auth.end_other_sessions(actor, ip_of(request))
    return Response(status_code=204)
