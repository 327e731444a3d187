"""A visitor's transcript: their own chat, never notes, never anyone else's."""

from __future__ import annotations

import pytest

from bastion.domain.errors import Forbidden, NotFound
from bastion.domain.models import Role
from tests.support.factories import World


async def test_the_transcript_holds_the_chat_and_no_notes(world: World) -> None:
    chat = world.svc.chat
    agent = await world.staff("agent@example.com")
    visitor = await world.visitor()
    conv = await world.start(visitor, fields={"name": "Ona"}, message="Where is my order?")
    await chat.accept(agent, None, conv)
    await chat.send_note(agent, None, conv, "VIP customer, check refund history")
    await chat.send_message(agent, None, conv, "It ships today.\nTracking follows.")
    await chat.close(agent, None, conv)

    name, text = await world.svc.transcripts.for_visitor(visitor, conv)
    assert name == f"transcript-{conv}.txt"
    assert "Where is my order?" in text
    assert "Jonas joined the chat" in text
    # A second line of a message is indented: it cannot pose as a line of its own.
    assert "Jonas: It ships today.\n    Tracking follows." in text
    assert "Chat ended" in text
    assert "VIP" not in text and "refund" not in text


async def test_nobody_else_gets_the_transcript(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor, message="mine")
    other = await world.visitor()
    with pytest.raises(NotFound):
        await world.svc.transcripts.for_visitor(other, conv)
    with pytest.raises(NotFound):
        await world.svc.transcripts.for_visitor(visitor, "c_missing")
    owner = await world.staff("owner@example.com", Role.OWNER, name="Owner")
    with pytest.raises(Forbidden):
        await world.svc.transcripts.for_visitor(owner, conv)


async def test_a_very_long_chat_is_cut_and_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bastion.domain import transcript

    monkeypatch.setattr(transcript, "PAGE", 2)
    monkeypatch.setattr(transcript, "MAX_PAGES", 2)
    visitor = await world.visitor()
    conv = await world.start(visitor, message="one")
    for body in ("two", "three", "four"):
        await world.svc.chat.send_message(visitor, None, conv, body)
    _, text = await world.svc.transcripts.for_visitor(visitor, conv)
    assert "three" in text and "four" not in text
    assert text.endswith("later lines are left out.)\n")
