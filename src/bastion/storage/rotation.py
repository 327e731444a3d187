"""``bastion keys rotate``: a new KEK, every data key re-wrapped, while the server runs.

Steps (each safe to interrupt; running the command again resumes):

1. Write the new KEK to ``<kek>.next``. From then on every process wraps new data keys
   under it (``FileKeyStore`` re-reads the key files when a data key is made, and
   unwraps with any KEK it has seen).
2. Re-wrap ``visitor_keys`` rows (then the ``staff_keys`` row) still under another KEK,
   in small batches, each its own short transaction, compare-and-set on the old
   ``kek_id``: concurrent writers wait for at most one batch. Data keys do not
   change, so nothing sealed is rewritten.
3. Keep the old KEK as ``<kek>.old``, move the new one into ``<kek>``.
4. After a grace period (a process that read the files just before step 1 may still
   commit a key wrapped by the old KEK), re-wrap whatever is left, then delete
   ``<kek>.old``. The old KEK is removed only when no row needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update

from bastion.security.envelope import (
    KEY_BYTES,
    DecryptionFailed,
    FileKeyStore,
    KeyFileError,
    fsync_dir,
    kek_id_of,
    next_kek_path,
    old_kek_path,
    read_key_file,
    write_key_file,
)
from bastion.storage import tables as t
from bastion.storage.db import Database


class RotationError(Exception):
    """Rotation cannot go on; the message says why (never key material)."""


@dataclass(frozen=True)
class RotationReport:
    kek_id: str
    rewrapped: int


@contextlib.contextmanager
def _exclusive(kek_path: Path) -> Iterator[None]:
    lock = kek_path.with_name(kek_path.name + ".rotate.lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RotationError("another key rotation is running") from None
        yield
    finally:
        os.close(fd)


async def _rewrap(db: Database, keys: FileKeyStore, new_id: str, batch: int, pause: float) -> int:
    done = 0
    c = t.visitor_keys.c
    while True:
        async with db.transaction(write=True) as conn:
            rows = (
                await conn.execute(
                    select(c.visitor_id, c.kek_id, c.wrapped)
                    .where(c.kek_id != new_id)
                    .order_by(c.visitor_id)
                    .limit(batch)
                )
            ).all()
            if not rows:
                break
            unknown = [r for r in rows if not keys.known(r.kek_id)]
            if unknown:
                left = (
                    await conn.execute(
                        select(func.count()).select_from(t.visitor_keys).where(c.kek_id != new_id)
                    )
                ).scalar_one()
                raise RotationError(
                    f"{left} data key(s) are wrapped by a key-encryption key that is not in "
                    "the key directory; restore that key file (nothing was deleted)"
                )
            for row in rows:
                data_key = keys.unwrap(row.kek_id, bytes(row.wrapped), row.visitor_id)
                await conn.execute(
                    update(t.visitor_keys)
                    .where(c.visitor_id == row.visitor_id, c.kek_id == row.kek_id)
                    .values(kek_id=new_id, wrapped=keys.wrap_with(new_id, data_key, row.visitor_id))
                )
            await conn.commit()
        done += len(rows)
        await asyncio.sleep(pause)  # let the server's writers in between batches
    # Outside the batch's transaction: on SQLite a second write transaction would wait
    # for the first one forever.
    return done + await _rewrap_staff(db, keys, new_id)


async def _rewrap_staff(db: Database, keys: FileKeyStore, new_id: str) -> int:
    """Re-wrap the staff data key (TOTP secrets, migration 0010): one row, same rules."""
    c = t.staff_keys.c
    async with db.transaction(write=True) as conn:
        rows = (
            await conn.execute(select(c.name, c.kek_id, c.wrapped).where(c.kek_id != new_id))
        ).all()
        for row in rows:
            if not keys.known(row.kek_id):
                raise RotationError(
                    "the staff data key is wrapped by a key-encryption key that is not in the "
                    "key directory; restore that key file (nothing was deleted)"
                )
            try:
                data_key = keys.unwrap(row.kek_id, bytes(row.wrapped), row.name)
            except DecryptionFailed:
                # Left as it is: a rotation never guesses, and a new key would not open
                # the secrets sealed under this one. Sealed TOTP values are never read
                # here (data keys do not change), so an altered user row cannot stop it.
                raise RotationError(
                    "the staff data key does not open with its key-encryption key (its row "
                    "was altered, or the key file is not the one that wrapped it); it was "
                    "left as it is and no key file was removed"
                ) from None
            await conn.execute(
                update(t.staff_keys)
                .where(c.name == row.name, c.kek_id == row.kek_id)
                .values(kek_id=new_id, wrapped=keys.wrap_with(new_id, data_key, row.name))
            )
        await conn.commit()
    return len(rows)


async def rotate_kek(
    db: Database,
    kek_path: Path,
    *,
    batch: int = 200,
    grace_s: float = 5.0,
    pause_s: float = 0.01,
) -> RotationReport:
    """Rotate the KEK at ``kek_path`` (see the module docstring); returns the new KEK id."""
    if batch < 1:
        raise RotationError("the batch size must be 1 or more")
    with _exclusive(kek_path):
        keys = FileKeyStore(kek_path).load()
        nxt = next_kek_path(kek_path)
        if not nxt.exists():  # otherwise: resume the interrupted rotation to that key
            write_key_file(nxt, os.urandom(KEY_BYTES))
        try:
            new_key = read_key_file(nxt)
        except KeyFileError as err:
            raise RotationError(str(err)) from None
        new_id = kek_id_of(new_key)
        keys.refresh()
        total = await _rewrap(db, keys, new_id, batch, pause_s)
        current = read_key_file(kek_path)
        if kek_id_of(current) != new_id:
            write_key_file(old_kek_path(kek_path), current)
            os.replace(nxt, kek_path)
            fsync_dir(kek_path.parent)
        keys.refresh()
        await asyncio.sleep(grace_s)
        total += await _rewrap(db, keys, new_id, batch, pause_s)
        with contextlib.suppress(FileNotFoundError):
            old_kek_path(kek_path).unlink()
        with contextlib.suppress(FileNotFoundError):
            nxt.unlink()
        fsync_dir(kek_path.parent)
        return RotationReport(kek_id=new_id, rewrapped=total)
