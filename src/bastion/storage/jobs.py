"""The job ledger over the database: who may run a job now, and when each last ran.

PostgreSQL (several nodes, several workers): a session-level advisory lock per job,
taken with ``pg_try_advisory_lock`` on a connection held for the whole run, so a second
node asking meanwhile is told no at once instead of waiting. Under that lock the
``job_runs`` row says whether the job is due; its start is recorded before it runs, so
a node that restarts (or crashes mid-run) does not run the job again early.

SQLite (one process by construction): an ``asyncio.Lock`` per job stands in for the
advisory lock; the ``job_runs`` row works the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import structlog
from sqlalchemy import insert, select, text, update

from bastion.storage import tables as t
from bastion.storage.db import Database
from bastion.storage.repositories import utc

log = structlog.get_logger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name (namespaced)."""
    digest = hashlib.sha256(f"bastion.job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SqlJobLedger:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._local: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def claim(self, name: str, every: timedelta, now: datetime) -> AsyncIterator[bool]:
        if self._db.is_sqlite:
            lock = self._local.setdefault(name, asyncio.Lock())
            if lock.locked():
                yield False
                return
            async with lock:
                yield await self._start_if_due(name, every, now)
            return
        key = lock_key(name)
        async with self._db.write_engine.connect() as conn:
            got = (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            ).scalar_one()
            await conn.commit()  # a session lock: it outlives this transaction
            if not got:
                yield False
                return
            try:
                yield await self._start_if_due(name, every, now)
            finally:
                try:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    await conn.commit()
                except Exception:  # noqa: BLE001 - closing the session frees the lock anyway
                    log.warning("job_unlock_failed", job=name)
                    await conn.invalidate()

    async def _start_if_due(self, name: str, every: timedelta, now: datetime) -> bool:
        c = t.job_runs.c
        async with self._db.transaction(write=True) as conn:
            row = (await conn.execute(select(c.started_at).where(c.name == name))).first()
            if row is not None:
                last = utc(row.started_at)
                assert last is not None
                if last + every > now:
                    return False
                await conn.execute(
                    update(t.job_runs)
                    .where(c.name == name)
                    .values(started_at=now, finished_at=None, ok=None, error=None)
                )
            else:
                await conn.execute(insert(t.job_runs).values(name=name, started_at=now))
            await conn.commit()
        return True

    async def finish(self, name: str, at: datetime, error: str | None) -> None:
        c = t.job_runs.c
        async with self._db.transaction(write=True) as conn:
            await conn.execute(
                update(t.job_runs)
                .where(c.name == name)
                .values(finished_at=at, ok=error is None, error=error and error[:80])
            )
            await conn.commit()

    async def last_runs(self) -> dict[str, tuple[datetime, datetime | None, bool | None]]:
        """(started, finished, ok) of every job that ever ran (for operators and tests)."""
        async with self._db.transaction(write=False) as conn:
            rows = await conn.execute(select(t.job_runs))
            out = {}
            for r in rows:
                started = utc(r.started_at)
                assert started is not None
                out[r.name] = (started, utc(r.finished_at), r.ok)
            return out
