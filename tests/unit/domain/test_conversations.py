"""Conversation lifecycle, seq assignment, idempotency and access rules (real SQLite)."""

from __future__ import annotations

import asyncio

import pytest

from bastion.domain.errors import (
    ConsentRequired,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
)
from bastion.domain.models import Role
from tests.support.factories import World


async def test_lifecycle_waiting_active_closed_with_gap_free_seqs(world: World) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    agent = await world.staff("jonas@example.com")
    conv = await world.start(visitor, fields={"name": "Ona"}, message="Hello")

    sent = await chat.send_message(visitor, None, conv, "Are you there?")
    assert sent["seq"] == 3  # 1 = waiting state, 2 = first message
    accepted = await chat.accept(agent, None, conv)
    assert accepted == {"conversation": conv, "state": "active", "seq": 4}
    reply = await chat.send_message(agent, None, conv, "Yes!")
    assert reply["seq"] == 5
    closed = await chat.close(agent, None, conv)
    assert closed["state"] == "closed" and closed["seq"] == 6

    frames, last = await chat.events_after(agent, conv, 0)
    assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5, 6]
    assert last == 6
    assert [f["t"] for f in frames] == [
        "conv.state",
        "msg",
        "msg",
        "conv.state",
        "msg",
        "conv.state",
    ]
    assert frames[1]["message"]["author"]["name"] == "Ona"
    # A later message by the visitor names them too (read with the name alone).
    assert frames[2]["message"]["author"]["name"] == "Ona"
    assert frames[3]["agent"]["name"] == "Jonas"

    with pytest.raises(InvalidState):
        await chat.send_message(visitor, None, conv, "too late")
    with pytest.raises(InvalidState):
        await chat.close(agent, None, conv)


async def test_an_invitation_to_a_visitor_already_chatting_is_refused(world: World) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    agent = await world.staff("jonas@example.com")
    assert await chat.invite(agent, visitor.visitor_id, "Can I help?") == {
        "visitor": visitor.visitor_id
    }
    conv = await world.start(visitor)
    # The widget shows invitations only outside a chat: say so instead of "sent".
    with pytest.raises(InvalidState, match="already in a chat"):
        await chat.invite(agent, visitor.visitor_id, "Can I help?")
    await chat.accept(agent, None, conv)
    await chat.close(agent, None, conv)
    await chat.invite(agent, visitor.visitor_id, "Anything else?")


async def test_concurrent_sends_get_unique_consecutive_seqs(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor)
    results = await asyncio.gather(
        *(world.svc.chat.send_message(visitor, None, conv, f"m{i}") for i in range(25))
    )
    seqs = sorted(r["seq"] for r in results)
    assert seqs == list(range(2, 27))


async def test_same_command_id_returns_first_result_and_stores_once(world: World) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    conv = await world.start(visitor)
    first = await chat.send_message(visitor, "cmd-1", conv, "once")
    again = await chat.send_message(visitor, "cmd-1", conv, "once")
    assert again == first
    # Even with a different body, the id decides: the first result stands.
    third = await chat.send_message(visitor, "cmd-1", conv, "something else")
    assert third == first
    frames, _ = await chat.events_after(visitor, conv, 0)
    assert [f["message"]["body"] for f in frames if f["t"] == "msg"] == ["once"]


async def test_command_ids_are_scoped_to_their_sender(world: World) -> None:
    chat = world.svc.chat
    a, b = await world.visitor(), await world.visitor()
    ca, cb = await world.start(a), await world.start(b)
    ra = await chat.send_message(a, "shared-id", ca, "from a")
    rb = await chat.send_message(b, "shared-id", cb, "from b")
    assert ra["message"] != rb["message"]


async def test_concurrent_accepts_have_exactly_one_winner(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor)
    agents = [await world.staff(f"a{i}@example.com", name=f"A{i}") for i in range(4)]
    results = await asyncio.gather(
        *(world.svc.chat.accept(a, None, conv) for a in agents), return_exceptions=True
    )
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, InvalidState)]
    assert len(wins) == 1 and len(losses) == 3


async def test_failed_command_publishes_nothing(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor)
    world.bus.published.clear()
    with pytest.raises(InvalidInput):
        await world.svc.chat.send_message(visitor, None, conv, "   ")
    agent = await world.staff("x@example.com")
    with pytest.raises(InvalidState):
        await world.svc.chat.send_message(agent, None, conv, "not accepted yet")
    assert world.bus.published == []


async def test_events_are_published_after_commit_with_their_seq(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor)
    world.bus.published.clear()
    sent = await world.svc.chat.send_message(visitor, None, conv, "hi")
    events = [m for ch, m in world.bus.published if ch == f"conv:{conv}" and m["type"] == "event"]
    assert [e["event"]["seq"] for e in events] == [sent["seq"]]


async def test_visitors_reach_only_their_own_conversations(world: World) -> None:
    owner, stranger = await world.visitor(), await world.visitor()
    conv = await world.start(owner)
    with pytest.raises(NotFound):
        await world.svc.chat.send_message(stranger, None, conv, "intrude")
    with pytest.raises(NotFound):
        await world.svc.chat.events_after(stranger, conv, 0)


async def test_agents_cannot_touch_a_colleagues_chat_but_supervisors_can(world: World) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    conv = await world.start(visitor)
    jonas = await world.staff("jonas@example.com")
    petras = await world.staff("petras@example.com", name="Petras")
    boss = await world.staff("boss@example.com", Role.SUPERVISOR, name="Boss")
    await chat.accept(jonas, None, conv)
    with pytest.raises(NotFound):  # an active chat of someone else is out of an agent's view
        await chat.send_message(petras, None, conv, "hi")
    frames, _ = await chat.events_after(boss, conv, 0)
    assert frames
    await chat.transfer(boss, None, conv, petras.user_id)
    reply = await chat.send_message(petras, None, conv, "I'll take it from here")
    assert reply["seq"] > 0
    with pytest.raises(Forbidden):  # Jonas may still read it for a while, not write
        await chat.send_message(jonas, None, conv, "still mine?")


async def test_agent_access_is_time_bound_and_reopening_needs_a_reason(world: World) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    conv = await world.start(visitor)
    jonas = await world.staff("jonas@example.com")
    petras = await world.staff("petras@example.com", name="Petras")
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await chat.accept(jonas, None, conv)
    with pytest.raises(NotFound):  # a colleague never had it
        await chat.events_after(petras, conv, 0)
    await chat.close(jonas, None, conv)
    world.clock.advance(hours=23)
    await chat.events_after(jonas, conv, 0)  # still within a day of closing
    world.clock.advance(hours=2)
    with pytest.raises(NotFound):
        await chat.events_after(jonas, conv, 0)
    with pytest.raises(InvalidInput):
        await chat.request_access(jonas, conv, "why")
    with pytest.raises(NotFound):  # never assigned: no reason reopens it
        await chat.request_access(petras, conv, "customer called back about this")
    granted = await chat.request_access(jonas, conv, "customer called back about this")
    assert granted["until"] is not None
    await chat.events_after(jonas, conv, 0)
    world.clock.advance(hours=2)
    with pytest.raises(NotFound):
        await chat.events_after(jonas, conv, 0)
    # A supervisor's read of someone else's chat is put on record.
    await chat.events_after(admin, conv, 0, audit_read=True)
    entries = await world.svc.auth.audit(admin, 20, "conversation.")
    kinds = [(e.action, e.actor) for e in entries]
    assert ("conversation.read", admin.user_id) in kinds
    assert ("conversation.access_reason", jonas.user_id) in kinds
    reason = next(e for e in entries if e.action == "conversation.access_reason")
    assert reason.details["reason"] == "customer called back about this"


async def test_internal_notes_never_reach_the_visitor(world: World) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    agent = await world.staff("jonas@example.com")
    conv = await world.start(visitor)
    await chat.accept(agent, None, conv)
    await chat.send_note(agent, None, conv, "angry customer, be nice")
    await chat.send_message(agent, None, conv, "Hello!")
    visitor_frames, last = await chat.events_after(visitor, conv, 0)
    assert "note" not in [f["t"] for f in visitor_frames]
    assert "angry" not in repr(visitor_frames)
    assert last == 4  # the visitor's cursor still moves past the hidden note
    staff_frames, _ = await chat.events_after(agent, conv, 0)
    assert "note" in [f["t"] for f in staff_frames]


async def test_consent_and_prechat_fields(world: World) -> None:
    visitor = await world.visitor()
    with pytest.raises(ConsentRequired):
        await world.start(visitor, consent=False)
    for typo in ("not-an-email", "a@b", "ona@localhost", "<script>@x.com", "o@@x.lt"):
        with pytest.raises(InvalidInput) as err:
            await world.start(visitor, fields={"email": typo})
        assert err.value.field == "fields.email"
    conv = await world.start(visitor, fields={"name": " Ona ", "ssn": "123", "email": "o@x.lt"})
    frames, _ = await world.svc.chat.events_after(await world.staff("a@example.com"), conv, 0)
    assert frames[0]["visitor"]["name"] == "Ona"
    # Fields the widget does not collect are dropped (data minimisation).
    stored = await world.svc.chat.get_conversation(visitor, conv)
    async with world.svc.db.transaction(write=False) as conn:
        from sqlalchemy import text

        query = text("SELECT fields FROM visitors WHERE id=:v")
        row = (await conn.execute(query, {"v": stored.visitor_id})).one()
    assert "ssn" not in row.fields


async def test_a_notice_changed_since_it_was_accepted_is_asked_again(world: World) -> None:
    """A chat records which privacy notice the visitor accepted; a page opened before an
    admin changed the notice still offers the old one, and accepting that is not consent
    to the new text."""
    visitor = await world.visitor()
    notice = {
        "required": True,
        "version": "2026-07",
        "text": "We store this chat for a year to answer you.",
        "privacy_url": "/privacy",
    }
    await world.svc.widgets.update_settings(None, world.widget_id, {"consent": notice})
    with pytest.raises(ConsentRequired) as err:
        await world.start(visitor, consent_version="2026-01")
    assert "changed" in str(err.value)
    conv = await world.start(visitor, consent_version="2026-07")
    stored = await world.svc.chat.get_conversation(visitor, conv)
    assert stored.consent_version == "2026-07"
    # Not required: no version is asked for, and none is recorded without acceptance.
    await world.svc.widgets.update_settings(
        None, world.widget_id, {"consent": {**notice, "required": False}}
    )
    other = await world.visitor()
    later = await world.start(other, consent=False, consent_version="2026-01")
    assert (await world.svc.chat.get_conversation(other, later)).consent_version is None


async def test_the_accepted_consent_version_is_checked_like_the_widgets(world: World) -> None:
    """It is stored with the chat in clear and shown in a GDPR export (QA: any text was
    stored, and one with a NUL failed on PostgreSQL)."""
    visitor = await world.visitor()
    for version in ("2026-01\u202e", "a b", "x" * 41, "v\x00"):
        with pytest.raises(InvalidInput) as err:
            await world.svc.chat.start_chat(
                visitor,
                None,
                fields={},
                consent_accepted=True,
                consent_version=version,
                first_message=None,
            )
        assert err.value.field == "consent.version"
    await world.start(visitor)  # "2026-01"


async def test_start_chat_returns_the_open_conversation(world: World) -> None:
    visitor = await world.visitor()
    first = await world.start(visitor)
    assert await world.start(visitor) == first


async def test_rating_and_queue_positions(world: World) -> None:
    chat = world.svc.chat
    v1, v2, v3 = await world.visitor(), await world.visitor(), await world.visitor()
    c1 = await world.start(v1)
    world.clock.advance(seconds=1)
    r2 = await chat.start_chat(
        v2, None, fields={}, consent_accepted=True, consent_version="2026-01", first_message=None
    )
    assert r2["queue"]["position"] == 2
    agent = await world.staff("a@example.com")
    world.clock.advance(seconds=30)
    await chat.accept(agent, None, c1)
    queued = [m for ch, m in world.bus.published if m.get("type") == "queue"]
    assert queued[-1]["conversation"] == r2["conversation"] and queued[-1]["position"] == 1
    with pytest.raises(InvalidState):
        await chat.rate(v2, None, r2["conversation"], "good", None)
    rated = await chat.rate(v1, None, c1, "good", "quick")
    assert rated["seq"] > 0
    with pytest.raises(InvalidInput):
        await chat.rate(v1, None, c1, "meh", None)
    c3 = await world.start(v3)
    with pytest.raises(Forbidden):
        await chat.close(agent, None, c3)  # an agent accepts before closing


async def test_a_replay_is_answered_from_its_record_even_when_it_could_not_run_now(
    world: World,
) -> None:
    """The first attempt does not read the command record: a replay is caught when its
    record is written (and rolled back), or, if its step now fails, answered from the
    record all the same."""
    chat = world.svc.chat
    visitor = await world.visitor()
    conv = await world.start(visitor)
    first = await chat.send_message(visitor, "cmd-late", conv, "sent before the end")
    ended = await chat.end_by_visitor(visitor, "cmd-end", conv)
    # The conversation is closed now: a new message is refused, a replay is not.
    assert await chat.send_message(visitor, "cmd-late", conv, "sent before the end") == first
    assert await chat.end_by_visitor(visitor, "cmd-end", conv) == ended
    with pytest.raises(InvalidState):
        await chat.send_message(visitor, "cmd-new", conv, "too late")
    frames, _ = await chat.events_after(visitor, conv, 0)
    assert [f["message"]["body"] for f in frames if f["t"] == "msg"] == ["sent before the end"]
