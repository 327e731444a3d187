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
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.engine import make_url
from sqlalchemy.util.concurrency import await_

DRIVER = "bastion_aiosqlite"


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


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")


def one_hop_url(url: str) -> str:
    """``sqlite+aiosqlite:///…`` → the same database through this dialect."""
    parsed = make_url(url)
    if parsed.drivername != "sqlite+aiosqlite":
        return url
    return parsed.set(drivername=f"sqlite+{DRIVER}").render_as_string(hide_password=False)
