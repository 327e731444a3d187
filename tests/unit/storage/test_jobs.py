"""The job ledger on PostgreSQL: two nodes (two engines, one database) never run one
job at the same time, and racing retention purges delete and audit once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bastion.domain.models import ConvState, Role
from bastion.services import build_services
from bastion.storage.jobs import SqlJobLedger, lock_key
from bastion.transport.context import Services
from tests.support.factories import RecordingBus, World, make_world
from tests.support.postgres import create_database, drop_database, require_postgres
from tests.unit.domain.test_retention import closed_chat


@pytest.fixture
async def two_nodes(tmp_path: Path) -> AsyncIterator[tuple[World, Services]]:
    await asyncio.to_thread(require_postgres)
    url, name = await asyncio.to_thread(create_database)
    world = await make_world(tmp_path, BASTION_DATABASE_URL=url, BASTION_RETENTION_DAYS="30")
    # A second node: its own engine and pool on the same database, the same clock.
    other = build_services(world.svc.settings, clock=world.clock, bus=RecordingBus())
    try:
        yield world, other
    finally:
        await other.db.dispose()
        await world.svc.db.dispose()
        await asyncio.to_thread(drop_database, name)


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("retention.purge") == lock_key("retention.purge")
    assert lock_key("retention.purge") != lock_key("conversations.close_idle")
    assert -(2**63) <= lock_key("x") < 2**63


async def test_a_held_job_is_refused_to_another_node_at_once(
    two_nodes: tuple[World, Services],
) -> None:
    world, other = two_nodes
    a, b = SqlJobLedger(world.svc.db), SqlJobLedger(other.db)
    tiny = timedelta(microseconds=1)  # due again at once: only the lock can refuse
    now = world.clock.now()
    async with a.claim("test.held", tiny, now) as due_a:
        assert due_a is True
        later = now + timedelta(seconds=1)
        async with asyncio.timeout(5), b.claim("test.held", tiny, later) as due_b:
            assert due_b is False
        await a.finish("test.held", now, None)
    async with b.claim("test.held", tiny, now + timedelta(seconds=2)) as due_b:
        assert due_b is True


async def test_two_nodes_racing_purge_once(two_nodes: tuple[World, Services]) -> None:
    world, other = two_nodes
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await world.staff("agent@example.com")
    for _ in range(3):
        await closed_chat(world, agent)
    world.clock.advance(days=31)
    rounds = []
    for _ in range(3):  # the race, a few times over: who wins varies, the outcome may not
        rounds.append(await asyncio.gather(world.svc.jobs.tick(), other.jobs.tick()))
        world.clock.advance(seconds=1)
    purge_runs = [names for pair in rounds for names in pair if "retention.purge" in names]
    assert len(purge_runs) == 1
    entries = await world.svc.auth.audit(admin, 50, "retention.purge")
    assert [e.details for e in entries] == [{"days": 30, "conversations": 3, "events": 15}]
    assert await world.svc.chat.summaries_for_staff(admin, ConvState.CLOSED) == []
