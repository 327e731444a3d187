"""The roles repository (domain port ``RoleRepo``) over SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row

from bastion.domain.models import RoleDef
from bastion.storage import tables as t
from bastion.storage.repositories import _Repo, utc

_r = t.roles.c


def _perms(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _text(perms: frozenset[str]) -> str:
    return " ".join(sorted(perms))


class SqlRoleRepo(_Repo):
    @staticmethod
    def _row(row: Row[Any]) -> RoleDef:
        return RoleDef(
            name=row.name,
            permissions=_perms(row.permissions),
            builtin=bool(row.builtin),
            created_at=utc(row.created_at),
            updated_at=utc(row.updated_at),
        )

    async def get(self, name: str) -> RoleDef | None:
        row = (await self._c.execute(select(t.roles).where(_r.name == name))).first()
        return self._row(row) if row else None

    async def list_all(self) -> list[RoleDef]:
        rows = await self._c.execute(select(t.roles).order_by(_r.name))
        return [self._row(r) for r in rows]

    async def add(self, role: RoleDef) -> None:
        await self._c.execute(
            insert(t.roles).values(
                name=role.name,
                permissions=_text(role.permissions),
                builtin=role.builtin,
                created_at=role.created_at,
                updated_at=role.updated_at,
            )
        )

    async def update(self, name: str, permissions: frozenset[str], at: datetime) -> None:
        await self._c.execute(
            update(t.roles)
            .where(_r.name == name, _r.builtin.is_(False))
            .values(permissions=_text(permissions), updated_at=at)
        )

    async def delete(self, name: str) -> None:
        await self._c.execute(delete(t.roles).where(_r.name == name, _r.builtin.is_(False)))

    async def users_with(self, name: str) -> list[str]:
        rows = await self._c.execute(select(t.users.c.id).where(t.users.c.role == name))
        return [r.id for r in rows]

    async def user_counts(self) -> dict[str, int]:
        rows = await self._c.execute(select(t.users.c.role, func.count()).group_by(t.users.c.role))
        return {r[0]: int(r[1]) for r in rows}
