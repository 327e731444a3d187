"""What the file store of a test world holds, whichever store its settings chose: the data
directory's ``files/`` or the database's ``file_blobs`` (``BASTION_FILE_STORE``)."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import select, update

from bastion.domain.ports import FileStore
from bastion.services import file_store
from bastion.storage import tables as t
from tests.support.factories import World


def store(w: World) -> FileStore:
    """A second handle on the world's store (the same directory or database)."""
    return file_store(w.svc.settings, w.svc.db, w.clock)


async def blob(w: World, key: str) -> bytes | None:
    return await store(w).get(key)


async def keys(w: World) -> list[str]:
    """Every key the store holds, sorted (in a directory, any other file by its name)."""
    if w.svc.settings.resolved_file_store == "directory":
        root = w.svc.settings.data_dir / "files"
        return sorted(p.name.removesuffix(".bin") for p in root.iterdir()) if root.exists() else []
    async with w.svc.db.transaction(write=False) as conn:
        return sorted((await conn.execute(select(t.file_blobs.c.key))).scalars())


async def backdate(w: World, key: str, at: datetime) -> None:
    """Make the store see ``key`` as written at ``at`` (a file's mtime, or the row's time)."""
    if w.svc.settings.resolved_file_store == "directory":
        path = w.svc.settings.data_dir / "files" / f"{key}.bin"
        os.utime(path, (at.timestamp(), at.timestamp()))
        return
    async with w.svc.db.transaction(write=True) as conn:
        await conn.execute(
            update(t.file_blobs).where(t.file_blobs.c.key == key).values(created_at=at)
        )
        await conn.commit()
