"""Visitor sessions: an opaque bearer token bound to one widget, stored only hashed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bastion.domain.auth import audit_entry
from bastion.domain.errors import (
    IdentityInvalid,
    IdentityRequired,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    OriginNotAllowed,
)
from bastion.domain.events import STAFF_CHANNEL, iso
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import Visitor, VisitorToken, Widget
from bastion.domain.permissions import Perm, allowed
from bastion.domain.plaintext import check_plain
from bastion.domain.ports import Clock, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal, VisitorPrincipal
from bastion.domain.widgets import DEFAULT_IDENTITY, origin_allowed, origin_of
from bastion.security.identity import Claims, IdentityError, verify_hmac, verify_jwt
from bastion.security.tokens import hash_token, new_token

MAX_URL_CHARS = 2048
ROTATION_GRACE = timedelta(seconds=60)
MAX_TITLE_CHARS = 300
# "On the site now" (console): visitors seen this recently, at most this many (as the
# console keeps them: web/console/state.ts SITE_TTL_MS, SITE_MAX).
SITE_WINDOW = timedelta(minutes=10)
SITE_MAX = 50


@dataclass(frozen=True)
class IssuedSession:
    token: str
    visitor_id: str
    expires_at: datetime
    verified: bool = False


@dataclass(frozen=True)
class IdentityInput:
    """What the embedding site says about its logged-in user (any field may be absent)."""

    user_id: str | None = None
    user_hash: str | None = None
    identity_jwt: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.user_id or self.user_hash or self.identity_jwt)


def _identity_cfg(widget: Widget) -> dict[str, Any]:
    return {**DEFAULT_IDENTITY, **widget.config.get("identity", {})}


def _live_keys(keys: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Keys not past their ``not_after`` (the overlap period of a rotation)."""
    return [
        k for k in keys if not k.get("not_after") or datetime.fromisoformat(k["not_after"]) > now
    ]


def check_page_url(url: str, *, field: str = "page_url") -> str:
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput("URL is too long", field=field)
    if origin_of(url) is None:
        raise InvalidInput("URL must be an absolute http(s) URL", field=field)
    return check_plain(url, "URL", field)


class VisitorService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        token_ttl_s: int,
        ids: IdFactory = new_id,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ttl = timedelta(seconds=token_ttl_s)
        self._ids = ids

    def _verify(self, widget: Widget, identity: IdentityInput, now: datetime) -> Claims:
        cfg = _identity_cfg(widget)
        if identity.identity_jwt:
            return verify_jwt(
                identity.identity_jwt,
                _live_keys(cfg["jwt_keys"], now),
                audience=widget.id,
                now=now,
                max_lifetime_s=int(cfg["max_jwt_lifetime_s"]),
            )
        if identity.user_id and identity.user_hash:
            secrets_ = [k["secret"] for k in _live_keys(cfg["hmac_keys"], now)]
            if not secrets_:
                raise IdentityError("not_configured")
            return verify_hmac(
                secrets_, identity.user_id, identity.user_hash, now, int(cfg["max_age_s"])
            )
        raise IdentityError("incomplete")

    async def _reject(self, widget_id: str, reason: str, now: datetime) -> IdentityInvalid:
        async with self._uow() as uow:
            await uow.audit.add(
                audit_entry(now, "identity.rejected", actor=None, target=widget_id, reason=reason)
            )
            await uow.commit()
        return IdentityInvalid("the visitor's identity could not be verified")

    async def create_session(
        self,
        widget_id: str,
        page_url: str,
        resume_token: str | None,
        identity: IdentityInput | None = None,
    ) -> IssuedSession:
        """A fresh token for a new visitor, or, given a valid ``resume_token`` of this
        widget, a new token for the same visitor (the old one ends after a short grace).

        With ``identity`` the site vouches for its logged-in user; a bad, expired or
        replayed statement is refused (``identity_invalid``) and audited. A widget in
        strict mode refuses visitors without one (``identity_required``).
        """
        check_page_url(page_url)
        now = self._clock.now()
        identity = identity or IdentityInput()
        async with self._uow(write=False) as uow:
            widget = await uow.widgets.get(widget_id)
        if widget is None:
            raise NotFound("no such widget")
        if not origin_allowed(widget, origin_of(page_url)):
            raise OriginNotAllowed("this site may not embed the widget")
        claims: Claims | None = None
        if identity.given:
            try:
                claims = self._verify(widget, identity, now)
            except IdentityError as err:
                raise await self._reject(widget_id, err.reason, now) from None
        elif _identity_cfg(widget)["mode"] == "strict":
            raise IdentityRequired("this chat is only for signed-in customers")
        if claims is not None and claims.jti is not None:
            async with self._uow() as uow:
                expires_at = datetime.fromtimestamp(claims.expires_at or 0, tz=UTC)
                fresh = await uow.identity_jtis.claim(widget_id, claims.jti, expires_at)
                await uow.commit()
            if not fresh:  # the same signed token presented twice: a replay
                raise await self._reject(widget_id, "replay", now)
        async with self._uow() as uow:
            visitor: Visitor | None = None
            if resume_token:
                old = await uow.visitor_tokens.get(hash_token(resume_token))
                if old and not old.revoked and old.expires_at > now and old.widget_id == widget_id:
                    visitor = await uow.visitors.get(old.visitor_id)
                    # Rotation with a short grace, so two tabs that rotate at once do not
                    # lock each other out; the old token dies within a minute.
                    await uow.visitor_tokens.expire(
                        old.token_hash, min(old.expires_at, now + ROTATION_GRACE)
                    )
            if (
                visitor is not None
                and claims is not None
                and visitor.verified
                and visitor.external_id != claims.external_id
            ):
                visitor = None  # another signed-in user on this browser: never merge
            if visitor is None:
                visitor = Visitor(
                    id=self._ids("v"), widget_id=widget_id, name=None, email=None, created_at=now
                )
                await uow.visitors.add(visitor)
            if claims is not None:
                visitor = replace(
                    visitor,
                    verified=True,
                    external_id=claims.external_id,
                    name=claims.name or visitor.name,
                    email=claims.email or visitor.email,
                )
                await uow.visitors.update(visitor)
            token = new_token("vt")
            expires = now + self._ttl
            await uow.visitor_tokens.add(
                VisitorToken(
                    token_hash=hash_token(token),
                    visitor_id=visitor.id,
                    widget_id=widget_id,
                    expires_at=expires,
                    revoked=False,
                ),
                created_at=now,
            )
            await uow.commit()
        return IssuedSession(
            token=token, visitor_id=visitor.id, expires_at=expires, verified=visitor.verified
        )

    async def authenticate(self, token: str | None) -> VisitorPrincipal:
        if not token or len(token) > 200:
            raise NotAuthenticated("a valid visitor token is required")
        async with self._uow(write=False) as uow:
            record = await uow.visitor_tokens.get(hash_token(token))
        if record is None or record.revoked or record.expires_at <= self._clock.now():
            raise NotAuthenticated("a valid visitor token is required")
        return VisitorPrincipal(visitor_id=record.visitor_id, widget_id=record.widget_id)

    async def on_site_now(self, actor: StaffPrincipal) -> list[dict[str, Any]]:
        """Visitors seen browsing in the last ``SITE_WINDOW``, each with their latest page
        (what a console opened now shows under "On the site now"; live page views follow
        as ``page`` bus messages). Each carries its widget's department: the transport
        shows it only to staff who see that department, as it does the live ones.
        """
        if not allowed(actor, Perm.CHAT_HANDLE):
            return []
        async with self._uow(write=False) as uow:
            pages = await uow.visitors.recent_pages(self._clock.now() - SITE_WINDOW, SITE_MAX)
        return [
            {
                "visitor": p.visitor_id,
                "url": p.url,
                "title": p.title,
                "ts": iso(p.at),
                "department": p.department_id,
            }
            for p in pages
        ]

    async def record_page(
        self, actor: VisitorPrincipal, url: str, title: str | None, referrer: str | None
    ) -> dict[str, Any]:
        check_page_url(url, field="url")
        if referrer:
            referrer = check_page_url(referrer, field="referrer")
        if title is not None:
            title = title[:MAX_TITLE_CHARS]
            check_plain(title, "title", "title")
        now = self._clock.now()
        async with self._uow() as uow:
            widget = await uow.widgets.get(actor.widget_id)
            if widget is None or not origin_allowed(widget, origin_of(url)):
                # Agents read the page as where the visitor is: only the widget's own
                # sites, as for the session itself (never a link a visitor made up).
                raise OriginNotAllowed("only pages of the sites that embed the widget")
            await uow.visitors.add_page(actor.visitor_id, url, title, referrer, now)
            uow.on_commit(
                STAFF_CHANNEL,
                {
                    "type": "page",
                    "visitor": actor.visitor_id,
                    "url": url,
                    "title": title,
                    "ts": iso(now),
                    # Staff outside the widget's department do not see this visitor.
                    "department": widget.department_id if widget else None,
                },
            )
            await uow.commit()
        return {"ok": True}
