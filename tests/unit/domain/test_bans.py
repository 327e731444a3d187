from __future__ import annotations

import pytest

from bastion.domain.errors import Forbidden, InvalidInput, NotFound, Unavailable
from bastion.domain.models import Role
from tests.support.factories import World


async def test_a_banned_visitor_gets_the_neutral_answer_until_expiry(world: World) -> None:
    agent = await world.staff("agent@example.com")
    visitor = await world.visitor()
    ban = await world.svc.bans.ban(
        agent, visitor=visitor.visitor_id, ip=None, duration_s=3600, reason="spam"
    )
    assert (ban.actor_id, ban.reason, ban.target) == (agent.user_id, "spam", visitor.visitor_id)
    with pytest.raises(Unavailable) as err:
        await world.svc.bans.check_allowed(visitor_id=visitor.visitor_id, ip="192.0.2.1")
    assert err.value.code == "unavailable"
    assert "ban" not in err.value.message.lower()
    other = await world.visitor()
    await world.svc.bans.check_allowed(visitor_id=other.visitor_id, ip="192.0.2.1")
    world.clock.advance(seconds=3601)
    await world.svc.bans.check_allowed(visitor_id=visitor.visitor_id, ip="192.0.2.1")


async def test_ranges_match_addresses_and_lifting_ends_a_ban(world: World) -> None:
    agent = await world.staff("agent@example.com")
    ban = await world.svc.bans.ban(
        agent, visitor=None, ip="203.0.113.77/24", duration_s=600, reason="flood"
    )
    assert ban.target == "203.0.113.0/24"
    with pytest.raises(Unavailable):
        await world.svc.bans.check_allowed(ip="203.0.113.5")
    await world.svc.bans.check_allowed(ip="203.0.114.5")
    await world.svc.bans.check_allowed(ip="2001:db8::1")
    assert [b.id for b in await world.svc.bans.list_active(agent)] == [ban.id]
    await world.svc.bans.lift(agent, ban.id)
    await world.svc.bans.check_allowed(ip="203.0.113.5")
    assert await world.svc.bans.list_active(agent) == []
    with pytest.raises(NotFound):
        await world.svc.bans.lift(agent, ban.id)


async def test_ban_input_is_checked(world: World) -> None:
    agent = await world.staff("agent@example.com")
    bans = world.svc.bans
    with pytest.raises(InvalidInput):
        await bans.ban(agent, visitor=None, ip="10.0.0.0/8", duration_s=600, reason="too wide")
    with pytest.raises(InvalidInput):
        await bans.ban(agent, visitor=None, ip="not an ip", duration_s=600, reason="x")
    with pytest.raises(InvalidInput):
        await bans.ban(agent, visitor="v_1", ip="192.0.2.1", duration_s=600, reason="both")
    with pytest.raises(InvalidInput):
        await bans.ban(agent, visitor=None, ip="192.0.2.1", duration_s=5, reason="short")
    with pytest.raises(InvalidInput):
        await bans.ban(agent, visitor=None, ip="192.0.2.1", duration_s=600, reason="  ")
    with pytest.raises(NotFound):
        await bans.ban(agent, visitor="v_nobody", ip=None, duration_s=600, reason="x")


async def test_every_staff_role_may_ban(world: World) -> None:
    # visitors.ban is granted from agent up; the check is in the domain regardless.
    for i, role in enumerate(Role):
        actor = await world.staff(f"s{i}@example.com", role=role)
        await world.svc.bans.ban(actor, visitor=None, ip=f"192.0.2.{i}", duration_s=60, reason="r")


async def test_spam_is_throttled_in_send_message(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor)
    for _ in range(3):
        await world.svc.chat.send_message(visitor, None, conv, "buy now")
    from bastion.domain.errors import DuplicateMessage

    with pytest.raises(DuplicateMessage):
        await world.svc.chat.send_message(visitor, None, conv, "buy now")
    world.clock.advance(seconds=301)
    await world.svc.chat.send_message(visitor, None, conv, "buy now")


__all__ = ["Forbidden"]


async def test_bans_and_lifts_are_audited_with_the_ban(world: World) -> None:
    agent = await world.staff("agent@example.com")
    ban = await world.svc.bans.ban(
        agent, visitor=None, ip="198.51.100.9", duration_s=600, reason="link spam"
    )
    await world.svc.bans.lift(agent, ban.id)
    owner = await world.staff("owner@example.com", Role.OWNER)
    entries = await world.svc.auth.audit(owner, 10, "ban.")
    assert [(e.action, e.actor, e.target) for e in entries] == [
        ("ban.lift", agent.user_id, "network:198.51.100.9/32"),
        ("ban.create", agent.user_id, "network:198.51.100.9/32"),
    ]
    assert entries[1].details == {"reason": "link spam"}


async def test_another_node_sees_a_ban_and_a_lift_at_once_through_the_bus(world: World) -> None:
    """Each node checks against its own in-memory copy of the active bans; the bus
    message of a ban or a lift made on any node drops every copy."""
    from bastion.domain.bans import BanService

    other_node = BanService(world.svc.bans._uow, world.clock, bus=world.bus)
    agent = await world.staff("agent@example.com")
    visitor = await world.visitor()
    await other_node.check_allowed(visitor_id=visitor.visitor_id, ip="192.0.2.1")  # cached
    ban = await world.svc.bans.ban(
        agent, visitor=visitor.visitor_id, ip=None, duration_s=3600, reason="spam"
    )
    with pytest.raises(Unavailable):
        await other_node.check_allowed(visitor_id=visitor.visitor_id, ip="192.0.2.1")
    await world.svc.bans.lift(agent, ban.id)
    await other_node.check_allowed(visitor_id=visitor.visitor_id, ip="192.0.2.1")


async def test_a_ban_nobody_announced_holds_within_the_cache_time(world: World) -> None:
    """A lost bus message (or a ban by a process with no shared bus) is picked up once
    the node's copy is older than BAN_CACHE_S."""
    from bastion.domain.bans import BAN_CACHE_S, BanService

    quiet = BanService(world.svc.bans._uow, world.clock)  # no bus: hears nothing
    agent = await world.staff("agent@example.com")
    await quiet.check_allowed(ip="198.51.100.7")
    await world.svc.bans.ban(agent, visitor=None, ip="198.51.100.7", duration_s=600, reason="x")
    await quiet.check_allowed(ip="198.51.100.7")  # still its old copy
    world.clock.advance(seconds=BAN_CACHE_S)
    with pytest.raises(Unavailable):
        await quiet.check_allowed(ip="198.51.100.7")


async def test_spam_counts_messages_sent_through_another_node(world: World) -> None:
    """Each node keeps a conversation's recent messages between checks; a message written
    by another node moves the conversation's seq on, so the copy is read again."""
    from bastion.domain.conversations import ChatService
    from bastion.domain.errors import DuplicateMessage

    node_a = world.svc.chat
    node_b = ChatService(node_a._uow, world.clock, world.bus, limits=node_a._limits)
    visitor = await world.visitor()
    conv = await world.start(visitor)
    await node_a.send_message(visitor, None, conv, "buy now")
    await node_a.send_message(visitor, None, conv, "Buy  NOW")  # node A keeps both
    await node_b.send_message(visitor, None, conv, "buy now")
    with pytest.raises(DuplicateMessage):
        await node_a.send_message(visitor, None, conv, "buy now")
    await node_a.send_message(visitor, None, conv, "something else")


async def test_agents_ban_only_visitors_of_their_departments(world: World) -> None:
    """Banning closes the visitor's chats: an agent of another department may not, and is
    told the visitor does not exist (as for inviting them)."""
    admin, _sales, _billing, jonas, petras = await world.desks()
    visitor = await world.visitor()
    conv = await world.start(visitor)

    bans = world.svc.bans
    with pytest.raises(NotFound):
        await bans.ban(petras, visitor=visitor.visitor_id, ip=None, duration_s=600, reason="x")
    assert await bans.list_active(admin) == []
    # Transferred to Petras, the chat is his to see: then he may.
    await world.svc.chat.accept(jonas, None, conv)
    await world.svc.chat.transfer(jonas, None, conv, petras.user_id)
    ban = await bans.ban(petras, visitor=visitor.visitor_id, ip=None, duration_s=600, reason="x")
    await bans.lift(admin, ban.id)
    # His own department's agent, and a supervisor (sees every chat), may too.
    await bans.ban(jonas, visitor=visitor.visitor_id, ip=None, duration_s=600, reason="x")
    supervisor = await world.staff("sup@example.com", Role.SUPERVISOR, name="Sup")
    other = await world.visitor()
    await bans.ban(supervisor, visitor=other.visitor_id, ip=None, duration_s=600, reason="x")
