"""Visitor sessions: an opaque bearer token bound to one widget, stored only hashed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bastion.domain.errors import InvalidInput, NotAuthenticated, NotFound, OriginNotAllowed
from bastion.domain.events import STAFF_CHANNEL, iso
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import Visitor, VisitorToken
from bastion.domain.ports import Clock, UnitOfWorkFactory
from bastion.domain.principals import VisitorPrincipal
from bastion.domain.widgets import origin_allowed, origin_of
from bastion.security.tokens import hash_token, new_token

MAX_URL_CHARS = 2048
ROTATION_GRACE = timedelta(seconds=60)
MAX_TITLE_CHARS = 300


@dataclass(frozen=True)
class IssuedSession:
    token: str
    visitor_id: str
    expires_at: datetime


def check_page_url(url: str, *, field: str = "page_url") -> str:
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput("URL is too long", field=field)
    if origin_of(url) is None:
        raise InvalidInput("URL must be an absolute http(s) URL", field=field)
    if any(ord(ch) < 32 or ord(ch) == 0x7F for ch in url):
        raise InvalidInput("URL contains control characters", field=field)
    return url


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

    async def create_session(
        self, widget_id: str, page_url: str, resume_token: str | None
    ) -> IssuedSession:
        """A fresh token for a new visitor, or, given a valid ``resume_token`` of this
        widget, a new token for the same visitor (the old one is revoked: rotation).
        """
        check_page_url(page_url)
        now = self._clock.now()
        async with self._uow() as uow:
            widget = await uow.widgets.get(widget_id)
            if widget is None:
                raise NotFound("no such widget")
            if not origin_allowed(widget, origin_of(page_url)):
                raise OriginNotAllowed("this site may not embed the widget")
            visitor_id: str | None = None
            if resume_token:
                old = await uow.visitor_tokens.get(hash_token(resume_token))
                if old and not old.revoked and old.expires_at > now and old.widget_id == widget_id:
                    visitor_id = old.visitor_id
                    # Rotation with a short grace, so two tabs that rotate at once do not
                    # lock each other out; the old token dies within a minute.
                    await uow.visitor_tokens.expire(
                        old.token_hash, min(old.expires_at, now + ROTATION_GRACE)
                    )
            if visitor_id is None:
                visitor = Visitor(
                    id=self._ids("v"), widget_id=widget_id, name=None, email=None, created_at=now
                )
                await uow.visitors.add(visitor)
                visitor_id = visitor.id
            token = new_token("vt")
            expires = now + self._ttl
            await uow.visitor_tokens.add(
                VisitorToken(
                    token_hash=hash_token(token),
                    visitor_id=visitor_id,
                    widget_id=widget_id,
                    expires_at=expires,
                    revoked=False,
                ),
                created_at=now,
            )
            await uow.commit()
        return IssuedSession(token=token, visitor_id=visitor_id, expires_at=expires)

    async def authenticate(self, token: str | None) -> VisitorPrincipal:
        if not token or len(token) > 200:
            raise NotAuthenticated("a valid visitor token is required")
        async with self._uow(write=False) as uow:
            record = await uow.visitor_tokens.get(hash_token(token))
        if record is None or record.revoked or record.expires_at <= self._clock.now():
            raise NotAuthenticated("a valid visitor token is required")
        return VisitorPrincipal(visitor_id=record.visitor_id, widget_id=record.widget_id)

    async def record_page(
        self, actor: VisitorPrincipal, url: str, title: str | None, referrer: str | None
    ) -> dict[str, Any]:
        check_page_url(url, field="url")
        if referrer:
            referrer = check_page_url(referrer, field="referrer")
        if title is not None:
            title = title[:MAX_TITLE_CHARS]
            if any(ord(ch) < 32 for ch in title):
                raise InvalidInput("title contains control characters", field="title")
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.visitors.add_page(actor.visitor_id, url, title, referrer, now)
            uow.on_commit(
                STAFF_CHANNEL,
                {
                    "type": "page",
                    "visitor": actor.visitor_id,
                    "url": url,
                    "title": title,
                    "ts": iso(now),
                },
            )
            await uow.commit()
        return {"ok": True}
