"""Idle chats close themselves: no message from either side for the set minutes."""

from __future__ import annotations

from datetime import timedelta

from bastion.domain.models import ConvState, Role
from bastion.domain.principals import StaffPrincipal
from tests.support.factories import World

IDLE = timedelta(minutes=30)


async def state(world: World, conv: str) -> ConvState:
    owner = StaffPrincipal(user_id="u_reader", name="Reader", role=Role.OWNER)
    return (await world.svc.chat.get_conversation(owner, conv)).state


async def test_silent_chats_close_and_talking_ones_stay_open(world: World) -> None:
    chat = world.svc.chat
    agent = await world.staff("agent@example.com")
    visitor = await world.visitor()
    silent = await world.start(visitor, message="hello?")
    talking_visitor = await world.visitor()
    talking = await world.start(talking_visitor, message="hi")
    await chat.accept(agent, None, talking)
    waiting = await world.start(await world.visitor())

    world.clock.advance(minutes=20)
    await chat.send_message(talking_visitor, None, talking, "still here")
    world.clock.advance(minutes=11)
    assert await chat.close_idle(IDLE) == {"closed": 2}
    assert await state(world, silent) is ConvState.CLOSED
    assert await state(world, waiting) is ConvState.CLOSED
    assert await state(world, talking) is ConvState.ACTIVE

    # An agent's reply restarts the visitor's silence.
    world.clock.advance(minutes=15)
    await chat.send_message(agent, None, talking, "anything else?")
    world.clock.advance(minutes=20)
    assert await chat.close_idle(IDLE) == {"closed": 0}
    world.clock.advance(minutes=11)
    assert await chat.close_idle(IDLE) == {"closed": 1}
    assert await state(world, talking) is ConvState.CLOSED

    # The visitor is told, with the reason, like any close.
    frames, _ = await chat.events_after(visitor, silent, 0)
    assert frames[-1]["t"] == "conv.state" and frames[-1]["state"] == "closed"
    closes = [
        m["event"]["data"]
        for ch, m in world.bus.published
        if ch == f"conv:{silent}" and m.get("type") == "event"
    ]
    assert closes[-1]["closed_by"] == "idle"


async def test_the_idle_job_runs_through_the_runner(world: World) -> None:
    conv = await world.start(await world.visitor(), message="hello")
    assert "conversations.close_idle" in await world.svc.jobs.tick()
    assert await state(world, conv) is ConvState.WAITING
    world.clock.advance(minutes=31)
    assert "conversations.close_idle" in await world.svc.jobs.tick()
    assert await state(world, conv) is ConvState.CLOSED
