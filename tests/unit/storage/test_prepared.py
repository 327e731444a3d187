"""The message path's statements straight on the driver's connection (ADR 0010).

``Prepared`` must return what SQLAlchemy returns for the same statement (names, types,
NULLs) on SQLite and PostgreSQL, run straight on the connection only inside a transaction
(on SQLite: on the event loop's thread), fall back to SQLAlchemy anywhere else, and raise
SQLAlchemy's errors without the parameters in them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bastion.storage.db import Database
from bastion.storage.prepared import Prepared
from bastion.storage.sqlite_driver import OBSERVERS
from tests.support.postgres import create_database, drop_database, require_postgres

meta = MetaData()
things = Table(
    "things",
    meta,
    Column("id", String(10), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("on", Boolean, nullable=False),
    Column("at", DateTime(timezone=True)),
    Column("note", String(50)),
)

BY_ID = Prepared(select(things).where(things.c.id == bindparam("id")))
BUMP = Prepared(
    update(things)
    .where(things.c.id == bindparam("tid"))
    .values(n=things.c.n + 1)
    .returning(things.c.n, things.c.at)
)
ADD = Prepared(insert(things))
THREAD = Prepared(select(func.thread_id().label("thread")))


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    name = None
    if request.param == "postgres":
        await asyncio.to_thread(require_postgres)
        url, name = await asyncio.to_thread(create_database)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    d = Database(url)
    async with d.transaction(write=True) as conn:
        await conn.run_sync(meta.create_all)
        await conn.commit()
    try:
        yield d
    finally:
        await d.dispose()
        if name is not None:
            await asyncio.to_thread(drop_database, name)


@pytest.fixture
def straight() -> Iterator[list[str]]:
    """The statements that ran straight on the driver's connection."""
    seen: list[str] = []
    OBSERVERS.append(seen.append)
    try:
        yield seen
    finally:
        OBSERVERS.remove(seen.append)


AT = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)


async def test_rows_match_what_sqlalchemy_returns(db: Database, straight: list[str]) -> None:
    async with db.unit(write=True) as unit:
        await ADD.rows(unit.conn, {"id": "a", "n": 1, "on": True, "at": AT, "note": None})
        await ADD.rows(unit.conn, {"id": "b", "n": 7, "on": False, "at": None, "note": "x"})
        await unit.commit()
    async with db.transaction(write=False) as conn:
        for thing in ("a", "b"):
            fast = await BY_ID.first(conn, {"id": thing})
            slow = (await conn.execute(BY_ID.statement, {"id": thing})).first()
            assert fast is not None and slow is not None
            assert tuple(fast) == tuple(slow)
            assert fast._fields == tuple(slow._fields)
        a = await BY_ID.first(conn, {"id": "a"})
        assert a.on is True and a.n == 1 and a.note is None
        assert a.at.replace(tzinfo=UTC) == AT  # SQLite keeps no offset; the repo adds UTC
        assert await BY_ID.first(conn, {"id": "absent"}) is None
    assert any(sql.startswith("INSERT INTO things") for sql in straight)
    assert sum(sql.startswith("SELECT") for sql in straight) == 4  # not the SQLAlchemy ones


async def test_update_returning_and_literal_parameters(db: Database) -> None:
    async with db.unit(write=True) as unit:
        await ADD.rows(unit.conn, {"id": "a", "n": 1, "on": True, "at": AT, "note": None})
        (first,) = await BUMP.rows(unit.conn, {"tid": "a"})
        (second,) = await BUMP.rows(unit.conn, {"tid": "a"})
        assert (first.n, second.n) == (2, 3)
        assert second.at.replace(tzinfo=UTC) == AT
        assert await BUMP.rows(unit.conn, {"tid": "absent"}) == []
        await unit.commit()


async def test_runs_straight_only_inside_a_transaction(db: Database, straight: list[str]) -> None:
    async with db.read_engine.connect() as conn:
        # No transaction begun: SQLAlchemy runs it (and begins one); then straight.
        assert await BY_ID.first(conn, {"id": "a"}) is None
        assert straight == []
        assert conn.in_transaction()
        assert await BY_ID.first(conn, {"id": "a"}) is None
        assert len(straight) == 1


async def test_on_sqlite_it_runs_on_the_event_loop_thread(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    loop_thread = threading.get_ident()
    async with db.read_engine.connect() as conn:
        await conn.run_sync(
            lambda sync: sync.connection.driver_connection._conn.create_function(
                "thread_id", 0, threading.get_ident
            )
        )
        # No transaction begun: SQLAlchemy runs it (and begins one), on the driver's thread.
        (outside,) = await THREAD.rows(conn, {})
        assert conn.in_transaction()
        (inside,) = await THREAD.rows(conn, {})
    await db.dispose()
    assert outside.thread != loop_thread
    assert inside.thread == loop_thread


async def test_errors_are_sqlalchemy_errors_without_parameters(db: Database) -> None:
    secret = "4111 1111 1111 1111 secret text"
    async with db.unit(write=True) as unit:
        await ADD.rows(unit.conn, {"id": "a", "n": 1, "on": True, "at": AT, "note": secret})
        await unit.commit()
    async with db.unit(write=True) as unit:
        with pytest.raises(IntegrityError) as caught:
            await ADD.rows(unit.conn, {"id": "a", "n": 2, "on": True, "at": AT, "note": secret})
    assert secret not in str(caught.value)
    assert "unique" in str(caught.value.orig).lower()
    async with db.transaction(write=False) as conn:
        kept = await BY_ID.first(conn, {"id": "a"})
    assert kept is not None and kept.n == 1


async def test_a_failing_unit_is_undone_by_its_savepoint_and_the_group_goes_on(
    db: Database,
) -> None:
    async def add(thing: str, *, fail: bool) -> None:
        async with db.unit(write=True) as unit:
            await ADD.rows(unit.conn, {"id": thing, "n": 1, "on": True, "at": None, "note": None})
            if fail:
                raise RuntimeError("the domain refused")
            await unit.commit()

    with pytest.raises(RuntimeError):
        await add("undone", fail=True)
    await add("kept", fail=False)
    async with db.transaction(write=False) as conn:
        assert await BY_ID.first(conn, {"id": "undone"}) is None
        assert await BY_ID.first(conn, {"id": "kept"}) is not None
        in_db = [r.id for r in await conn.execute(select(things.c.id))]
    assert in_db == ["kept"]
