"""SQLite group commit (ADR 0006): many units, one durable commit, the same guarantees.

Each unit is acknowledged only after the commit that holds it; a failing unit is undone
alone; a failed group commit fails every unit in it; seqs and command ids stay exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from bastion.storage.db import Database
from tests.support.factories import make_world


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    d = Database(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    async with d.transaction(write=True) as conn:
        await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await conn.execute(
            text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id REFERENCES parent(id))")
        )
        await conn.execute(text("INSERT INTO parent (id) VALUES (1)"))
        await conn.commit()
    try:
        yield d
    finally:
        await d.dispose()


def count_commits(d: Database) -> list[int]:
    commits = [0]

    @event.listens_for(d.write_engine.sync_engine, "commit")
    def _on_commit(_conn: object) -> None:
        commits[0] += 1

    return commits


async def rows(d: Database) -> list[int]:
    async with d.transaction(write=False) as conn:
        return [r[0] for r in await conn.execute(text("SELECT id FROM child ORDER BY id"))]


async def insert(d: Database, child_id: int, *, fail: bool = False) -> None:
    async with d.unit(write=True) as unit:
        await unit.conn.execute(
            text("INSERT INTO child (id, parent_id) VALUES (:i, 1)"), {"i": child_id}
        )
        if fail:
            raise RuntimeError("the domain refused")
        await unit.commit()


async def test_concurrent_units_share_commits_and_are_durable_when_they_return(
    db: Database,
) -> None:
    commits = count_commits(db)
    await asyncio.gather(*(insert(db, i) for i in range(1, 41)))
    # Every unit returned: every row is committed (a fresh read connection sees them) ...
    assert await rows(db) == list(range(1, 41))
    # ... and they were committed in groups, not one commit each.
    assert 1 <= commits[0] < 40


async def test_a_failing_unit_is_undone_alone(db: Database) -> None:
    results = await asyncio.gather(
        insert(db, 1), insert(db, 2, fail=True), insert(db, 3), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RuntimeError)
    assert await rows(db) == [1, 3]


async def test_a_unit_left_without_commit_is_undone(db: Database) -> None:
    async with db.unit(write=True) as unit:
        await unit.conn.execute(text("INSERT INTO child (id, parent_id) VALUES (5, 1)"))
    await insert(db, 6)
    assert await rows(db) == [6]


async def test_a_failed_group_commit_fails_every_unit_in_it(db: Database) -> None:
    async def breaks_at_commit() -> None:
        # A deferred foreign key is only checked by COMMIT: the whole group fails there.
        async with db.unit(write=True) as unit:
            await unit.conn.execute(text("PRAGMA defer_foreign_keys=ON"))
            await unit.conn.execute(text("INSERT INTO child (id, parent_id) VALUES (10, 99)"))
            await unit.commit()

    results = await asyncio.gather(
        insert(db, 11), breaks_at_commit(), insert(db, 12), return_exceptions=True
    )
    assert all(isinstance(r, IntegrityError) for r in results), results
    assert await rows(db) == []
    # The writer recovers: the next unit commits normally.
    await insert(db, 13)
    assert await rows(db) == [13]


async def test_a_plain_write_transaction_commits_the_open_group_first(db: Database) -> None:
    pending = asyncio.gather(*(insert(db, i) for i in range(1, 6)))
    await asyncio.sleep(0)
    async with db.transaction(write=True) as conn:
        await conn.execute(text("INSERT INTO child (id, parent_id) VALUES (100, 1)"))
        await conn.commit()
    await pending
    assert await rows(db) == [1, 2, 3, 4, 5, 100]


async def test_seqs_and_command_ids_stay_exact_under_concurrent_sends(tmp_path: Path) -> None:
    world = await make_world(tmp_path)
    try:
        chat = world.svc.chat
        visitor = await world.visitor()
        conv = await world.start(visitor, message="first")
        commits = count_commits(world.svc.db)
        # 20 distinct commands plus each one delivered twice, all at once.
        sends = [
            chat.send_message(visitor, f"c{i % 20}", conv, f"message {i % 20}") for i in range(40)
        ]
        acks = await asyncio.gather(*sends)
        assert commits[0] < 40
        by_command: dict[str, set[tuple[str, int]]] = {}
        for i, ack in enumerate(acks):
            by_command.setdefault(f"c{i % 20}", set()).add((ack["message"], ack["seq"]))
        # A repeated command id returns the first delivery's message and seq.
        assert all(len(v) == 1 for v in by_command.values())
        frames, _ = await chat.events_after(visitor, conv, 0)
        msgs = [f for f in frames if f["t"] == "msg"]
        seqs = [f["seq"] for f in frames]
        assert seqs == list(range(1, len(frames) + 1))
        assert sorted(m["message"]["body"] for m in msgs[1:]) == sorted(
            f"message {i}" for i in range(20)
        )
    finally:
        await world.svc.db.dispose()
