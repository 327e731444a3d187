"""Engines and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry


class Database:
    """Owns the engines. On SQLite, write transactions are serialised in-process and
    begin with ``BEGIN IMMEDIATE`` so a reader never has to upgrade to a writer (which
    SQLite may refuse without waiting); reads run concurrently under WAL.
    """

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = asyncio.Lock()
        if self.is_sqlite:
            self.write_engine = self._sqlite_engine(url, immediate=True, sync=sqlite_synchronous)
            self.read_engine = self._sqlite_engine(url, immediate=False, sync=sqlite_synchronous)
        else:
            self.write_engine = create_async_engine(
                url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True
            )
            self.read_engine = self.write_engine

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool, sync: str) -> AsyncEngine:
        # Each aiosqlite connection owns a thread: keep a fixed set open instead of letting
        # overflow connections (and their threads) be made and dropped per query, which the
        # benchmark caught. One writer at a time anyway (the lock), so one write connection.
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            pool_size=1 if immediate else 8,
            max_overflow=0,
            pool_timeout=60,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            # Take transaction control from the driver so we can choose BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sync}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted content is overwritten, not left in free pages (erasure).
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        return engine

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A connection inside a transaction; the caller commits, otherwise it rolls back."""
        if write and self.is_sqlite:
            async with self._write_lock, self.write_engine.connect() as conn:
                await conn.begin()
                yield conn
        else:
            engine = self.write_engine if write else self.read_engine
            async with engine.connect() as conn:
                await conn.begin()
                yield conn

    async def ping(self) -> bool:
        try:
            async with self.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - readiness probe: any failure means "not ready"
            return False
        return True

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


def sqlite_path(url: str) -> Path:
    """The database file of a ``sqlite+aiosqlite:///…`` URL."""
    return Path(url.split(":///", 1)[1])


class DatabaseScrubber:
    """After an erasure: leave no deleted content in the database files, where the engine
    lets us. SQLite connections run with ``secure_delete=ON`` (deleted cells and freed
    pages are zeroed); here the WAL — which still holds the old page images — is
    checkpointed into the file and truncated. PostgreSQL: the touched tables are
    VACUUMed, which removes dead tuples from the table pages; WAL segments and any
    archive keep the old row images until recycled (docs/security.md, "Erasure").
    """

    TABLES = (
        "visitor_keys",
        "visitors",
        "visitor_pages",
        "visitor_tokens",
        "conversations",
        "conversation_access",
        "events",
        "commands",
    )

    def __init__(self, db: Database, extra_tables: tuple[str, ...] = ()) -> None:
        self._db = db
        self._tables = self.TABLES + extra_tables

    async def scrub(self) -> bool:
        if self._db.is_sqlite:
            return await asyncio.to_thread(checkpoint_truncate, sqlite_path(self._db.url))
        async with self._db.write_engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in self._tables:  # fixed names from this module, never input
                await auto.execute(text(f"VACUUM {table}"))
        return True


def checkpoint_truncate(path: Path, attempts: int = 50) -> bool:
    """Copy the WAL into the database file and truncate it; False if readers kept it busy."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("PRAGMA secure_delete=ON")
        for _ in range(attempts):
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0:
                return True
            time.sleep(0.1)
        return False
    finally:
        conn.close()
