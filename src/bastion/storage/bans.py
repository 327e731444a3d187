"""The bans repository (domain port ``BanRepo``) over SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from bastion.domain.models import Ban, BanKind
from bastion.storage import tables as t
from bastion.storage.repositories import _Repo, _utc, utc

_b = t.bans.c


class SqlBanRepo(_Repo):
    @staticmethod
    def _row(row: Row[Any]) -> Ban:
        return Ban(
            id=row.id,
            kind=BanKind(row.kind),
            target=row.target,
            reason=row.reason,
            actor_id=row.actor_id,
            created_at=_utc(row.created_at),
            expires_at=_utc(row.expires_at),
            lifted_at=utc(row.lifted_at),
            lifted_by=row.lifted_by,
        )

    async def add(self, ban: Ban) -> None:
        await self._c.execute(
            insert(t.bans).values(
                id=ban.id,
                kind=ban.kind.value,
                target=ban.target,
                reason=ban.reason,
                actor_id=ban.actor_id,
                created_at=ban.created_at,
                expires_at=ban.expires_at,
            )
        )

    async def get(self, ban_id: str) -> Ban | None:
        row = (await self._c.execute(select(t.bans).where(_b.id == ban_id))).first()
        return self._row(row) if row else None

    async def lift(self, ban_id: str, by: str, at: datetime) -> None:
        await self._c.execute(
            update(t.bans).where(_b.id == ban_id).values(lifted_at=at, lifted_by=by)
        )

    async def list_active(self, now: datetime) -> list[Ban]:
        rows = await self._c.execute(
            select(t.bans)
            .where(_b.lifted_at.is_(None), _b.expires_at > now)
            .order_by(_b.created_at.desc())
            .limit(1000)
        )
        return [self._row(r) for r in rows]

    async def all_active(self, now: datetime) -> list[Ban]:
        rows = await self._c.execute(
            select(t.bans).where(_b.lifted_at.is_(None), _b.expires_at > now)
        )
        return [self._row(r) for r in rows]
