"""The message path's statements, run straight on the driver's connection (ADR 0010).

A :class:`Prepared` wraps a Core statement that every message runs (a point read, a
single-row write, a bounded range). SQLAlchemy's execution machinery around such a
statement — the execution context, the result set-up, the greenlet bridge — cost more CPU
than the statement itself, so inside a transaction the caller began it runs:

- on SQLite (``sqlite+bastion_aiosqlite``): on the event loop's thread, through the
  ``sqlite3`` connection itself (``sqlite_driver.raw_here``);
- on PostgreSQL (asyncpg): through asyncpg's prepared statement on the same connection
  and transaction SQLAlchemy uses (its statement cache included).

Anywhere else (no transaction yet, another statement in flight, another driver) it is
executed through SQLAlchemy as usual. Both ways compile the statement with SQLAlchemy
once per set of parameter names and convert values with the column types' own bind and
result processors, so rows carry the same fields and values (``tests/unit/storage/
test_prepared.py`` compares them); errors are SQLAlchemy's, without the parameters
(they hold sealed message text). Only for statements without expanding (``IN``)
parameters.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable

from bastion.storage.sqlite_driver import OBSERVERS, raw_here


class Prepared:
    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, frozenset[str]], _Plan] = {}

    async def rows(self, conn: AsyncConnection, params: dict[str, Any]) -> Sequence[Any]:
        """Every row the statement returns (none for a plain INSERT)."""
        if conn.in_transaction():
            raw = raw_here(conn)
            if raw is not None:
                return self._plan(conn.dialect, params).on_sqlite(raw, params)
            adapted = conn.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
            if isinstance(adapted, AsyncAdapt_asyncpg_connection):
                return await self._plan(conn.dialect, params).on_asyncpg(
                    adapted, conn.dialect, params
                )
        result = await conn.execute(self.statement, params)
        return result.all() if result.returns_rows else []

    async def first(self, conn: AsyncConnection, params: dict[str, Any]) -> Any | None:
        rows = await self.rows(conn, params)
        return rows[0] if rows else None

    def _plan(self, dialect: Dialect, params: dict[str, Any]) -> _Plan:
        key = (dialect.name, frozenset(params))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self.statement, dialect, key[1])
        return plan


class _Plan:
    """One compiled form of a statement: its SQL, parameter order and conversions."""

    __slots__ = ("_compiled", "_in", "_out", "_row", "sql")

    def __init__(self, statement: Executable, dialect: Dialect, keys: frozenset[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))  # type: ignore[attr-defined]
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("Prepared statements take no expanding parameters")
        self._compiled = compiled
        self.sql: str = compiled.string
        self._in = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]
        columns = list(getattr(statement, "exported_columns", ()))
        self._out = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self._row = collections.namedtuple("_Row", [c.key for c in columns], rename=True)  # type: ignore[misc]

    def _args(self, params: dict[str, Any]) -> list[Any]:
        values = self._compiled.construct_params(params)
        for observe in OBSERVERS:
            observe(self.sql)
        return [
            value if convert is None or value is None else convert(value)
            for name, convert in self._in
            for value in (values[name],)
        ]

    def _rows(self, fetched: Sequence[Sequence[Any]]) -> list[Any]:
        out, row = self._out, self._row
        return [
            row(*(v if f is None or v is None else f(v) for f, v in zip(out, r, strict=True)))
            for r in fetched
        ]

    def on_sqlite(self, raw: sqlite3.Connection, params: dict[str, Any]) -> list[Any]:
        args = self._args(params)
        try:
            cur = raw.execute(self.sql, args)
            fetched = cur.fetchall() if cur.description else []
            cur.close()
        except sqlite3.Error as err:
            raise exc.DBAPIError.instance(
                self.sql, None, err, sqlite3.Error, hide_parameters=True
            ) from None
        return self._rows(fetched)

    async def on_asyncpg(
        self, adapted: AsyncAdapt_asyncpg_connection, dialect: Dialect, params: dict[str, Any]
    ) -> list[Any]:
        """As SQLAlchemy's asyncpg cursor does it: under the connection's mutex, in the
        transaction it begins on first use, with its prepared-statement cache.
        """
        args = self._args(params)
        dbapi = dialect.loaded_dbapi
        try:
            async with adapted._execute_mutex:
                try:
                    if adapted._transaction is None:
                        await adapted._start_transaction()  # type: ignore[no-untyped-call]
                    statement, _ = await adapted._prepare(  # type: ignore[no-untyped-call]
                        self.sql,
                        dialect._invalidate_schema_cache_asof,  # type: ignore[attr-defined]
                    )
                    fetched = await statement.fetch(*args)
                except Exception as error:  # noqa: BLE001 - translated and raised, as SQLAlchemy does
                    adapted._handle_exception(error)
        except dbapi.Error as err:
            raise exc.DBAPIError.instance(
                self.sql, None, err, dbapi.Error, hide_parameters=True
            ) from None
        return self._rows(fetched)
