"""Repositories of account recovery: password-reset tokens and e-mailed codes.

Both store only hashes; both claim by compare-and-set, so two requests racing with one
token or code cannot both succeed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from bastion.domain.models import EmailCode, PasswordReset
from bastion.storage import tables as t
from bastion.storage.repositories import _Repo, _utc, utc


class SqlPasswordResetRepo(_Repo):
    async def add(self, reset: PasswordReset) -> None:
        await self._c.execute(
            insert(t.password_resets).values(
                token_hash=reset.token_hash,
                user_id=reset.user_id,
                created_at=reset.created_at,
                expires_at=reset.expires_at,
                used_at=reset.used_at,
            )
        )

    async def get(self, token_hash: str) -> PasswordReset | None:
        c = t.password_resets.c
        query = select(t.password_resets).where(c.token_hash == token_hash)
        row = (await self._c.execute(query)).first()
        if row is None:
            return None
        return PasswordReset(
            token_hash=row.token_hash,
            user_id=row.user_id,
            created_at=_utc(row.created_at),
            expires_at=_utc(row.expires_at),
            used_at=utc(row.used_at),
        )

    async def claim(self, token_hash: str, at: datetime) -> bool:
        c = t.password_resets.c
        result = await self._c.execute(
            update(t.password_resets)
            .where(c.token_hash == token_hash, c.used_at.is_(None), c.expires_at > at)
            .values(used_at=at)
        )
        return result.rowcount == 1

    async def end_all(self, user_id: str, at: datetime) -> int:
        c = t.password_resets.c
        result = await self._c.execute(
            update(t.password_resets)
            .where(c.user_id == user_id, c.used_at.is_(None))
            .values(used_at=at)
        )
        return int(result.rowcount)


class SqlEmailCodeRepo(_Repo):
    @staticmethod
    def _row(row: Row[Any]) -> EmailCode:
        return EmailCode(
            id=row.id,
            user_id=row.user_id,
            purpose=row.purpose,
            code_hash=row.code_hash,
            created_at=_utc(row.created_at),
            expires_at=_utc(row.expires_at),
            attempts=int(row.attempts),
            used_at=utc(row.used_at),
        )

    async def add(self, code: EmailCode) -> None:
        await self._c.execute(
            insert(t.email_codes).values(
                id=code.id,
                user_id=code.user_id,
                purpose=code.purpose,
                code_hash=code.code_hash,
                created_at=code.created_at,
                expires_at=code.expires_at,
                attempts=code.attempts,
                used_at=code.used_at,
            )
        )

    async def latest(self, user_id: str, purpose: str) -> EmailCode | None:
        c = t.email_codes.c
        row = (
            await self._c.execute(
                select(t.email_codes)
                .where(c.user_id == user_id, c.purpose == purpose, c.used_at.is_(None))
                .order_by(c.created_at.desc(), c.id.desc())
                .limit(1)
            )
        ).first()
        return self._row(row) if row else None

    async def count_attempt(self, code_id: str) -> None:
        c = t.email_codes.c
        await self._c.execute(
            update(t.email_codes).where(c.id == code_id).values(attempts=c.attempts + 1)
        )

    async def claim(self, code_id: str, at: datetime) -> bool:
        c = t.email_codes.c
        result = await self._c.execute(
            update(t.email_codes).where(c.id == code_id, c.used_at.is_(None)).values(used_at=at)
        )
        return result.rowcount == 1

    async def end_all(self, user_id: str, purpose: str, at: datetime) -> None:
        c = t.email_codes.c
        await self._c.execute(
            update(t.email_codes)
            .where(c.user_id == user_id, c.purpose == purpose, c.used_at.is_(None))
            .values(used_at=at)
        )
