"""Passkeys and pending WebAuthn ceremonies (domain ports ``PasskeyRepo`` and
``WebAuthnChallengeRepo``) over SQLAlchemy Core.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Row

from bastion.domain.models import Passkey, WebAuthnChallenge
from bastion.storage import tables as t
from bastion.storage.repositories import _Repo, _utc, utc

_p = t.passkeys.c
_w = t.webauthn_challenges.c


class SqlPasskeyRepo(_Repo):
    @staticmethod
    def _row(row: Row[Any]) -> Passkey:
        return Passkey(
            id=row.id,
            user_id=row.user_id,
            credential_id=row.credential_id,
            public_key=bytes(row.public_key),
            sign_count=int(row.sign_count),
            transports=tuple(json.loads(row.transports)),
            name=row.name,
            created_at=_utc(row.created_at),
            last_used_at=utc(row.last_used_at),
        )

    async def add(self, passkey: Passkey) -> None:
        await self._c.execute(
            insert(t.passkeys).values(
                id=passkey.id,
                user_id=passkey.user_id,
                credential_id=passkey.credential_id,
                public_key=passkey.public_key,
                sign_count=passkey.sign_count,
                transports=json.dumps(list(passkey.transports)),
                name=passkey.name,
                created_at=passkey.created_at,
                last_used_at=passkey.last_used_at,
            )
        )

    async def get(self, passkey_id: str) -> Passkey | None:
        row = (await self._c.execute(select(t.passkeys).where(_p.id == passkey_id))).first()
        return self._row(row) if row else None

    async def by_credential(self, credential_id: str) -> Passkey | None:
        row = (
            await self._c.execute(select(t.passkeys).where(_p.credential_id == credential_id))
        ).first()
        return self._row(row) if row else None

    async def list_for_user(self, user_id: str) -> list[Passkey]:
        rows = await self._c.execute(
            select(t.passkeys).where(_p.user_id == user_id).order_by(_p.created_at, _p.id)
        )
        return [self._row(r) for r in rows]

    async def count_for_user(self, user_id: str) -> int:
        query = select(func.count()).select_from(t.passkeys).where(_p.user_id == user_id)
        return int((await self._c.execute(query)).scalar_one())

    async def rename(self, user_id: str, passkey_id: str, name: str) -> bool:
        result = await self._c.execute(
            update(t.passkeys).where(_p.id == passkey_id, _p.user_id == user_id).values(name=name)
        )
        return result.rowcount == 1

    async def delete(self, user_id: str, passkey_id: str) -> bool:
        result = await self._c.execute(
            delete(t.passkeys).where(_p.id == passkey_id, _p.user_id == user_id)
        )
        return result.rowcount == 1

    async def record_use(
        self, passkey_id: str, old_count: int, new_count: int, at: datetime
    ) -> bool:
        # Compare-and-set on the count read before verifying: two logins racing with
        # one assertion cannot both win. Authenticators without a counter always send 0.
        result = await self._c.execute(
            update(t.passkeys)
            .where(
                _p.id == passkey_id,
                or_(_p.sign_count == old_count, _p.sign_count < new_count),
            )
            .values(sign_count=new_count, last_used_at=at)
        )
        return result.rowcount == 1


class SqlWebAuthnChallengeRepo(_Repo):
    async def add(self, challenge: WebAuthnChallenge) -> None:
        await self._c.execute(
            insert(t.webauthn_challenges).values(
                id_hash=challenge.id_hash,
                kind=challenge.kind,
                challenge=challenge.challenge,
                user_id=challenge.user_id,
                session_hash=challenge.session_hash,
                user_verification=challenge.user_verification,
                expires_at=challenge.expires_at,
            )
        )

    async def take(self, id_hash: str) -> WebAuthnChallenge | None:
        row = (
            await self._c.execute(select(t.webauthn_challenges).where(_w.id_hash == id_hash))
        ).first()
        if row is None:
            return None
        # Only the transaction whose delete removed the row may use it: single use even
        # when two answers to one challenge race.
        gone = await self._c.execute(delete(t.webauthn_challenges).where(_w.id_hash == id_hash))
        if gone.rowcount != 1:
            return None
        return WebAuthnChallenge(
            id_hash=row.id_hash,
            kind=row.kind,
            challenge=bytes(row.challenge),
            expires_at=_utc(row.expires_at),
            user_id=row.user_id,
            session_hash=row.session_hash,
            user_verification=bool(row.user_verification),
        )

    async def purge(self, before: datetime) -> None:
        await self._c.execute(delete(t.webauthn_challenges).where(_w.expires_at < before))
