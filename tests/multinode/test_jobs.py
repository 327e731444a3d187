"""Two real ``bastion serve`` nodes on one PostgreSQL database start their job loops at
the same moment: the retention purge runs once, with one audit entry and the right counts.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from tests.support.client import connect_agent, connect_visitor
from tests.support.postgres import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_database,
    drop_database,
    require_postgres,
)
from tests.support.server import AGENT_PASSWORD, Server


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, database name) of a fresh PostgreSQL database."""
    require_postgres()
    url, name = create_database()
    try:
        yield url, name
    finally:
        drop_database(name)


async def _sql(db: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=db)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def _closed_chats(node: Server, count: int) -> None:
    agent, _ = await connect_agent(node.base, "agent@example.com", AGENT_PASSWORD)
    for _ in range(count):
        visitor, _ = await connect_visitor(node.base, node.widget)
        conv = (await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
            "conversation"
        ]
        await visitor.cmd("msg.send", conversation=conv, body="an old question")
        await agent.cmd("conv.accept", conversation=conv)
        await agent.cmd("conv.close", conversation=conv)
        await visitor.close()
    await agent.close()


async def test_two_nodes_starting_together_purge_once(
    tmp_path: Path, database: tuple[str, str]
) -> None:
    url, db = database
    data = tmp_path / "data"
    data.mkdir()
    # First, chats to purge, made by a node with its jobs off.
    seed = Server(data_dir=data, database_url=url, extra_env={"BASTION_JOBS": "0"})
    try:
        seed.start()
        seed.create_user("agent@example.com", "agent", name="Jonas")
        await _closed_chats(seed, 3)
    finally:
        seed.stop()
    await _sql(db, "UPDATE conversations SET closed_at = closed_at - interval '40 days'")

    env = {"BASTION_RETENTION_DAYS": "30", "BASTION_JOBS_POLL_S": "1"}
    nodes = [Server(data_dir=data, database_url=url, extra_env=env) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: n.start(timeout=120), nodes))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if await _sql(db, "SELECT 1 FROM audit_log WHERE action = 'retention.purge'"):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(3)  # several more polls on both nodes: nothing else may happen
    finally:
        for node in nodes:
            node.stop()
    entries = await _sql(db, "SELECT details FROM audit_log WHERE action='retention.purge'")
    assert [json.loads(e["details"]) for e in entries] == [
        {"conversations": 3, "days": 30, "events": 12}
    ]
    assert await _sql(db, "SELECT id FROM conversations") == []
    runs = await _sql(db, "SELECT name, ok FROM job_runs ORDER BY name")
    assert [(r["name"], r["ok"]) for r in runs] == [
        ("audit.checkpoint", True),
        ("conversations.close_idle", True),
        ("conversations.release_unheld", True),
        ("files.sweep_orphans", True),
        ("retention.purge", True),
    ]


async def test_three_nodes_starting_together_on_an_empty_database(
    tmp_path: Path, database: tuple[str, str]
) -> None:
    """A new deployment's nodes all start at once, sharing one key directory: one
    migrates and makes the key, the owner and the default widget while the others wait
    (an advisory lock), then they find them made. None fails."""
    url, db = database
    env = {"BASTION_KEK_FILE": str(tmp_path / "keys" / "kek.key")}
    nodes = []
    for i in range(3):
        (tmp_path / f"node{i}").mkdir()
        nodes.append(Server(data_dir=tmp_path / f"node{i}", database_url=url, extra_env=env))
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda n: n.start(timeout=120), nodes))
        owners = await _sql(db, "SELECT email FROM users WHERE role = 'owner'")
        assert len(owners) == 1
        assert len(await _sql(db, "SELECT id FROM widgets")) == 1
        assert len({n.widget for n in nodes}) == 1
        logs = "".join(n.log_path.read_text() for n in nodes if n.log_path)
        assert logs.count("Created the owner account") == 1
        assert "Traceback" not in logs
    finally:
        for node in nodes:
            node.stop()
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["kek.key"]
