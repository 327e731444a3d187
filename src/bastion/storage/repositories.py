"""Repositories: the domain ports over SQLAlchemy Core. Every query is parameterised."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.domain.models import (
    AgentStatus,
    Conversation,
    ConvState,
    Event,
    EventType,
    Role,
    StaffSession,
    User,
    Visitor,
    VisitorToken,
    Widget,
)
from bastion.domain.ports import DuplicateCommand
from bastion.storage import tables as t


def utc(ts: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything in Bastion is UTC-aware."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _utc(ts: datetime) -> datetime:
    out = utc(ts)
    assert out is not None
    return out


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
        )

    async def get(self, widget_id: str) -> Widget | None:
        row = (await self._c.execute(select(t.widgets).where(t.widgets.c.id == widget_id))).first()
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
            )
        )


class SqlVisitorRepo(_Repo):
    async def get(self, visitor_id: str) -> Visitor | None:
        row = (
            await self._c.execute(select(t.visitors).where(t.visitors.c.id == visitor_id))
        ).first()
        if row is None:
            return None
        return Visitor(
            id=row.id,
            widget_id=row.widget_id,
            name=row.name,
            email=row.email,
            created_at=_utc(row.created_at),
            fields=json.loads(row.fields),
        )

    async def add(self, visitor: Visitor) -> None:
        await self._c.execute(
            insert(t.visitors).values(
                id=visitor.id,
                widget_id=visitor.widget_id,
                name=visitor.name,
                email=visitor.email,
                fields=json.dumps(visitor.fields),
                created_at=visitor.created_at,
            )
        )

    async def update(self, visitor: Visitor) -> None:
        await self._c.execute(
            update(t.visitors)
            .where(t.visitors.c.id == visitor.id)
            .values(name=visitor.name, email=visitor.email, fields=json.dumps(visitor.fields))
        )

    async def add_page(
        self, visitor_id: str, url: str, title: str | None, referrer: str | None, at: datetime
    ) -> None:
        await self._c.execute(
            insert(t.visitor_pages).values(
                visitor_id=visitor_id, url=url, title=title, referrer=referrer, created_at=at
            )
        )


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
    @staticmethod
    def _row(row: Row[Any]) -> User:
        return User(
            id=row.id,
            email=row.email,
            name=row.name,
            role=Role(row.role),
            password_hash=row.password_hash,
            status=AgentStatus(row.status),
            created_at=_utc(row.created_at),
            disabled=bool(row.disabled),
        )

    async def get(self, user_id: str) -> User | None:
        row = (await self._c.execute(select(t.users).where(t.users.c.id == user_id))).first()
        return self._row(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._c.execute(select(t.users).where(t.users.c.email == email))).first()
        return self._row(row) if row else None

    async def add(self, user: User) -> None:
        await self._c.execute(
            insert(t.users).values(
                id=user.id,
                email=user.email,
                name=user.name,
                role=user.role.value,
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
        return [self._row(r) for r in rows]


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


class SqlConversationRepo(_Repo):
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
        )

    async def get(self, conversation_id: str) -> Conversation | None:
        row = (
            await self._c.execute(
                select(t.conversations).where(t.conversations.c.id == conversation_id)
            )
        ).first()
        return self._row(row) if row else None

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
            )
        )

    async def next_seq(self, conversation_id: str) -> int:
        # UPDATE … RETURNING takes the row lock on PostgreSQL, so concurrent writers to one
        # conversation queue up here and every seq is used exactly once.
        result = await self._c.execute(
            update(t.conversations)
            .where(t.conversations.c.id == conversation_id)
            .values(last_seq=t.conversations.c.last_seq + 1)
            .returning(t.conversations.c.last_seq)
        )
        return int(result.scalar_one())

    async def transition(
        self,
        conversation_id: str,
        *,
        from_states: Sequence[ConvState],
        to_state: ConvState,
        agent_id: str | None,
        at: datetime,
    ) -> bool:
        values: dict[str, Any] = {"state": to_state.value, "agent_id": agent_id}
        if to_state is ConvState.ACTIVE:
            values["accepted_at"] = at
        elif to_state is ConvState.CLOSED:
            values["closed_at"] = at
        result = await self._c.execute(
            update(t.conversations)
            .where(
                t.conversations.c.id == conversation_id,
                t.conversations.c.state.in_([s.value for s in from_states]),
            )
            .values(**values)
        )
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

    async def recent_wait_seconds(self, limit: int) -> list[float]:
        c = t.conversations.c
        rows = await self._c.execute(
            select(c.created_at, c.accepted_at)
            .where(c.accepted_at.is_not(None))
            .order_by(c.accepted_at.desc())
            .limit(limit)
        )
        return [(_utc(r.accepted_at) - _utc(r.created_at)).total_seconds() for r in rows]

    async def set_rating(self, conversation_id: str, score: str, comment: str | None) -> None:
        await self._c.execute(
            update(t.conversations)
            .where(t.conversations.c.id == conversation_id)
            .values(rating=score, rating_comment=comment)
        )


class SqlEventRepo(_Repo):
    @staticmethod
    def _row(row: Row[Any]) -> Event:
        return Event(
            conversation_id=row.conversation_id,
            seq=row.seq,
            type=EventType(row.type),
            author_kind=row.author_kind,
            author_id=row.author_id,
            author_name=row.author_name,
            body=row.body,
            data=json.loads(row.data),
            public_id=row.public_id,
            created_at=_utc(row.created_at),
        )

    async def add(self, event: Event) -> None:
        await self._c.execute(
            insert(t.events).values(
                conversation_id=event.conversation_id,
                seq=event.seq,
                type=event.type.value,
                author_kind=event.author_kind,
                author_id=event.author_id,
                author_name=event.author_name,
                body=event.body,
                data=json.dumps(event.data),
                public_id=event.public_id,
                created_at=event.created_at,
            )
        )

    async def after(self, conversation_id: str, after_seq: int, limit: int) -> list[Event]:
        rows = await self._c.execute(
            select(t.events)
            .where(t.events.c.conversation_id == conversation_id, t.events.c.seq > after_seq)
            .order_by(t.events.c.seq)
            .limit(limit)
        )
        return [self._row(r) for r in rows]

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
        return self._row(row) if row else None

    async def recent_bodies(
        self, conversation_id: str, author_id: str, since: datetime, limit: int
    ) -> list[str]:
        rows = await self._c.execute(
            select(t.events.c.body)
            .where(
                t.events.c.conversation_id == conversation_id,
                t.events.c.type == EventType.MSG.value,
                t.events.c.author_id == author_id,
                t.events.c.created_at >= since,
            )
            .order_by(t.events.c.seq.desc())
            .limit(limit)
        )
        return [r.body for r in rows if r.body is not None]


class SqlCommandRepo(_Repo):
    async def get(self, principal_key: str, command_id: str) -> dict[str, Any] | None:
        row = (
            await self._c.execute(
                select(t.commands.c.result).where(
                    t.commands.c.principal == principal_key, t.commands.c.command_id == command_id
                )
            )
        ).first()
        return dict(json.loads(row.result)) if row else None

    async def add(
        self, principal_key: str, command_id: str, result: dict[str, Any], at: datetime
    ) -> None:
        # On a duplicate the whole transaction is abandoned by the caller, so no savepoint.
        try:
            await self._c.execute(
                insert(t.commands).values(
                    principal=principal_key,
                    command_id=command_id,
                    result=json.dumps(result),
                    created_at=at,
                )
            )
        except IntegrityError:
            raise DuplicateCommand from None
