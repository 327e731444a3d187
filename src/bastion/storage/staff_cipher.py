"""Sealing staff secrets (TOTP) at rest under the staff data key (migration 0011).

One AES-256-GCM data key for staff secrets, stored in ``staff_keys`` wrapped by the KEK
(owner ``"staff"``), apart from the per-visitor keys: erasing a visitor never touches it,
and rotating the KEK re-wraps it like any other data key. Each value is sealed with
associated data naming the user and column (``users:<id>:totp_secret``), so a secret
copied onto another account's row does not decrypt.

A value that does not open — altered, copied from another row, or its key unreadable —
is read as ``UNREADABLE_SECRET`` and logged by user id and column: the user still loads
(login, session checks, the admins' user list) and the domain refuses the factor.
"""

from __future__ import annotations

import structlog
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.domain.models import UNREADABLE_SECRET
from bastion.domain.ports import KeyStore
from bastion.security.envelope import PREFIX, DecryptionFailed, new_data_key, seal, unseal
from bastion.storage import tables as t

OWNER = "staff"

log = structlog.get_logger(__name__)


class StaffKeyCache:
    """An unwrapped data key (the staff key, the audit key), once read from a committed row."""

    def __init__(self) -> None:
        self.key: bytes | None = None


class WrappedKey:
    """The data key stored in ``staff_keys`` under ``name``, made on first use.

    Wrapped by the KEK like the visitors' keys, so a copy of the database alone does not
    hold it, and ``bastion keys rotate`` re-wraps every row of the table.
    """

    def __init__(
        self, conn: AsyncConnection, keys: KeyStore, cache: StaffKeyCache, name: str
    ) -> None:
        self._c = conn
        self._keys = keys
        self._cache = cache
        self._name = name
        self._fresh: bytes | None = None

    async def _read(self) -> bytes | None:
        row = (
            await self._c.execute(
                select(t.staff_keys.c.kek_id, t.staff_keys.c.wrapped).where(
                    t.staff_keys.c.name == self._name
                )
            )
        ).first()
        if row is None:
            return None
        try:
            key = self._keys.unwrap(row.kek_id, bytes(row.wrapped), self._name)
        except DecryptionFailed:
            # Not replaced by a new key: that would turn everything under it into noise.
            log.warning("data_key_unreadable", name=self._name, kek_id=row.kek_id)
            raise
        self._cache.key = key
        return key

    async def existing(self) -> bytes | None:
        """The key if it has been made, without making it."""
        return self._cache.key or await self._read()

    async def get(self) -> bytes:
        key = self._fresh or self._cache.key or await self._read()
        if key is not None:
            return key
        key = new_data_key()
        try:
            # A savepoint: another process making the key at the same moment must not
            # abort this transaction, only send us to read theirs.
            async with self._c.begin_nested():
                # One consistent (KEK id, wrapped) pair, even while a rotation runs.
                kek_id, wrapped = self._keys.wrap_current(key, self._name)
                await self._c.execute(
                    insert(t.staff_keys).values(name=self._name, kek_id=kek_id, wrapped=wrapped)
                )
        except IntegrityError:
            theirs = await self._read()
            assert theirs is not None
            return theirs
        self._fresh = key
        return key


class StaffCipher:
    def __init__(self, conn: AsyncConnection, keys: KeyStore, cache: StaffKeyCache) -> None:
        self._key = WrappedKey(conn, keys, cache, OWNER).get

    async def seal(self, user_id: str, column: str, value: str | None) -> str | None:
        if value is None:
            return None
        return seal(await self._key(), value, f"users:{user_id}:{column}")

    async def unseal(self, user_id: str, column: str, value: str | None) -> str | None:
        """The plaintext, or ``UNREADABLE_SECRET`` when it does not open (never raises)."""
        if value is None or not value.startswith(PREFIX):
            return value  # NULL, or not yet sealed (0011 seals what it finds)
        try:
            return unseal(await self._key(), value, f"users:{user_id}:{column}")
        except DecryptionFailed:
            # Ids only: a log never holds a secret, sealed or not.
            log.warning("staff_secret_unreadable", user_id=user_id, column=column)
            return UNREADABLE_SECRET
