"""Repositories: the domain ports over SQLAlchemy Core. Every query is parameterised."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.domain.models import (
    AgentStatus,
    ApiToken,
    Conversation,
    ConvState,
    Department,
    Event,
    EventType,
    SitePage,
    StaffSession,
    User,
    Visitor,
    VisitorToken,
    Widget,
)
from bastion.domain.ports import DuplicateCommand
from bastion.security.envelope import normalise_email
from bastion.storage import tables as t
from bastion.storage.cipher import VisitorCipher
from bastion.storage.prepared import Prepared
from bastion.storage.staff_cipher import StaffCipher


def utc(ts: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything in Bastion is UTC-aware."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _utc(ts: datetime) -> datetime:
    out = utc(ts)
    assert out is not None
    return out


def email_hmac(cipher: VisitorCipher, email: str | None) -> str | None:
    """The look-up hash of an e-mail address (normalised), or None without one."""
    if not email or not email.strip():
        return None
    return cipher.lookup_hmac("email", normalise_email(email))


# ---- the message path's statements, built once ------------------------------------------
# Building a Core statement and its cache key costs about as much CPU as running it on
# SQLite (~55 µs each, docs/decisions/0008); the statements every message runs are built
# here once, with bound parameters, and only executed per call, straight on the driver's
# connection (storage.prepared, ADR 0010).
_WIDGET_BY_ID = Prepared(select(t.widgets).where(t.widgets.c.id == bindparam("id")))
_VISITOR_BY_ID = Prepared(select(t.visitors).where(t.visitors.c.id == bindparam("id")))
_VISITOR_NAME = Prepared(select(t.visitors.c.name).where(t.visitors.c.id == bindparam("id")))
_CONVERSATION_BY_ID = Prepared(
    select(t.conversations).where(t.conversations.c.id == bindparam("id"))
)
_CONVERSATION_OWNER = Prepared(
    select(t.conversations.c.visitor_id).where(t.conversations.c.id == bindparam("id"))
)
_NEXT_SEQ = Prepared(
    update(t.conversations)
    .where(t.conversations.c.id == bindparam("cid"))
    .values(last_seq=t.conversations.c.last_seq + 1)
    .returning(t.conversations.c.last_seq)
)
_INSERT_EVENT = Prepared(insert(t.events))
_EVENTS_AFTER = Prepared(
    select(t.events)
    .where(t.events.c.conversation_id == bindparam("cid"), t.events.c.seq > bindparam("after"))
    .order_by(t.events.c.seq)
    .limit(bindparam("lim"))
)
_RECENT_BODIES_AT = Prepared(
    select(t.events.c.seq, t.events.c.body, t.events.c.created_at)
    .where(
        t.events.c.conversation_id == bindparam("cid"),
        t.events.c.type == EventType.MSG.value,
        t.events.c.author_id == bindparam("author"),
        t.events.c.created_at >= bindparam("since"),
    )
    .order_by(t.events.c.seq.desc())
    .limit(bindparam("lim"))
)
_COMMAND_RESULT = Prepared(
    select(t.commands.c.result).where(
        t.commands.c.principal == bindparam("principal"),
        t.commands.c.command_id == bindparam("command_id"),
    )
)
_INSERT_COMMAND = Prepared(insert(t.commands))
_ACCESS_UNTIL = Prepared(
    select(t.conversation_access.c.until).where(
        t.conversation_access.c.conversation_id == bindparam("cid"),
        t.conversation_access.c.user_id == bindparam("uid"),
    )
)


class _Repo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn


class SqlWidgetRepo(_Repo):
    @staticmethod
    def _row(row: Row[Any]) -> Widget:
        return Widget(
            id=row.id,
            name=row.name,
            allowed_origins=tuple(json.loads(row.allowed_origins)),
            config=json.loads(row.config),
            created_at=_utc(row.created_at),
            department_id=row.department_id,
        )

    async def get(self, widget_id: str) -> Widget | None:
        row = await _WIDGET_BY_ID.first(self._c, {"id": widget_id})
        return self._row(row) if row else None

    async def list_all(self) -> list[Widget]:
        rows = await self._c.execute(select(t.widgets).order_by(t.widgets.c.created_at))
        return [self._row(r) for r in rows]

    async def add(self, widget: Widget) -> None:
        await self._c.execute(
            insert(t.widgets).values(
                id=widget.id,
                name=widget.name,
                allowed_origins=json.dumps(list(widget.allowed_origins)),
                config=json.dumps(widget.config),
                created_at=widget.created_at,
                department_id=widget.department_id,
            )
        )

    async def update(self, widget: Widget) -> None:
        await self._c.execute(
            update(t.widgets)
            .where(t.widgets.c.id == widget.id)
            .values(
                name=widget.name,
                allowed_origins=json.dumps(list(widget.allowed_origins)),
                config=json.dumps(widget.config),
                department_id=widget.department_id,
            )
        )


class SqlVisitorRepo(_Repo):
    """Visitors' personal fields (name, e-mail, fields, tracked pages) are sealed under
    the visitor's data key, bound to the visitor id and column.
    """

    def __init__(self, conn: AsyncConnection, cipher: VisitorCipher) -> None:
        super().__init__(conn)
        self._cipher = cipher

    async def get(self, visitor_id: str) -> Visitor | None:
        row = await _VISITOR_BY_ID.first(self._c, {"id": visitor_id})
        if row is None:
            return None
        fields = await self._cipher.unseal(row.id, row.fields, f"visitors:{row.id}:fields")
        return Visitor(
            id=row.id,
            widget_id=row.widget_id,
            name=await self._cipher.unseal(row.id, row.name, f"visitors:{row.id}:name"),
            email=await self._cipher.unseal(row.id, row.email, f"visitors:{row.id}:email"),
            created_at=_utc(row.created_at),
            fields=json.loads(fields or "{}"),
            verified=bool(row.verified),
            external_id=row.external_id,
        )

    async def name(self, visitor_id: str) -> str | None:
        row = await _VISITOR_NAME.first(self._c, {"id": visitor_id})
        if row is None:
            return None
        return await self._cipher.unseal(visitor_id, row.name, f"visitors:{visitor_id}:name")

    async def _sealed(self, visitor: Visitor) -> dict[str, Any]:
        vid = visitor.id
        return {
            "name": await self._cipher.seal(vid, visitor.name, f"visitors:{vid}:name"),
            "email": await self._cipher.seal(vid, visitor.email, f"visitors:{vid}:email"),
            "fields": await self._cipher.seal(
                vid, json.dumps(visitor.fields), f"visitors:{vid}:fields"
            ),
            # Equality look-ups by e-mail (export, erasure) go through this keyed hash.
            "email_hmac": email_hmac(self._cipher, visitor.email),
        }

    async def add(self, visitor: Visitor) -> None:
        # The row first: the data key's row refers to it.
        await self._c.execute(
            insert(t.visitors).values(
                id=visitor.id,
                widget_id=visitor.widget_id,
                name=None,
                email=None,
                fields="{}",
                created_at=visitor.created_at,
                verified=visitor.verified,
                external_id=visitor.external_id,
            )
        )
        await self._c.execute(
            update(t.visitors)
            .where(t.visitors.c.id == visitor.id)
            .values(**await self._sealed(visitor))
        )

    async def update(self, visitor: Visitor) -> None:
        await self._c.execute(
            update(t.visitors)
            .where(t.visitors.c.id == visitor.id)
            .values(
                **await self._sealed(visitor),
                verified=visitor.verified,
                external_id=visitor.external_id,
            )
        )

    async def add_page(
        self, visitor_id: str, url: str, title: str | None, referrer: str | None, at: datetime
    ) -> None:
        # Bound to the visitor and column, not to the row: its id is known only after
        # the insert. Moving a page between a visitor's own rows is not a disclosure.
        ad = f"visitor_pages:{visitor_id}"
        await self._c.execute(
            insert(t.visitor_pages).values(
                visitor_id=visitor_id,
                url=await self._cipher.seal(visitor_id, url, ad + ":url"),
                title=await self._cipher.seal(visitor_id, title, ad + ":title"),
                referrer=await self._cipher.seal(visitor_id, referrer, ad + ":referrer"),
                created_at=at,
            )
        )

    async def recent_pages(self, since: datetime, limit: int) -> list[SitePage]:
        p, v, w = t.visitor_pages.c, t.visitors.c, t.widgets.c
        rows = (
            await self._c.execute(
                select(p.visitor_id, p.url, p.title, p.created_at, w.department_id)
                .join_from(t.visitor_pages, t.visitors, v.id == p.visitor_id)
                .join(t.widgets, w.id == v.widget_id)
                .where(p.created_at >= since)
                .order_by(p.id.desc())
                .limit(limit * 10)
            )
        ).all()
        latest: list[SitePage] = []
        seen: set[str] = set()
        for row in rows:  # newest first: the first row of each visitor is their page now
            if row.visitor_id in seen:
                continue
            seen.add(row.visitor_id)
            ad = f"visitor_pages:{row.visitor_id}"
            latest.append(
                SitePage(
                    visitor_id=row.visitor_id,
                    url=await self._cipher.unseal(row.visitor_id, row.url, ad + ":url") or "",
                    title=await self._cipher.unseal(row.visitor_id, row.title, ad + ":title"),
                    at=_utc(row.created_at),
                    department_id=row.department_id,
                )
            )
            if len(latest) >= limit:
                break
        return latest

    async def last_page(self, visitor_id: str) -> tuple[str, str | None, datetime] | None:
        c = t.visitor_pages.c
        row = (
            await self._c.execute(
                select(c.url, c.title, c.created_at)
                .where(c.visitor_id == visitor_id)
                .order_by(c.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        ad = f"visitor_pages:{visitor_id}"
        url = await self._cipher.unseal(visitor_id, row.url, ad + ":url")
        title = await self._cipher.unseal(visitor_id, row.title, ad + ":title")
        return (url or "", title, _utc(row.created_at))


class SqlVisitorTokenRepo(_Repo):
    async def get(self, token_hash: str) -> VisitorToken | None:
        row = (
            await self._c.execute(
                select(t.visitor_tokens).where(t.visitor_tokens.c.token_hash == token_hash)
            )
        ).first()
        if row is None:
            return None
        return VisitorToken(
            token_hash=row.token_hash,
            visitor_id=row.visitor_id,
            widget_id=row.widget_id,
            expires_at=_utc(row.expires_at),
            revoked=bool(row.revoked),
        )

    async def add(self, token: VisitorToken, created_at: datetime) -> None:
        await self._c.execute(
            insert(t.visitor_tokens).values(
                token_hash=token.token_hash,
                visitor_id=token.visitor_id,
                widget_id=token.widget_id,
                created_at=created_at,
                expires_at=token.expires_at,
                revoked=token.revoked,
            )
        )

    async def revoke(self, token_hash: str) -> None:
        await self._c.execute(
            update(t.visitor_tokens)
            .where(t.visitor_tokens.c.token_hash == token_hash)
            .values(revoked=True)
        )

    async def expire(self, token_hash: str, at: datetime) -> None:
        await self._c.execute(
            update(t.visitor_tokens)
            .where(t.visitor_tokens.c.token_hash == token_hash)
            .values(expires_at=at)
        )


class SqlUserRepo(_Repo):
    """Users; TOTP secrets are sealed on write and unsealed on read (``StaffCipher``)."""

    def __init__(self, conn: AsyncConnection, cipher: StaffCipher) -> None:
        super().__init__(conn)
        self._cipher = cipher

    async def _row(self, row: Row[Any]) -> User:
        return User(
            id=row.id,
            email=row.email,
            name=row.name,
            role=row.role,
            password_hash=row.password_hash,
            status=AgentStatus(row.status),
            created_at=_utc(row.created_at),
            disabled=bool(row.disabled),
            totp_secret=await self._cipher.unseal(row.id, "totp_secret", row.totp_secret),
            totp_pending=await self._cipher.unseal(row.id, "totp_pending", row.totp_pending),
            totp_last_step=row.totp_last_step,
            max_chats=row.max_chats,
            email_otp_enabled=bool(row.email_otp_enabled),
        )

    async def get(self, user_id: str) -> User | None:
        row = (await self._c.execute(select(t.users).where(t.users.c.id == user_id))).first()
        return await self._row(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._c.execute(select(t.users).where(t.users.c.email == email))).first()
        return await self._row(row) if row else None

    async def add(self, user: User) -> None:
        await self._c.execute(
            insert(t.users).values(
                id=user.id,
                email=user.email,
                name=user.name,
                role=user.role,
                password_hash=user.password_hash,
                status=user.status.value,
                disabled=user.disabled,
                created_at=user.created_at,
            )
        )

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._c.execute(
            update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    async def set_status(self, user_id: str, status: AgentStatus) -> None:
        await self._c.execute(
            update(t.users).where(t.users.c.id == user_id).values(status=status.value)
        )

    async def count(self) -> int:
        return int((await self._c.execute(select(func.count()).select_from(t.users))).scalar_one())

    async def list_all(self) -> list[User]:
        rows = await self._c.execute(select(t.users).order_by(t.users.c.created_at))
        return [await self._row(r) for r in rows.all()]

    async def set_totp(self, user_id: str, *, secret: str | None, pending: str | None) -> None:
        await self._c.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(
                totp_secret=await self._cipher.seal(user_id, "totp_secret", secret),
                totp_pending=await self._cipher.seal(user_id, "totp_pending", pending),
                totp_last_step=None,
            )
        )

    async def set_email_otp(self, user_id: str, enabled: bool) -> None:
        await self._c.execute(
            update(t.users).where(t.users.c.id == user_id).values(email_otp_enabled=enabled)
        )

    async def claim_totp_step(self, user_id: str, step: int) -> bool:
        # Compare-and-set: two logins racing with one code cannot both win.
        c = t.users.c
        result = await self._c.execute(
            update(t.users)
            .where(c.id == user_id, or_(c.totp_last_step.is_(None), c.totp_last_step < step))
            .values(totp_last_step=step)
        )
        return result.rowcount == 1

    async def set_role(self, user_id: str, role: str) -> None:
        await self._c.execute(update(t.users).where(t.users.c.id == user_id).values(role=role))

    async def set_disabled(self, user_id: str, disabled: bool) -> None:
        await self._c.execute(
            update(t.users).where(t.users.c.id == user_id).values(disabled=disabled)
        )

    async def lock_for_assignment(self, user_id: str) -> User | None:
        # FOR UPDATE on PostgreSQL; SQLite ignores it, and needs none: its write
        # transactions are serialised (BEGIN IMMEDIATE, decision 0001).
        row = (
            await self._c.execute(select(t.users).where(t.users.c.id == user_id).with_for_update())
        ).first()
        return await self._row(row) if row else None


class SqlSessionRepo(_Repo):
    async def get(self, id_hash: str) -> StaffSession | None:
        row = (
            await self._c.execute(
                select(t.staff_sessions).where(t.staff_sessions.c.id_hash == id_hash)
            )
        ).first()
        if row is None:
            return None
        return StaffSession(
            id_hash=row.id_hash,
            user_id=row.user_id,
            created_at=_utc(row.created_at),
            last_seen_at=_utc(row.last_seen_at),
            expires_at=_utc(row.expires_at),
            ip=row.ip,
            user_agent=row.user_agent,
            revoked=bool(row.revoked),
            public_id=row.public_id,
        )

    async def add(self, session: StaffSession) -> None:
        await self._c.execute(
            insert(t.staff_sessions).values(
                id_hash=session.id_hash,
                user_id=session.user_id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at,
                ip=session.ip,
                user_agent=session.user_agent,
                revoked=session.revoked,
                public_id=session.public_id,
            )
        )

    async def touch(self, id_hash: str, at: datetime) -> None:
        await self._c.execute(
            update(t.staff_sessions)
            .where(t.staff_sessions.c.id_hash == id_hash)
            .values(last_seen_at=at)
        )

    async def revoke(self, id_hash: str) -> None:
        await self._c.execute(
            update(t.staff_sessions)
            .where(t.staff_sessions.c.id_hash == id_hash)
            .values(revoked=True)
        )

    async def list_for_user(self, user_id: str) -> list[StaffSession]:
        c = t.staff_sessions.c
        rows = await self._c.execute(
            select(c.id_hash)
            .where(c.user_id == user_id, c.revoked.is_(False))
            .order_by(c.last_seen_at.desc())
        )
        out = []
        for row in rows.all():
            session = await self.get(row.id_hash)
            if session is not None:
                out.append(session)
        return out

    async def revoke_public(self, user_id: str, public_id: str) -> bool:
        c = t.staff_sessions.c
        result = await self._c.execute(
            update(t.staff_sessions)
            .where(c.user_id == user_id, c.public_id == public_id, c.revoked.is_(False))
            .values(revoked=True)
        )
        return result.rowcount == 1

    async def revoke_all(self, user_id: str, *, except_hash: str | None = None) -> int:
        c = t.staff_sessions.c
        query = update(t.staff_sessions).where(c.user_id == user_id, c.revoked.is_(False))
        if except_hash is not None:
            query = query.where(c.id_hash != except_hash)
        result = await self._c.execute(query.values(revoked=True))
        return int(result.rowcount)


class SqlConversationRepo(_Repo):
    def __init__(self, conn: AsyncConnection, cipher: VisitorCipher) -> None:
        super().__init__(conn)
        self._cipher = cipher

    @staticmethod
    def _row(row: Row[Any]) -> Conversation:
        return Conversation(
            id=row.id,
            widget_id=row.widget_id,
            visitor_id=row.visitor_id,
            state=ConvState(row.state),
            agent_id=row.agent_id,
            last_seq=row.last_seq,
            created_at=_utc(row.created_at),
            accepted_at=utc(row.accepted_at),
            closed_at=utc(row.closed_at),
            consent_version=row.consent_version,
            department_id=row.department_id,
        )

    async def get(self, conversation_id: str) -> Conversation | None:
        row = await _CONVERSATION_BY_ID.first(self._c, {"id": conversation_id})
        if row is None:
            return None
        self._cipher.owners.remember_owner(row.id, row.visitor_id)
        return self._row(row)

    async def add(self, conversation: Conversation) -> None:
        await self._c.execute(
            insert(t.conversations).values(
                id=conversation.id,
                widget_id=conversation.widget_id,
                visitor_id=conversation.visitor_id,
                state=conversation.state.value,
                agent_id=conversation.agent_id,
                last_seq=conversation.last_seq,
                created_at=conversation.created_at,
                consent_version=conversation.consent_version,
                department_id=conversation.department_id,
            )
        )

    async def next_seq(self, conversation_id: str) -> int:
        # UPDATE … RETURNING takes the row lock on PostgreSQL, so concurrent writers to one
        # conversation queue up here and every seq is used exactly once.
        (row,) = await _NEXT_SEQ.rows(self._c, {"cid": conversation_id})
        return int(row.last_seq)

    async def transition(
        self,
        conversation_id: str,
        *,
        from_states: Sequence[ConvState],
        to_state: ConvState,
        agent_id: str | None,
        at: datetime,
        held_by: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"state": to_state.value, "agent_id": agent_id}
        if to_state is ConvState.ACTIVE:
            values["accepted_at"] = at
        elif to_state is ConvState.CLOSED:
            values["closed_at"] = at
        c = t.conversations.c
        where = [c.id == conversation_id, c.state.in_([s.value for s in from_states])]
        if held_by is not None:
            where.append(c.agent_id == held_by)
        result = await self._c.execute(update(t.conversations).where(*where).values(**values))
        return result.rowcount == 1

    async def set_agent(self, conversation_id: str, agent_id: str) -> None:
        await self._c.execute(
            update(t.conversations)
            .where(t.conversations.c.id == conversation_id)
            .values(agent_id=agent_id)
        )

    async def list_for_visitor(self, visitor_id: str) -> list[Conversation]:
        rows = await self._c.execute(
            select(t.conversations)
            .where(t.conversations.c.visitor_id == visitor_id)
            .order_by(t.conversations.c.created_at)
        )
        return [self._row(r) for r in rows]

    async def list_for_staff(self, agent_id: str | None, *, all_active: bool) -> list[Conversation]:
        c = t.conversations.c
        cond = c.state == ConvState.WAITING.value
        if all_active:
            cond = cond | (c.state == ConvState.ACTIVE.value)
        elif agent_id is not None:
            cond = cond | ((c.state == ConvState.ACTIVE.value) & (c.agent_id == agent_id))
        rows = await self._c.execute(select(t.conversations).where(cond).order_by(c.created_at))
        return [self._row(r) for r in rows]

    async def list_by_state(self, state: ConvState, limit: int) -> list[Conversation]:
        c = t.conversations.c
        order = c.created_at if state is not ConvState.CLOSED else c.closed_at.desc()
        rows = await self._c.execute(
            select(t.conversations).where(c.state == state.value).order_by(order).limit(limit)
        )
        return [self._row(r) for r in rows]

    async def waiting_ahead(self, conversation: Conversation) -> int:
        c = t.conversations.c
        result = await self._c.execute(
            select(func.count())
            .select_from(t.conversations)
            .where(
                c.state == ConvState.WAITING.value,
                c.created_at < conversation.created_at,
                c.id != conversation.id,
            )
        )
        return int(result.scalar_one())

    async def count_active_for_agent(self, agent_id: str) -> int:
        c = t.conversations.c
        result = await self._c.execute(
            select(func.count())
            .select_from(t.conversations)
            .where(c.state == ConvState.ACTIVE.value, c.agent_id == agent_id)
        )
        return int(result.scalar_one())

    async def recent_wait_seconds(self, limit: int) -> list[float]:
        c = t.conversations.c
        rows = await self._c.execute(
            select(c.created_at, c.accepted_at)
            .where(c.accepted_at.is_not(None))
            .order_by(c.accepted_at.desc())
            .limit(limit)
        )
        return [(_utc(r.accepted_at) - _utc(r.created_at)).total_seconds() for r in rows]

    async def last_activity(
        self, conversation_ids: Sequence[str] | None = None, limit: int = 500
    ) -> dict[str, datetime]:
        c, e = t.conversations.c, t.events.c
        open_states = [ConvState.WAITING.value, ConvState.ACTIVE.value]
        scope = select(c.id).where(c.state.in_(open_states))
        if conversation_ids is not None:
            scope = scope.where(c.id.in_(list(conversation_ids)))
        last_msg = (
            select(e.conversation_id, func.max(e.created_at).label("last"))
            .where(e.type == EventType.MSG.value, e.conversation_id.in_(scope))
            .group_by(e.conversation_id)
            .subquery()
        )
        query = (
            select(c.id, c.created_at, c.accepted_at, last_msg.c.last)
            .select_from(t.conversations.outerjoin(last_msg, last_msg.c.conversation_id == c.id))
            .where(c.id.in_(scope))
            .order_by(c.created_at)
            .limit(limit)
        )
        out = {}
        for r in await self._c.execute(query):
            times = [_utc(r.created_at), utc(r.accepted_at), utc(r.last)]
            out[r.id] = max(ts for ts in times if ts is not None)
        return out

    async def expired(
        self,
        before: datetime,
        limit: int,
        *,
        department_id: str | None = None,
        except_departments: Sequence[str] | None = None,
    ) -> list[str]:
        c = t.conversations.c
        query = select(c.id).where(
            c.state == ConvState.CLOSED.value, c.closed_at.is_not(None), c.closed_at < before
        )
        if except_departments is not None:
            query = query.where(
                or_(c.department_id.is_(None), c.department_id.not_in(list(except_departments)))
            )
        else:
            query = query.where(c.department_id == department_id)
        rows = await self._c.execute(query.order_by(c.closed_at).limit(limit))
        return [r.id for r in rows]

    async def purge(self, conversation_ids: Sequence[str]) -> dict[str, int]:
        # Explicit deletes, not only ON DELETE CASCADE: the counts go to the audit log.
        ids = list(conversation_ids)
        events = await self._c.execute(delete(t.events).where(t.events.c.conversation_id.in_(ids)))
        await self._c.execute(
            delete(t.conversation_access).where(t.conversation_access.c.conversation_id.in_(ids))
        )
        convs = await self._c.execute(delete(t.conversations).where(t.conversations.c.id.in_(ids)))
        return {"conversations": int(convs.rowcount), "events": int(events.rowcount)}

    async def set_rating(self, conversation_id: str, score: str, comment: str | None) -> None:
        conv = await self.get(conversation_id)
        assert conv is not None
        sealed = await self._cipher.seal(
            conv.visitor_id, comment, f"conversations:{conversation_id}:rating_comment"
        )
        await self._c.execute(
            update(t.conversations)
            .where(t.conversations.c.id == conversation_id)
            .values(rating=score, rating_comment=sealed)
        )


class SqlEventRepo(_Repo):
    """Event bodies, author names and data are sealed under the conversation's visitor's
    key, bound to (conversation, seq, column): a ciphertext moved to another event, or
    to another column of the same event, fails to decrypt.
    """

    def __init__(self, conn: AsyncConnection, cipher: VisitorCipher) -> None:
        super().__init__(conn)
        self._cipher = cipher

    async def _owner(self, conversation_id: str) -> str:
        owner = self._cipher.owners.owner(conversation_id)
        if owner is None:
            (row,) = await _CONVERSATION_OWNER.rows(self._c, {"id": conversation_id})
            owner = row.visitor_id
            self._cipher.owners.remember_owner(conversation_id, owner)
        return owner

    async def _row(self, row: Row[Any]) -> Event:
        owner = await self._owner(row.conversation_id)
        ad = f"events:{row.conversation_id}:{row.seq}"
        data = await self._cipher.unseal(owner, row.data, ad + ":data")
        return Event(
            conversation_id=row.conversation_id,
            seq=row.seq,
            type=EventType(row.type),
            author_kind=row.author_kind,
            author_id=row.author_id,
            author_name=await self._cipher.unseal(owner, row.author_name, ad + ":author_name"),
            body=await self._cipher.unseal(owner, row.body, ad + ":body"),
            data=json.loads(data or "{}"),
            public_id=row.public_id,
            created_at=_utc(row.created_at),
        )

    async def add(self, event: Event) -> None:
        owner = await self._owner(event.conversation_id)
        ad = f"events:{event.conversation_id}:{event.seq}"
        await _INSERT_EVENT.rows(
            self._c,
            {
                "conversation_id": event.conversation_id,
                "seq": event.seq,
                "type": event.type.value,
                "author_kind": event.author_kind,
                "author_id": event.author_id,
                "author_name": await self._cipher.seal(
                    owner, event.author_name, ad + ":author_name"
                ),
                "body": await self._cipher.seal(owner, event.body, ad + ":body"),
                "data": await self._cipher.seal(owner, json.dumps(event.data), ad + ":data"),
                "public_id": event.public_id,
                "created_at": event.created_at,
            },
        )

    async def after(self, conversation_id: str, after_seq: int, limit: int) -> list[Event]:
        rows = await _EVENTS_AFTER.rows(
            self._c, {"cid": conversation_id, "after": after_seq, "lim": limit}
        )
        return [await self._row(r) for r in rows]

    async def last_message(self, conversation_id: str) -> Event | None:
        row = (
            await self._c.execute(
                select(t.events)
                .where(
                    t.events.c.conversation_id == conversation_id,
                    t.events.c.type == EventType.MSG.value,
                )
                .order_by(t.events.c.seq.desc())
                .limit(1)
            )
        ).first()
        return await self._row(row) if row else None

    async def recent_bodies(
        self, conversation_id: str, author_id: str, since: datetime, limit: int
    ) -> list[tuple[datetime, str]]:
        rows = await _RECENT_BODIES_AT.rows(
            self._c,
            {"cid": conversation_id, "author": author_id, "since": since, "lim": limit},
        )
        # Bodies are sealed at rest: open them with the same row binding as _row.
        owner = await self._owner(conversation_id)
        bodies = []
        for r in rows:
            ad = f"events:{conversation_id}:{r.seq}"
            body = await self._cipher.unseal(owner, r.body, ad + ":body")
            if body is not None:
                bodies.append((_utc(r.created_at), body))
        return bodies


class SqlCommandRepo(_Repo):
    async def get(self, principal_key: str, command_id: str) -> dict[str, Any] | None:
        row = await _COMMAND_RESULT.first(
            self._c, {"principal": principal_key, "command_id": command_id}
        )
        return dict(json.loads(row.result)) if row else None

    async def add(
        self, principal_key: str, command_id: str, result: dict[str, Any], at: datetime
    ) -> None:
        # On a duplicate the whole transaction is abandoned by the caller, so no savepoint.
        try:
            await _INSERT_COMMAND.rows(
                self._c,
                {
                    "principal": principal_key,
                    "command_id": command_id,
                    "result": json.dumps(result),
                    "created_at": at,
                },
            )
        except IntegrityError:
            raise DuplicateCommand from None


class SqlRecoveryCodeRepo(_Repo):
    async def replace(self, user_id: str, code_hashes: list[str], at: datetime) -> None:
        await self._c.execute(delete(t.recovery_codes).where(t.recovery_codes.c.user_id == user_id))
        for code_hash in code_hashes:
            await self._c.execute(
                insert(t.recovery_codes).values(code_hash=code_hash, user_id=user_id, created_at=at)
            )

    async def use(self, user_id: str, code_hash: str, at: datetime) -> bool:
        c = t.recovery_codes.c
        result = await self._c.execute(
            update(t.recovery_codes)
            .where(c.user_id == user_id, c.code_hash == code_hash, c.used_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    async def count_unused(self, user_id: str) -> int:
        c = t.recovery_codes.c
        result = await self._c.execute(
            select(func.count())
            .select_from(t.recovery_codes)
            .where(c.user_id == user_id, c.used_at.is_(None))
        )
        return int(result.scalar_one())


class SqlLoginFailureRepo(_Repo):
    async def get(self, key: str) -> tuple[int, datetime, datetime | None] | None:
        row = (
            await self._c.execute(select(t.login_failures).where(t.login_failures.c.key == key))
        ).first()
        if row is None:
            return None
        return int(row._mapping["count"]), _utc(row.last_at), utc(row.locked_until)

    async def put(self, key: str, count: int, at: datetime, locked_until: datetime | None) -> None:
        await self.clear(key)
        await self._c.execute(
            insert(t.login_failures).values(
                key=key, count=count, last_at=at, locked_until=locked_until
            )
        )

    async def clear(self, key: str) -> None:
        await self._c.execute(delete(t.login_failures).where(t.login_failures.c.key == key))


class SqlSecuritySettingsRepo(_Repo):
    async def get(self, key: str) -> Any:
        c = t.security_settings.c
        row = (await self._c.execute(select(c.value).where(c.key == key))).first()
        return json.loads(row.value) if row else None

    async def put(self, key: str, value: Any) -> None:
        c = t.security_settings.c
        await self._c.execute(delete(t.security_settings).where(c.key == key))
        await self._c.execute(insert(t.security_settings).values(key=key, value=json.dumps(value)))


class SqlIdentityJtiRepo(_Repo):
    async def claim(self, widget_id: str, jti: str, expires_at: datetime) -> bool:
        c = t.identity_jtis.c
        seen = (
            await self._c.execute(select(c.jti).where(c.widget_id == widget_id, c.jti == jti))
        ).first()
        if seen is not None:
            return False
        await self._c.execute(
            insert(t.identity_jtis).values(widget_id=widget_id, jti=jti, expires_at=expires_at)
        )
        return True


class SqlApiTokenRepo(_Repo):
    @staticmethod
    def _row(row: Row[Any]) -> ApiToken:
        return ApiToken(
            id=row.id,
            token_hash=row.token_hash,
            name=row.name,
            user_id=row.user_id,
            scopes=tuple(json.loads(row.scopes)),
            created_at=_utc(row.created_at),
            expires_at=_utc(row.expires_at),
            last_used_at=utc(row.last_used_at),
            revoked=bool(row.revoked),
        )

    async def add(self, token: ApiToken) -> None:
        await self._c.execute(
            insert(t.api_tokens).values(
                id=token.id,
                token_hash=token.token_hash,
                name=token.name,
                user_id=token.user_id,
                scopes=json.dumps(list(token.scopes)),
                created_at=token.created_at,
                expires_at=token.expires_at,
                revoked=False,
            )
        )

    async def get_by_hash(self, token_hash: str) -> ApiToken | None:
        c = t.api_tokens.c
        row = (
            await self._c.execute(select(t.api_tokens).where(c.token_hash == token_hash))
        ).first()
        return self._row(row) if row else None

    async def list_all(self) -> list[ApiToken]:
        rows = await self._c.execute(select(t.api_tokens).order_by(t.api_tokens.c.created_at))
        return [self._row(r) for r in rows]

    async def revoke(self, token_id: str) -> bool:
        c = t.api_tokens.c
        result = await self._c.execute(
            update(t.api_tokens).where(c.id == token_id, c.revoked.is_(False)).values(revoked=True)
        )
        return result.rowcount == 1

    async def touch(self, token_id: str, at: datetime) -> None:
        c = t.api_tokens.c
        await self._c.execute(update(t.api_tokens).where(c.id == token_id).values(last_used_at=at))


class SqlConversationAccessRepo(_Repo):
    async def grant(self, conversation_id: str, user_id: str, until: datetime | None) -> None:
        c = t.conversation_access.c
        await self._c.execute(
            delete(t.conversation_access).where(
                c.conversation_id == conversation_id, c.user_id == user_id
            )
        )
        await self._c.execute(
            insert(t.conversation_access).values(
                conversation_id=conversation_id, user_id=user_id, until=until
            )
        )

    async def end_open(self, conversation_id: str, until: datetime) -> None:
        c = t.conversation_access.c
        await self._c.execute(
            update(t.conversation_access)
            .where(c.conversation_id == conversation_id, c.until.is_(None))
            .values(until=until)
        )

    async def until(self, conversation_id: str, user_id: str) -> tuple[bool, datetime | None]:
        row = await _ACCESS_UNTIL.first(self._c, {"cid": conversation_id, "uid": user_id})
        if row is None:
            return False, None
        return True, utc(row.until)


class SqlDepartmentRepo(_Repo):
    async def add(self, department: Department) -> None:
        await self._c.execute(
            insert(t.departments).values(
                id=department.id, name=department.name, created_at=department.created_at
            )
        )

    @staticmethod
    def _row(row: Row[Any]) -> Department:
        return Department(
            id=row.id,
            name=row.name,
            created_at=_utc(row.created_at),
            retention_days=row.retention_days,
        )

    async def list_all(self) -> list[Department]:
        rows = await self._c.execute(select(t.departments).order_by(t.departments.c.name))
        return [self._row(r) for r in rows]

    async def get(self, department_id: str) -> Department | None:
        c = t.departments.c
        row = (await self._c.execute(select(t.departments).where(c.id == department_id))).first()
        return self._row(row) if row else None

    async def set_retention(self, department_id: str, days: int | None) -> None:
        c = t.departments.c
        await self._c.execute(
            update(t.departments).where(c.id == department_id).values(retention_days=days)
        )

    async def of_user(self, user_id: str) -> set[str]:
        c = t.user_departments.c
        rows = await self._c.execute(select(c.department_id).where(c.user_id == user_id))
        return {r.department_id for r in rows}

    async def set_for_user(self, user_id: str, department_ids: list[str]) -> None:
        c = t.user_departments.c
        await self._c.execute(delete(t.user_departments).where(c.user_id == user_id))
        for dep in department_ids:
            await self._c.execute(
                insert(t.user_departments).values(user_id=user_id, department_id=dep)
            )
