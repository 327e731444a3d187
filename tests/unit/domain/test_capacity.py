"""Agent capacity: accept and transfer refuse past ``max_chats``, race-free (both engines)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update

from bastion.domain.errors import AtCapacity, InvalidState
from bastion.domain.models import Role
from bastion.storage import tables as t
from tests.support.factories import World
from tests.unit.conftest import engine_world

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["sqlite", "postgres"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """A world whose agents may hold two active chats each."""
    async for w in engine_world(request.param, tmp_path, {"BASTION_AGENT_MAX_CHATS": "2"}):
        yield w


async def _waiting(world: World, n: int) -> list[str]:
    return [await world.start(await world.visitor()) for _ in range(n)]


async def test_accept_refuses_past_the_default_capacity(world: World) -> None:
    agent = await world.staff("cap@example.com")
    c1, c2, c3 = await _waiting(world, 3)
    await world.svc.chat.accept(agent, None, c1)
    await world.svc.chat.accept(agent, None, c2)
    with pytest.raises(AtCapacity) as err:
        await world.svc.chat.accept(agent, None, c3)
    assert err.value.code == "at_capacity"
    # Closing one frees a place.
    await world.svc.chat.close(agent, None, c1)
    await world.svc.chat.accept(agent, None, c3)


async def test_a_per_agent_limit_overrides_the_default(world: World) -> None:
    agent = await world.staff("one@example.com")
    async with world.svc.db.transaction(write=True) as conn:
        await conn.execute(update(t.users).where(t.users.c.id == agent.user_id).values(max_chats=1))
        await conn.commit()
    c1, c2 = await _waiting(world, 2)
    await world.svc.chat.accept(agent, None, c1)
    with pytest.raises(AtCapacity):
        await world.svc.chat.accept(agent, None, c2)


async def test_transfer_refuses_an_agent_at_capacity(world: World) -> None:
    busy = await world.staff("busy@example.com", name="Busy")
    free = await world.staff("free@example.com", name="Free")
    c1, c2, c3 = await _waiting(world, 3)
    await world.svc.chat.accept(busy, None, c1)
    await world.svc.chat.accept(busy, None, c2)
    await world.svc.chat.accept(free, None, c3)
    with pytest.raises(AtCapacity):
        await world.svc.chat.transfer(free, None, c3, busy.user_id)


async def test_concurrent_accepts_never_exceed_capacity(world: World) -> None:
    """Many accepts at once, on separate connections: the row lock serialises counting."""
    agents = [await world.staff(f"race{i}@example.com", name=f"R{i}") for i in range(2)]
    supervisor = await world.staff("sup@example.com", role=Role.OWNER, name="Sup")
    convs = await _waiting(world, 8)
    results = await asyncio.gather(
        *(world.svc.chat.accept(a, None, c) for c in convs for a in agents),
        return_exceptions=True,
    )
    assert all(isinstance(r, dict | AtCapacity | InvalidState) for r in results), results
    wins = [r for r in results if isinstance(r, dict)]
    assert len(wins) == 4  # two agents, two chats each
    seen = await world.svc.chat.summaries_for_staff(supervisor)
    per_agent: dict[str, int] = {}
    for summary in seen:
        if summary["state"] == "active":
            agent_id = summary["agent"]["id"]
            per_agent[agent_id] = per_agent.get(agent_id, 0) + 1
    assert per_agent == {a.user_id: 2 for a in agents}
    assert {w["conversation"] for w in wins} == {s["id"] for s in seen if s["state"] == "active"}
