"""Per-visitor field encryption for the repositories (the domain never sees it).

Each visitor has one data key, stored wrapped by the key store's KEK in
``visitor_keys`` (migration 0005). Repositories seal a value with the owning visitor's
key and associated data naming the table, row and column; reading unseals it. Deleting a
visitor's key row makes everything sealed under it unreadable (crypto-shredding).
"""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.domain.ports import KeyStore
from bastion.security.envelope import (
    PREFIX,
    DecryptionFailed,
    new_data_key,
    seal,
    seal_bytes,
    unseal,
    unseal_bytes,
)
from bastion.storage import tables as t

CACHE_SIZE = 4096
OWNERS_SIZE = 50_000


class KeyCache:
    """Unwrapped data keys shared by units of work, most recently used kept.

    Only keys read from a committed row are cached: a key made in a transaction that
    then rolls back must not outlive it.
    """

    def __init__(self, size: int = CACHE_SIZE, owners: int = OWNERS_SIZE) -> None:
        self._size = size
        self._keys: OrderedDict[str, bytes] = OrderedDict()
        # Which visitor's key seals a conversation's events: fixed for its life, so a
        # node keeps it instead of reading it again for every event (ids only).
        self._owners: dict[str, str] = {}
        self._owners_size = owners

    def owner(self, conversation_id: str) -> str | None:
        return self._owners.get(conversation_id)

    def remember_owner(self, conversation_id: str, visitor_id: str) -> None:
        if len(self._owners) >= self._owners_size:
            self._owners.clear()  # cheap bound; refilled from the database as used
        self._owners[conversation_id] = visitor_id

    def get(self, visitor_id: str) -> bytes | None:
        key = self._keys.get(visitor_id)
        if key is not None:
            self._keys.move_to_end(visitor_id)
        return key

    def put(self, visitor_id: str, key: bytes) -> None:
        self._keys[visitor_id] = key
        self._keys.move_to_end(visitor_id)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)

    def forget(self, visitor_id: str) -> None:
        self._keys.pop(visitor_id, None)

    def clear(self) -> None:
        self._keys.clear()

    def __contains__(self, visitor_id: str) -> bool:
        return visitor_id in self._keys


class VisitorCipher:
    """Seals and unseals one transaction's values under their visitor's data key."""

    def __init__(self, conn: AsyncConnection, keys: KeyStore, cache: KeyCache) -> None:
        self._c = conn
        self._keys = keys
        self._cache = cache
        self.owners = cache
        self._fresh: dict[str, bytes] = {}  # keys made in this transaction

    async def _key(self, visitor_id: str, *, create: bool) -> bytes:
        key = self._fresh.get(visitor_id) or self._cache.get(visitor_id)
        if key is not None:
            return key
        row = (
            await self._c.execute(
                select(t.visitor_keys.c.kek_id, t.visitor_keys.c.wrapped).where(
                    t.visitor_keys.c.visitor_id == visitor_id
                )
            )
        ).first()
        if row is not None:
            key = self._keys.unwrap(row.kek_id, bytes(row.wrapped), visitor_id)
            self._cache.put(visitor_id, key)
            return key
        if not create:
            # Sealed data without a key: the visitor was erased (crypto-shredded).
            raise DecryptionFailed("no data key")
        # A visitor from before 0005, or a new one: make their key in this transaction.
        key = new_data_key()
        kek_id, wrapped = self._keys.wrap_current(key, visitor_id)
        await self._c.execute(
            insert(t.visitor_keys).values(visitor_id=visitor_id, kek_id=kek_id, wrapped=wrapped)
        )
        self._fresh[visitor_id] = key
        return key

    def forget(self, visitor_id: str) -> None:
        """Drop a visitor's key from memory (erasure; their key row is being deleted)."""
        self._fresh.pop(visitor_id, None)
        self._cache.forget(visitor_id)

    def lookup_hmac(self, kind: str, value: str) -> str:
        return self._keys.lookup_hmac(kind, value)

    async def seal(self, visitor_id: str, value: str | None, ad: str) -> str | None:
        if value is None:
            return None
        return seal(await self._key(visitor_id, create=True), value, ad)

    async def unseal(self, visitor_id: str, value: str | None, ad: str) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value  # NULL, or written before 0005: nothing to unseal
        return unseal(await self._key(visitor_id, create=False), value, ad)

    async def seal_bytes(self, visitor_id: str, data: bytes, ad: str) -> bytes:
        """Files: ``data`` sealed under the visitor's key, bound to ``ad``."""
        return seal_bytes(await self._key(visitor_id, create=True), data, ad)

    async def unseal_bytes(self, visitor_id: str, blob: bytes, ad: str) -> bytes:
        return unseal_bytes(await self._key(visitor_id, create=False), blob, ad)
