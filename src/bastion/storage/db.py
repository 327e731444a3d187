"""Engines and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from bastion.storage.sqlite_driver import HERE, Savepoint, one_hop_url


class WriteUnit:
    """One unit of work's writes. ``commit`` makes them part of what will be committed;
    leaving without it undoes them. On SQLite the unit is a savepoint inside a group
    transaction, and leaving the ``Database.unit`` context after ``commit`` waits until
    the group is durable; elsewhere it is the transaction itself.
    """

    def __init__(self, conn: AsyncConnection, tx: AsyncTransaction | Savepoint) -> None:
        self.conn = conn
        self._tx = tx
        self._open = True
        self.committed = False

    async def commit(self) -> None:
        if isinstance(self._tx, Savepoint):
            await self._tx.release()
        else:
            await self._tx.commit()
        self._open = False
        self.committed = True

    async def undo(self) -> None:
        if isinstance(self._tx, Savepoint):
            if self._open:
                self._open = False
                await self._tx.rollback()
        elif self._tx.is_active:
            await self._tx.rollback()


class GroupCommit:
    """SQLite group commit (ADR 0006): write units queue on one lock; each runs inside a
    SAVEPOINT of a shared ``BEGIN IMMEDIATE`` transaction, and one flusher, queued behind
    them, commits them all at once. A unit is acknowledged only when that commit is
    durable; a unit that fails is rolled back to its savepoint alone; a failed commit
    fails every unit of the group. Units still run one at a time, so seqs and the
    commands table see exactly what they saw with one transaction per unit.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.lock = asyncio.Lock()
        self._conn: AsyncConnection | None = None
        self._pending: list[asyncio.Future[None]] = []
        self._flush_queued = False
        self._flushers: set[asyncio.Task[None]] = set()
        # The task running a unit now, and the unit's connection (``joined``).
        self._running: tuple[asyncio.Task[Any] | None, AsyncConnection] | None = None

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[WriteUnit]:
        waiter: asyncio.Future[None] | None = None
        async with self.lock:
            conn = await self._open()
            point = await Savepoint.open(conn, "unit")
            unit = WriteUnit(conn, point or await conn.begin_nested())
            self._running = (asyncio.current_task(), conn)
            try:
                yield unit
            finally:
                self._running = None
                if unit.committed:
                    waiter = asyncio.get_running_loop().create_future()
                    self._pending.append(waiter)
                    self._queue_flush()
                else:
                    try:
                        await unit.undo()
                    except BaseException as err:
                        # The savepoint could not be undone: the shared transaction is in
                        # an unknown state, so nobody in this group may be acknowledged.
                        await self._abort(err)
                        raise
                    if self._conn is not None and not self._pending:
                        self._queue_flush()  # nothing to commit: end the empty group
        if waiter is not None:
            await waiter

    def joined(self) -> AsyncConnection | None:
        """The connection of the unit the calling task is running, if it is running one."""
        if self._running is not None and self._running[0] is asyncio.current_task():
            return self._running[1]
        return None

    def _queue_flush(self) -> None:
        """Queue one flusher on the lock, behind the units already waiting for it."""
        if not self._flush_queued:
            self._flush_queued = True
            task = asyncio.get_running_loop().create_task(self._flusher())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)

    async def _open(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            try:
                await conn.begin()
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _flusher(self) -> None:
        async with self.lock:
            self._flush_queued = False
            with contextlib.suppress(Exception):  # the units waiting on it get the error
                await self.flush()

    async def flush(self) -> None:
        """Commit the open group, if any (call with ``lock`` held)."""
        conn, pending = self._conn, self._pending
        self._conn, self._pending = None, []
        if conn is None:
            return
        try:
            await conn.commit()
        except BaseException as err:
            self._fail(pending, err)
            with contextlib.suppress(Exception):
                await conn.rollback()
            raise
        finally:
            await conn.close()
        for waiter in pending:
            if not waiter.done():
                waiter.set_result(None)

    async def _abort(self, err: BaseException) -> None:
        conn, pending = self._conn, self._pending
        self._conn, self._pending = None, []
        self._fail(pending, err)
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.rollback()
            with contextlib.suppress(Exception):
                await conn.close()

    @staticmethod
    def _fail(pending: list[asyncio.Future[None]], err: BaseException) -> None:
        for waiter in pending:
            if waiter.done():
                continue
            if isinstance(err, Exception):
                waiter.set_exception(err)
            else:
                waiter.cancel()


# A pooled PostgreSQL connection unused for longer than this is checked before use.
PING_AFTER_IDLE_S = 10.0
_LAST_USED = "bastion_last_used"


def ping_when_idle(engine: AsyncEngine, idle_s: float = PING_AFTER_IDLE_S) -> AsyncEngine:
    """Check a pooled connection before use only when it has been idle for ``idle_s``.

    SQLAlchemy's ``pool_pre_ping`` checks on every checkout, and on asyncpg outside a
    transaction its check is three round trips (``BEGIN``, ``;``, ``ROLLBACK``): as many
    as the rest of a chat message's unit of work together (docs/performance.md). A
    connection in steady use was just seen to work; one that sat idle (the server may
    have restarted or dropped it) is checked, and replaced if the check fails. A
    connection that breaks while in steady use fails that one transaction; SQLAlchemy
    then drops every pooled connection older than the failure, as after any disconnect.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(_dbapi: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except Exception as err:
            # The pool discards this connection and checks out another (or a new one).
            raise exc.DisconnectionError("pooled connection failed its check") from err

    return engine


class Database:
    """Owns the engines. On SQLite, writes are serialised in-process and the write
    transaction begins with ``BEGIN IMMEDIATE`` so a reader never has to upgrade to a
    writer (which SQLite may refuse without waiting); reads run concurrently under WAL.
    Units of work write through ``unit`` (group commit on SQLite, ADR 0006).
    """

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._group: GroupCommit | None = None
        if self.is_sqlite:
            self.write_engine = self._sqlite_engine(url, immediate=True, sync=sqlite_synchronous)
            self.read_engine = self._sqlite_engine(url, immediate=False, sync=sqlite_synchronous)
            self._group = GroupCommit(self.write_engine)
        else:
            self.write_engine = ping_when_idle(
                create_async_engine(url, echo=echo, pool_size=10, max_overflow=10)
            )
            self.read_engine = self.write_engine
        # Work beside a unit of work (``aside``) has a small pool of its own: it runs while
        # the unit holds a connection, so it must never wait for one that units hold.
        if self.is_sqlite:
            self.aside_engine = self._sqlite_engine(url, immediate=False, sync=sqlite_synchronous)
        else:
            self.aside_engine = ping_when_idle(
                create_async_engine(url, echo=echo, pool_size=2, max_overflow=3)
            )

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool, sync: str) -> AsyncEngine:
        # Each aiosqlite connection owns a thread: keep a fixed set open instead of letting
        # overflow connections (and their threads) be made and dropped per query, which the
        # benchmark caught. One writer at a time anyway (the lock), so one write connection.
        engine = create_async_engine(
            one_hop_url(url),
            connect_args={"timeout": 30, "check_same_thread": False},
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

        # A deferred BEGIN takes no lock, so it runs on the event loop's thread; BEGIN
        # IMMEDIATE may wait for another process's write lock, so it goes to the driver's.
        here = {} if immediate else {HERE: True}

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin, execution_options=here)

        return engine

    @asynccontextmanager
    async def unit(self, *, write: bool) -> AsyncIterator[WriteUnit]:
        """A unit of work's transaction: ``commit`` it, otherwise it is undone on leaving.

        On SQLite a write unit joins the group commit and leaving it after ``commit``
        returns only once the group is durable; everywhere else it is ``transaction``.
        """
        if write and self._group is not None:
            async with self._group.unit() as unit:
                yield unit
            return
        async with self.transaction(write=write) as conn:
            assert conn.get_transaction() is not None
            unit = WriteUnit(conn, conn.get_transaction())  # type: ignore[arg-type]
            yield unit

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A connection inside its own transaction; the caller commits, otherwise it rolls
        back. On SQLite a write first commits any open group (a few callers: tests, tools).
        """
        if write and self._group is not None:
            async with self._group.lock:
                await self._group.flush()
                async with self.write_engine.connect() as conn:
                    await conn.begin()
                    yield conn
        else:
            engine = self.write_engine if write else self.read_engine
            async with engine.connect() as conn:
                await conn.begin()
                yield conn

    @asynccontextmanager
    async def aside(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A short transaction of its own beside the caller's unit of work (the database
        file store), committed when the block ends without an error.

        SQLite has one writer, which a running write unit holds: a write from inside the
        calling task's unit joins that unit as a savepoint (undone with it) rather than
        wait for itself; any other write commits the open group first, like ``transaction``.
        """
        if write and self._group is not None:
            conn = self._group.joined()
            if conn is not None:
                async with conn.begin_nested():
                    yield conn
                return
            async with self.transaction(write=True) as conn:
                yield conn
                await conn.commit()
            return
        async with self.aside_engine.begin() as conn:
            yield conn

    async def ping(self) -> bool:
        try:
            async with self.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - readiness probe: any failure means "not ready"
            return False
        return True

    async def dispose(self) -> None:
        if self._group is not None:
            async with self._group.lock:
                with contextlib.suppress(Exception):
                    await self._group.flush()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
        await self.aside_engine.dispose()


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
        "files",
        "file_blobs",
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
