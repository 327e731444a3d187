"""SQLAlchemy's aiosqlite dialect with one thread hand-off per statement instead of four.

Each aiosqlite connection runs SQLite on its own thread; every call on it (open a cursor,
execute, fetch, close) is one hand-off to that thread and one wake-up of the event loop
back. SQLAlchemy's adapter makes four such calls per statement, and at chat rates the
hand-offs, not SQLite, were most of a node's CPU (docs/decisions/0008). Here a statement is
one function run on the connection's thread: execute, fetch every row, close the cursor,
and hand back the rows with the cursor's description, row count and last row id.

Registered as ``sqlite+bastion_aiosqlite``; :func:`one_hop_url` turns an
``sqlite+aiosqlite`` URL into it. Depends on aiosqlite's ``Connection._execute`` and
``_conn`` and on SQLAlchemy's ``AsyncAdapt_dbapi_cursor`` hooks; both are pinned, and the
storage tests run every query through this dialect.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

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
from sqlalchemy.sql.base import Executable
from sqlalchemy.util.concurrency import await_

DRIVER = "bastion_aiosqlite"

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


class Prepared:
    """A Core statement of the message path, run straight on the SQLite connection.

    On the ``sqlite+bastion_aiosqlite`` dialect, inside a transaction the caller began, the
    statement runs on the event loop's thread through the ``sqlite3`` connection itself:
    compiled once per set of parameter names, parameters and results converted by the
    column types' own processors, rows returned as named tuples. This skips SQLAlchemy's
    per-execution machinery (execution context, result set-up, the greenlet bridge), which
    was most of the CPU of a short statement (docs/decisions/0010). Anywhere else (other
    dialects, no transaction, another statement in flight on the connection) it is
    executed through SQLAlchemy as usual; both paths return rows with the same fields.

    Only for short indexed statements without expanding (``IN``) parameters: the event
    loop waits for them.
    """

    __slots__ = ("_plans", "statement")

    # Called with each statement's text when it runs here (the benchmark's counter).
    observers: ClassVar[list[Callable[[str], None]]] = []

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[frozenset[str], _Plan] = {}

    async def rows(self, conn: AsyncConnection, params: dict[str, Any]) -> Sequence[Any]:
        """Every row the statement returns (none for a plain INSERT)."""
        raw = _raw_here(conn)
        if raw is None:
            result = await conn.execute(self.statement, params)
            return result.all() if result.returns_rows else []
        keys = frozenset(params)
        plan = self._plans.get(keys)
        if plan is None:
            plan = self._plans[keys] = _Plan(self.statement, conn.dialect, keys)
        return plan.run(raw, params)

    async def first(self, conn: AsyncConnection, params: dict[str, Any]) -> Any | None:
        rows = await self.rows(conn, params)
        return rows[0] if rows else None


def _raw_here(conn: AsyncConnection) -> sqlite3.Connection | None:
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
        raw = _raw_here(conn)
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
            for observe in Prepared.observers:
                observe(sql)
            try:
                self._raw.execute(sql).close()
            except sqlite3.Error as err:
                raise exc.DBAPIError.instance(sql, None, err, sqlite3.Error) from None


class _Plan:
    """One compiled form of a statement: its SQL, parameter order and conversions."""

    __slots__ = ("_compiled", "_in", "_out", "_row", "_sql")

    def __init__(self, statement: Executable, dialect: Any, keys: frozenset[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))  # type: ignore[attr-defined]
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("Prepared statements take no expanding parameters")
        self._compiled = compiled
        self._sql: str = compiled.string
        self._in = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]
        columns = list(getattr(statement, "exported_columns", ()))
        self._out = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self._row = collections.namedtuple("_Row", [c.key for c in columns], rename=True)  # type: ignore[misc]

    def run(self, raw: sqlite3.Connection, params: dict[str, Any]) -> list[Any]:
        values = self._compiled.construct_params(params)
        args = [
            value if convert is None or value is None else convert(value)
            for name, convert in self._in
            for value in (values[name],)
        ]
        for observe in Prepared.observers:
            observe(self._sql)
        try:
            cur = raw.execute(self._sql, args)
            fetched = cur.fetchall() if cur.description else []
            cur.close()
        except sqlite3.Error as err:
            # Parameters are never part of the error (they hold sealed message text).
            raise exc.DBAPIError.instance(
                self._sql, None, err, sqlite3.Error, hide_parameters=True
            ) from None
        out, row = self._out, self._row
        return [
            row(*(v if f is None or v is None else f(v) for f, v in zip(out, r, strict=True)))
            for r in fetched
        ]
