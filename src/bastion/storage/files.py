"""Files: the file stores (ciphertext blobs under the data directory, or in the database)
and the repository that seals file bytes under the conversation's visitor's data key.

Associated data binds each blob to its file id, conversation and visitor
(``files:<file>:<conversation>:<visitor>``): a blob copied over another file's, or a row
pointed at another conversation, fails to decrypt instead of serving the wrong file.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.domain.models import FileState, StoredFile
from bastion.domain.ports import Clock, FileStore
from bastion.storage import tables as t
from bastion.storage.cipher import VisitorCipher
from bastion.storage.db import Database
from bastion.storage.repositories import _utc

# File ids are ``f_`` and 22 URL-safe characters (domain/ids.py); nothing else becomes a path.
_KEY = re.compile(r"f_[A-Za-z0-9_-]{1,64}")


def _ad(file_id: str, conversation_id: str, visitor_id: str) -> str:
    return f"files:{file_id}:{conversation_id}:{visitor_id}"


def _check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("not a file-store key")
    return key


class LocalFileStore:
    """Blobs as files ``<root>/<key>.bin``, written atomically, readable by the owner only."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root / f"{_check_key(key)}.bin"

    def _put(self, key: str, blob: bytes) -> None:
        path = self._path(key)
        self._root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def _delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def put(self, key: str, blob: bytes) -> None:
        await asyncio.to_thread(self._put, key, blob)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    def _keys_before(self, cutoff: datetime, limit: int) -> list[str]:
        if not self._root.is_dir():
            return []
        before = cutoff.timestamp()
        found: list[str] = []
        with os.scandir(self._root) as entries:
            for entry in entries:
                key = entry.name.removesuffix(".bin")
                if (
                    entry.name.endswith(".bin")
                    and _KEY.fullmatch(key)
                    and entry.stat().st_mtime < before
                ):
                    found.append(key)
                    if len(found) >= limit:
                        break
        return found

    async def keys_before(self, cutoff: datetime, limit: int) -> list[str]:
        return await asyncio.to_thread(self._keys_before, cutoff, limit)


class DatabaseFileStore:
    """Blobs as rows of ``file_blobs``, so every node of a cluster reads what any node
    wrote. Each call is a short transaction of its own beside the caller's unit of work
    (``Database.aside``), as a write to disk would be: the unit of work deletes the blobs
    of a transaction that did not commit, and those whose rows it deleted once it has.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def put(self, key: str, blob: bytes) -> None:
        values = {"key": _check_key(key), "blob": blob, "created_at": self._clock.now()}
        dialect = sqlite if self._db.is_sqlite else postgresql
        upsert = dialect.insert(t.file_blobs).values(values)
        statement = upsert.on_conflict_do_update(
            index_elements=[t.file_blobs.c.key],
            set_={"blob": upsert.excluded.blob, "created_at": upsert.excluded.created_at},
        )
        async with self._db.aside(write=True) as conn:
            await conn.execute(statement)

    async def get(self, key: str) -> bytes | None:
        query = select(t.file_blobs.c.blob).where(t.file_blobs.c.key == _check_key(key))
        async with self._db.aside(write=False) as conn:
            blob = (await conn.execute(query)).scalar_one_or_none()
        return None if blob is None else bytes(blob)

    async def delete(self, key: str) -> None:
        statement = delete(t.file_blobs).where(t.file_blobs.c.key == _check_key(key))
        async with self._db.aside(write=True) as conn:
            await conn.execute(statement)

    async def keys_before(self, cutoff: datetime, limit: int) -> list[str]:
        query = (
            select(t.file_blobs.c.key)
            .where(t.file_blobs.c.created_at < cutoff)
            .order_by(t.file_blobs.c.created_at)
            .limit(limit)
        )
        async with self._db.aside(write=False) as conn:
            return list((await conn.execute(query)).scalars().all())


class SqlFileRepo:
    """File rows over SQLAlchemy Core, bytes in ``store``.

    ``written`` collects the keys this transaction put (the unit of work deletes them if
    it does not commit); ``doomed`` those whose rows it deleted (deleted after commit).
    """

    def __init__(
        self,
        conn: AsyncConnection,
        cipher: VisitorCipher,
        store: FileStore,
        *,
        written: Callable[[str], None],
        doomed: Callable[[str], None],
    ) -> None:
        self._c = conn
        self._cipher = cipher
        self._store = store
        self._written = written
        self._doomed = doomed

    async def _row(self, row: Row[Any]) -> StoredFile:
        name = await self._cipher.unseal(row.visitor_id, row.name, f"files:{row.id}:name")
        return StoredFile(
            id=row.id,
            conversation_id=row.conversation_id,
            visitor_id=row.visitor_id,
            uploader_kind=row.uploader_kind,
            uploader_id=row.uploader_id,
            name=name or "",
            content_type=row.content_type,
            size=int(row.size),
            state=FileState(row.state),
            created_at=_utc(row.created_at),
            seq=row.seq,
        )

    async def add(self, file: StoredFile, content: bytes) -> None:
        blob = await self._cipher.seal_bytes(
            file.visitor_id, content, _ad(file.id, file.conversation_id, file.visitor_id)
        )
        self._written(file.id)
        await self._store.put(file.id, blob)
        await self._c.execute(
            insert(t.files).values(
                id=file.id,
                conversation_id=file.conversation_id,
                visitor_id=file.visitor_id,
                uploader_kind=file.uploader_kind,
                uploader_id=file.uploader_id,
                name=await self._cipher.seal(file.visitor_id, file.name, f"files:{file.id}:name"),
                content_type=file.content_type,
                size=file.size,
                state=file.state.value,
                seq=file.seq,
                created_at=file.created_at,
            )
        )

    async def get(self, file_id: str) -> StoredFile | None:
        row = (await self._c.execute(select(t.files).where(t.files.c.id == file_id))).first()
        return await self._row(row) if row else None

    async def content(self, file: StoredFile) -> bytes:
        blob = await self._store.get(file.id)
        if blob is None:
            raise FileNotFoundError("the file's bytes are missing from the store")
        return await self._cipher.unseal_bytes(
            file.visitor_id, blob, _ad(file.id, file.conversation_id, file.visitor_id)
        )

    async def list_for_visitor(self, visitor_id: str) -> list[StoredFile]:
        rows = await self._c.execute(
            select(t.files).where(t.files.c.visitor_id == visitor_id).order_by(t.files.c.created_at)
        )
        return [await self._row(r) for r in rows.all()]

    async def delete_for_visitor(self, visitor_id: str) -> int:
        return await self._delete_where(t.files.c.visitor_id == visitor_id)

    async def delete_for_conversations(self, conversation_ids: Sequence[str]) -> int:
        return await self._delete_where(t.files.c.conversation_id.in_(list(conversation_ids)))

    async def existing(self, file_ids: Sequence[str]) -> set[str]:
        if not file_ids:
            return set()
        query = select(t.files.c.id).where(t.files.c.id.in_(list(file_ids)))
        return set((await self._c.execute(query)).scalars().all())

    async def _delete_where(self, where: ColumnElement[bool]) -> int:
        ids = (await self._c.execute(select(t.files.c.id).where(where))).scalars().all()
        await self._c.execute(delete(t.files).where(where))
        for file_id in ids:
            self._doomed(file_id)
        return len(ids)
