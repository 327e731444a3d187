"""Chats never stay with someone who cannot answer them: locking an agent, or taking
chat.handle away from them, puts their active chats back in the queue; banning a visitor
closes the visitor's open chats."""

from __future__ import annotations

from typing import Any

from bastion.domain.events import render_event
from bastion.domain.models import ConvState, Role
from bastion.domain.principals import StaffPrincipal
from tests.support.factories import World

OWNER = StaffPrincipal(user_id="u_reader", name="Reader", role=Role.OWNER)


async def conv_of(world: World, conv: str) -> tuple[ConvState, str | None]:
    c = await world.svc.chat.get_conversation(OWNER, conv)
    return c.state, c.agent_id


async def last_state_frame(world: World, actor: Any, conv: str) -> dict[str, Any]:
    frames, _ = await world.svc.chat.events_after(actor, conv, 0)
    return [f for f in frames if f["t"] == "conv.state"][-1]


async def test_locking_an_agent_puts_their_chats_back_in_the_queue(world: World) -> None:
    chat = world.svc.chat
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Ada")
    leaving = await world.staff("leaving@example.com", name="Jonas")
    other = await world.staff("other@example.com", name="Ona")
    visitor = await world.visitor()
    first = await world.start(visitor, message="hello")
    await chat.accept(leaving, None, first)
    await chat.send_message(leaving, None, first, "hi, how can I help?")
    world.clock.advance(seconds=1)  # the queue is in order of arrival
    second = await world.start(await world.visitor(), message="hi")
    await chat.accept(leaving, None, second)
    others = await world.start(await world.visitor(), message="hey")
    await chat.accept(other, None, others)
    world.clock.advance(seconds=1)
    newer = await world.start(await world.visitor(), message="waiting already")

    await world.svc.staff.set_disabled(admin, leaving.user_id, True)

    assert await conv_of(world, first) == (ConvState.WAITING, None)
    assert await conv_of(world, second) == (ConvState.WAITING, None)
    assert await conv_of(world, others) == (ConvState.ACTIVE, other.user_id)
    # The visitor is told their chat goes on with the next agent; history is kept.
    seen = await last_state_frame(world, visitor, first)
    assert seen["state"] == "waiting" and seen["reason"] == "requeued"
    assert seen["agent"] is None
    frames, _ = await chat.events_after(visitor, first, 0)
    assert "hi, how can I help?" in [f["message"]["body"] for f in frames if f["t"] == "msg"]
    # They wait ahead of a chat that started after theirs, and the queue is re-announced.
    queued = [(ch, m["position"]) for ch, m in world.bus.published if m.get("type") == "queue"]
    assert (f"conv:{first}", 1) in queued and (f"conv:{newer}", 3) in queued
    staff_notices = [
        m for ch, m in world.bus.published if ch == "staff" and m.get("conversation") == first
    ]
    assert staff_notices[-1]["state"] == "waiting" and staff_notices[-1]["agent_id"] is None

    # Another agent takes it from the queue and sees everything said so far.
    await chat.accept(other, None, first)
    assert await conv_of(world, first) == (ConvState.ACTIVE, other.user_id)
    frames, _ = await chat.events_after(other, first, 0)
    assert [f["message"]["body"] for f in frames if f["t"] == "msg"] == [
        "hello",
        "hi, how can I help?",
    ]


async def test_unlocking_or_changing_a_role_that_still_handles_chats_keeps_them(
    world: World,
) -> None:
    chat = world.svc.chat
    admin = await world.staff("admin@example.com", Role.ADMIN)
    agent = await world.staff("agent@example.com")
    conv = await world.start(await world.visitor(), message="hello")
    await chat.accept(agent, None, conv)

    await world.svc.staff.set_role(admin, agent.user_id, Role.SUPERVISOR)
    assert await conv_of(world, conv) == (ConvState.ACTIVE, agent.user_id)
    await world.svc.staff.set_disabled(admin, agent.user_id, False)
    assert await conv_of(world, conv) == (ConvState.ACTIVE, agent.user_id)


async def test_a_role_without_chat_handle_gives_the_chats_back(world: World) -> None:
    chat = world.svc.chat
    admin = await world.staff("admin@example.com", Role.ADMIN)
    await world.svc.roles.create(admin, "reviewer", ["chat.view_all"])
    await world.svc.roles.create(admin, "helper", ["chat.handle"])
    moved = await world.staff("moved@example.com")
    helper = await world.staff("helper@example.com", "helper")
    one = await world.start(await world.visitor(), message="one")
    two = await world.start(await world.visitor(), message="two")
    await chat.accept(moved, None, one)
    await chat.accept(helper, None, two)

    # A user moved to a role that cannot take chats.
    await world.svc.staff.set_role(admin, moved.user_id, "reviewer")
    assert await conv_of(world, one) == (ConvState.WAITING, None)
    # A custom role that loses chat.handle: every holder's chats go back.
    await world.svc.roles.update(admin, "helper", ["chat.view_all"])
    assert await conv_of(world, two) == (ConvState.WAITING, None)


async def test_the_backstop_job_requeues_what_a_stopped_process_left(world: World) -> None:
    chat = world.svc.chat
    agent = await world.staff("agent@example.com")
    kept = await world.staff("kept@example.com")
    conv = await world.start(await world.visitor(), message="hello")
    await chat.accept(agent, None, conv)
    other = await world.start(await world.visitor(), message="hello")
    await chat.accept(kept, None, other)
    # The lock committed, but the process stopped before the chats moved.
    async with world.svc.chat._uow() as uow:
        await uow.users.set_disabled(agent.user_id, True)
        await uow.commit()
    assert await conv_of(world, conv) == (ConvState.ACTIVE, agent.user_id)

    assert "conversations.release_unheld" in await world.svc.jobs.tick()
    assert await conv_of(world, conv) == (ConvState.WAITING, None)
    assert await conv_of(world, other) == (ConvState.ACTIVE, kept.user_id)
    assert await chat.release_unheld() == {"requeued": 0}


async def test_a_transfer_that_won_is_not_undone_by_a_requeue(world: World) -> None:
    chat = world.svc.chat
    agent = await world.staff("agent@example.com")
    other = await world.staff("other@example.com")
    conv = await world.start(await world.visitor(), message="hello")
    await chat.accept(agent, None, conv)
    async with world.svc.chat._uow() as uow:
        # Compare-and-set on the holder: the chat is no longer ``other``'s to give back.
        moved = await uow.conversations.transition(
            conv,
            from_states=(ConvState.ACTIVE,),
            to_state=ConvState.WAITING,
            agent_id=None,
            at=world.clock.now(),
            held_by=other.user_id,
        )
        assert moved is False
    assert await conv_of(world, conv) == (ConvState.ACTIVE, agent.user_id)


async def test_banning_a_visitor_closes_their_open_chat(world: World) -> None:
    chat = world.svc.chat
    agent = await world.staff("agent@example.com")
    visitor = await world.visitor()
    conv = await world.start(visitor, message="buy cheap pills")
    await chat.accept(agent, None, conv)
    bystander = await world.start(await world.visitor(), message="hello")

    await world.svc.bans.ban(
        agent, visitor=visitor.visitor_id, ip=None, duration_s=3600, reason="spam"
    )

    assert (await conv_of(world, conv))[0] is ConvState.CLOSED
    assert (await conv_of(world, bystander))[0] is ConvState.WAITING
    staff_view = await last_state_frame(world, agent, conv)
    assert staff_view["state"] == "closed" and staff_view["reason"] == "banned"
    # The agent's console hears of it like any close.
    notices = [
        m for ch, m in world.bus.published if ch == "staff" and m.get("conversation") == conv
    ]
    assert notices[-1]["state"] == "closed"


async def test_a_visitor_is_not_told_they_were_banned(world: World) -> None:
    agent = await world.staff("agent@example.com")
    visitor = await world.visitor()
    conv = await world.start(visitor, message="hello")
    await world.svc.bans.ban(
        agent, visitor=visitor.visitor_id, ip=None, duration_s=3600, reason="abuse"
    )
    async with world.svc.chat._uow(write=False) as uow:
        events = await uow.events.after(conv, 0, 100)
    assert events[-1].data["closed_by"] == "banned"
    # Rendered for the visitor (their socket is closed by the ban anyway): no reason.
    frame = render_event(events[-1], staff=False)
    assert frame is not None and frame["state"] == "closed" and "reason" not in frame
    staff_frame = render_event(events[-1], staff=True)
    assert staff_frame is not None and staff_frame["reason"] == "banned"
