"""SQLAlchemy's aiosqlite dialect with one thread hand-off per statement instead of four.

Each aiosqlite connection runs SQLite on its own thread; every call on it (open a cursor,
execute, fetch, close) is one hand-off to that thread and one wake-up of the event loop
back. SQLAlchemy's adapter makes four such calls per statement, and at chat rates the
hand-offs, not SQLite, were most of a node's CPU (docs/decisions/0008). Here a statement is
one function run on the connection's thread: execute, fetch every row, close the cursor,
and hand back the rows with the cursor's description, row count and last row id.

Statements that never wait for a lock or the disk skip the hand-off and run on the event
loop's thread (docs/decisions/0010): savepoints, the deferred ``BEGIN`` of a read,
``ROLLBACK``, statements marked ``HERE``, and the message path's prepared statements
(``storage/prepared.py`` through :func:`raw_here`; group-commit units through
:class:`Savepoint`). ``BEGIN IMMEDIATE`` and ``COMMIT`` always go to the thread.

Registered as ``sqlite+bastion_aiosqlite``; :func:`one_hop_url` turns an
``sqlite+aiosqlite`` URL into it. Depends on aiosqlite's ``Connection._execute`` and
``_conn`` and on SQLAlchemy's ``AsyncAdapt_dbapi_cursor`` hooks; both are pinned, and the
storage tests run every query through this dialect.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util.concurrency import await_

DRIVER = "bastion_aiosqlite"

# Called with each statement's text run straight on a connection here or by
# ``storage.prepared``, which skips the engine's events (the benchmark's counter).
OBSERVERS: list[Callable[[str], None]] = []

# Execution option: the statement never waits for a lock or the disk, so it may run on
# the event loop's thread (``OneHopDialect.do_execute``), like savepoints do.
HERE = "bastion_sqlite_here"
_SAVEPOINTS = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")


def _runs_here(context: Any) -> bool:
    return context is not None and bool(context.execution_options.get(HERE))


class _Finished:
    """What SQLAlchemy reads off a cursor after ``execute``, kept after it was closed."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, cur: sqlite3.Cursor | None) -> None:
        self.description = cur.description if cur is not None else None
        self.rowcount = cur.rowcount if cur is not None else -1
        self.lastrowid = cur.lastrowid if cur is not None else None
        self.arraysize = 1

    def close(self) -> None:
        """Already closed on the connection's thread."""


def _run(
    conn: Any, operation: str, parameters: Any, many: bool
) -> tuple[_Finished, list[Any] | None]:
    """On the connection's thread: the whole statement, rows included."""
    cur = conn._conn.cursor()
    try:
        if many:
            cur.executemany(operation, parameters)
        elif parameters is None:
            cur.execute(operation)
        else:
            cur.execute(operation, parameters)
        rows = cur.fetchall() if cur.description else None
        return _Finished(cur), rows
    finally:
        cur.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False

    def execute_here(self, operation: Any, parameters: Any) -> bool:
        """Run the statement on the calling thread, without a hand-off; False (nothing run)
        when another statement is in flight on this connection's thread.
        """
        if self._adapt_connection._execute_mutex.locked():
            return False
        try:
            # Awaited although it never suspends: SQLAlchemy's async engine requires every
            # execution to pass through its greenlet bridge once.
            await_(self._execute_here_async(operation, parameters))
        except Exception as error:  # noqa: BLE001 - translated and raised, as ``execute`` does
            self._adapt_connection._handle_exception(error)
        return True

    async def _execute_here_async(self, operation: Any, parameters: Any) -> None:
        done, rows = _run(self._connection, operation, parameters, False)
        self._cursor = done  # type: ignore[assignment]
        if rows is not None:
            self._rows = collections.deque(rows)

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Finished(None)

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            done, rows = await self._connection._execute(
                _run, self._connection, operation, parameters, False
            )
            self._cursor = done
            if rows is not None:
                self._rows = collections.deque(rows)
            return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        async with self._adapt_connection._execute_mutex:
            done, _ = await self._connection._execute(
                _run, self._connection, operation, seq_of_parameters, True
            )
            self._cursor = done
            return None


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        return OneHopConnection(self, await_(connection))


class OneHopDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True
    # Server-side cursors would still take aiosqlite's per-call path; nothing streams.
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        if (
            (statement.startswith(_SAVEPOINTS) or _runs_here(context))
            and cursor.execute_here(statement, parameters)
        ):  # fmt: skip
            return
        cursor.execute(statement, parameters)

    def do_rollback(self, dbapi_connection: Any) -> None:
        # Ending a transaction without a commit never waits for a lock or the disk: done
        # here, like savepoints, unless a statement is in flight on the connection's thread.
        if (
            isinstance(dbapi_connection, OneHopConnection)
            and dbapi_connection._connection._connection is not None
            and not dbapi_connection._execute_mutex.locked()
        ):
            try:
                dbapi_connection._connection._conn.rollback()
            except Exception as error:  # noqa: BLE001 - translated and raised, as above
                dbapi_connection._handle_exception(error)
            return
        super().do_rollback(dbapi_connection)  # type: ignore[no-untyped-call]


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")


def one_hop_url(url: str) -> str:
    """``sqlite+aiosqlite:///…`` → the same database through this dialect."""
    parsed = make_url(url)
    if parsed.drivername != "sqlite+aiosqlite":
        return url
    return parsed.set(drivername=f"sqlite+{DRIVER}").render_as_string(hide_password=False)


def raw_here(conn: AsyncConnection) -> sqlite3.Connection | None:
    """The connection's ``sqlite3`` connection when a statement may run on it here."""
    if not isinstance(conn.dialect, OneHopDialect) or not conn.in_transaction():
        return None
    adapted = conn.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
    if not isinstance(adapted, OneHopConnection) or adapted._execute_mutex.locked():
        return None
    return adapted._connection._conn  # type: ignore[no-any-return]


class Savepoint:
    """A savepoint set and ended straight on the SQLite connection (the group commit's
    unit, ADR 0006), or ``None`` from :meth:`open` where that is not possible.

    SQLAlchemy's ``begin_nested`` compiles and executes a new savepoint clause for each
    unit, as much CPU as the unit's own statements; these three statements never wait.
    """

    __slots__ = ("_adapted", "_name", "_raw")

    def __init__(self, adapted: OneHopConnection, raw: sqlite3.Connection, name: str) -> None:
        self._adapted, self._raw, self._name = adapted, raw, name

    @classmethod
    async def open(cls, conn: AsyncConnection, name: str) -> Savepoint | None:
        raw = raw_here(conn)
        if raw is None:
            return None
        adapted = conn.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
        point = cls(adapted, raw, name)  # type: ignore[arg-type]
        await point._run(f"SAVEPOINT {name}")
        return point

    async def release(self) -> None:
        await self._run(f"RELEASE SAVEPOINT {self._name}")

    async def rollback(self) -> None:
        await self._run(f"ROLLBACK TO SAVEPOINT {self._name}")
        await self._run(f"RELEASE SAVEPOINT {self._name}")

    async def _run(self, sql: str) -> None:
        # The mutex is free unless a cancelled statement is still running on the thread.
        async with self._adapted._execute_mutex:
            for observe in OBSERVERS:
                observe(sql)
            try:
                self._raw.execute(sql).close()
            except sqlite3.Error as err:
                raise exc.DBAPIError.instance(sql, None, err, sqlite3.Error) from None
