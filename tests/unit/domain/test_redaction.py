"""Card numbers are masked in the domain before storage and delivery; the sender is told."""

from __future__ import annotations

import pytest

from bastion.domain.errors import InvalidInput
from tests.support.factories import World

CARD = "4111 1111 1111 1111"
MASKED = "[card •••• 1111]"


async def test_messages_notes_and_first_message_are_redacted_and_the_sender_told(
    world: World,
) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    agent = await world.staff("jonas@example.com")
    first = await chat.start_chat(
        visitor,
        None,
        fields={},
        consent_accepted=True,
        consent_version="2026-01",
        first_message=f"card {CARD}",
    )
    assert first["redacted"] is True and first["body"] == f"card {MASKED}"
    conv = first["conversation"]

    sent = await chat.send_message(visitor, "cmd-1", conv, f"again: {CARD.replace(' ', '-')}")
    assert sent["redacted"] is True and sent["body"] == f"again: {MASKED}"
    # The idempotent replay returns the recorded result: ids and the flag, no text.
    replay = await chat.send_message(visitor, "cmd-1", conv, "ignored")
    assert replay == {k: v for k, v in sent.items() if k != "body"}

    plain = await chat.send_message(visitor, None, conv, "order 1234567890123")
    assert "redacted" not in plain and "body" not in plain

    await chat.accept(agent, None, conv)
    reply = await chat.send_message(agent, None, conv, "never send 5555555555554444 here")
    assert reply["body"] == "never send [card •••• 4444] here"
    note = await chat.send_note(agent, None, conv, "visitor pasted 378282246310005")
    assert note["body"] == "visitor pasted [card •••• 0005]"

    frames, _ = await chat.events_after(agent, conv, 0)
    bodies = [f.get("message", f.get("note", {})).get("body") for f in frames]
    assert "4111" not in str(frames).replace("•••• 1111", "")
    assert f"card {MASKED}" in bodies and "order 1234567890123" in bodies
    published = str(world.bus.published)
    for raw in ("4111111111111111", "4111 1111", "4111-1111", "5555555555554444", "3782822463"):
        assert raw not in published


async def test_widget_patterns_apply_and_bad_ones_are_refused(world: World) -> None:
    patterns = ["iban", {"name": "lt_code", "regex": r"\b[3-6]\d{10}\b"}]
    assert await world.svc.widgets.set_redaction_patterns(None, world.widget_id, patterns) == (
        patterns
    )
    visitor = await world.visitor()
    conv = await world.start(visitor)
    sent = await world.svc.chat.send_message(
        visitor, None, conv, "IBAN LT12 1000 0111 0100 1000, kodas 38703181745"
    )
    assert sent["body"] == "IBAN [IBAN •••• 1000], kodas [lt_code redacted]"

    with pytest.raises(InvalidInput) as err:
        await world.svc.widgets.set_redaction_patterns(
            None, world.widget_id, [{"name": "x", "regex": "(unclosed"}]
        )
    assert "unclosed" not in err.value.message


async def test_a_pattern_past_its_time_budget_refuses_the_message(world: World) -> None:
    await world.svc.widgets.set_redaction_patterns(
        None, world.widget_id, [{"name": "slow", "regex": r"(a+)+$"}]
    )
    visitor = await world.visitor()
    conv = await world.start(visitor)
    with pytest.raises(InvalidInput) as err:
        await world.svc.chat.send_message(visitor, None, conv, "a" * 3000 + "!")
    assert "aaa" not in err.value.message
    frames, _ = await world.svc.chat.events_after(visitor, conv, 0)
    assert [f["t"] for f in frames] == ["conv.state"]


async def test_a_pattern_change_reaches_every_node_at_once_and_a_deaf_one_within_seconds(
    world: World,
) -> None:
    """Nodes keep each widget's rules between messages; the change is announced on the bus
    (every node drops its copy), and a node that missed it re-reads within RULES_CACHE_S."""
    from bastion.bus.memory import MemoryBus
    from bastion.domain.conversations import RULES_CACHE_S, ChatService

    first = world.svc.chat
    other = ChatService(first._uow, world.clock, world.bus, limits=first._limits)
    deaf = ChatService(first._uow, world.clock, MemoryBus(), limits=first._limits)
    visitor = await world.visitor()
    conv = await world.start(visitor)
    text = "kodas 38703181745"
    for node in (other, deaf):  # both keep "no patterns" for this widget
        assert "body" not in await node.send_message(visitor, None, conv, text + " a")
    patterns = [{"name": "lt_code", "regex": r"\b[3-6]\d{10}\b"}]
    await world.svc.widgets.set_redaction_patterns(None, world.widget_id, patterns)
    sent = await other.send_message(visitor, None, conv, text + " b")
    assert sent["body"] == "kodas [lt_code redacted] b"
    assert "body" not in await deaf.send_message(visitor, None, conv, text + " c")
    world.clock.advance(seconds=RULES_CACHE_S)
    sent = await deaf.send_message(visitor, None, conv, text + " d")
    assert sent["body"] == "kodas [lt_code redacted] d"
