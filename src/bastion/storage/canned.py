"""The canned-responses repository (domain port ``CannedRepo``) over SQLAlchemy Core.

Bodies are staff-written templates, not visitor data, so they are stored in clear
(docs/security.md, "Canned responses").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from bastion.domain.models import CannedResponse
from bastion.storage import tables as t
from bastion.storage.repositories import _Repo, _utc

_cr = t.canned_responses.c


class SqlCannedRepo(_Repo):
    @staticmethod
    def _row(row: Row[Any]) -> CannedResponse:
        return CannedResponse(
            id=row.id,
            shortcut=row.shortcut,
            title=row.title,
            body=row.body,
            department_id=row.department_id,
            author_id=row.author_id,
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
        )

    async def get(self, canned_id: str) -> CannedResponse | None:
        row = (await self._c.execute(select(t.canned_responses).where(_cr.id == canned_id))).first()
        return self._row(row) if row else None

    async def get_by_shortcut(self, shortcut: str) -> CannedResponse | None:
        query = select(t.canned_responses).where(_cr.shortcut == shortcut)
        row = (await self._c.execute(query)).first()
        return self._row(row) if row else None

    async def list_for(self, department_ids: set[str] | None) -> list[CannedResponse]:
        query = select(t.canned_responses).order_by(_cr.shortcut)
        if department_ids is not None:
            scope: ColumnElement[bool] = _cr.department_id.is_(None)
            if department_ids:
                scope = or_(scope, _cr.department_id.in_(sorted(department_ids)))
            query = query.where(scope)
        return [self._row(r) for r in await self._c.execute(query)]

    async def add(self, canned: CannedResponse) -> None:
        await self._c.execute(
            insert(t.canned_responses).values(
                id=canned.id,
                shortcut=canned.shortcut,
                title=canned.title,
                body=canned.body,
                department_id=canned.department_id,
                author_id=canned.author_id,
                created_at=canned.created_at,
                updated_at=canned.updated_at,
            )
        )

    async def update(self, canned: CannedResponse) -> None:
        await self._c.execute(
            update(t.canned_responses)
            .where(_cr.id == canned.id)
            .values(
                shortcut=canned.shortcut,
                title=canned.title,
                body=canned.body,
                department_id=canned.department_id,
                updated_at=canned.updated_at,
            )
        )

    async def delete(self, canned_id: str) -> None:
        await self._c.execute(delete(t.canned_responses).where(_cr.id == canned_id))
