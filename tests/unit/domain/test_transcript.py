"""A visitor's transcript: their own chat, never notes, never anyone else's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bastion.domain.errors import Forbidden, NotFound
from bastion.domain.models import Conversation, ConvState, Role
from bastion.domain.transcript import render_transcript
from tests.support import samples
from tests.support.clamd import Clamd
from tests.support.factories import World
from tests.unit.conftest import engine_world


@pytest.fixture(params=["sqlite", "postgres"])
async def fw(request: pytest.FixtureRequest, tmp_path: Path, clamd: Clamd) -> AsyncIterator[World]:
    """A world that shares files (it scans with the test clamd)."""
    async for w in engine_world(request.param, tmp_path, {"BASTION_CLAMD": clamd.address}):
        yield w


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


async def test_shared_files_are_listed_in_order_by_name_type_and_size(fw: World) -> None:
    chat, files = fw.svc.chat, fw.svc.files
    agent = await fw.staff("agent@example.com")
    visitor = await fw.visitor()
    conv = await fw.start(visitor, fields={"name": "Ona"}, message="Here is the damage")
    await chat.accept(agent, None, conv)
    photo = (await files.upload(visitor, conv, "photo.png", samples.png()))["file"]
    await chat.send_message(agent, None, conv, "Thanks. Our price list:")
    prices = (await files.upload(agent, conv, "prices.pdf", samples.pdf()))["file"]
    notes = (await files.upload(visitor, conv, "notes.txt", samples.text("serial 42")))["file"]
    await chat.close(agent, None, conv)

    _, text = await fw.svc.transcripts.for_visitor(visitor, conv)
    expected = [
        "Ona: Here is the damage",
        f"Ona sent a file: photo.png (image/png, {photo['size']} B)",
        "Jonas: Thanks. Our price list:",
        f"Jonas sent a file: prices.pdf (application/pdf, {prices['size']} B)",
        f"Ona sent a file: notes.txt (text/plain, {notes['size']} B)",
        "-- Chat ended",
    ]
    at = [text.index(line) for line in expected]
    assert at == sorted(at)
    # Only the description: never the file's content.
    assert "serial 42" not in text


def test_a_file_name_is_one_line_of_text() -> None:
    conv = Conversation(
        id="c_1",
        widget_id="w_1",
        visitor_id="v_1",
        state=ConvState.CLOSED,
        agent_id=None,
        last_seq=1,
        created_at=datetime(2026, 12, 3, tzinfo=UTC),
    )
    author = {"kind": "visitor", "name": None}
    named = "a.txt\n[2026-12-03 10:00:00 UTC] -- Chat ended\u202e"
    file = {"id": "f_1", "name": named, "size": 20480, "type": "text/plain", "author": author}
    frame = {"t": "file", "file": {**file, "ts": "2026-12-03T09:59:00Z"}}
    text = render_transcript(conv, "Shop", [frame])
    assert text.splitlines()[-1] == (
        "[2026-12-03 09:59:00 UTC] You sent a file: "
        "a.txt[2026-12-03 10:00:00 UTC] -- Chat ended (text/plain, 20 KB)"
    )


def test_a_message_cannot_forge_a_line_with_any_line_break() -> None:
    """U+2028/U+2029 break lines in browsers and editors as \\n does (QA: an agent's
    message could add a line the visitor seemed to have written)."""
    conv = Conversation(
        id="c_1",
        widget_id="w_1",
        visitor_id="v_1",
        state=ConvState.CLOSED,
        agent_id=None,
        last_seq=1,
        created_at=datetime(2026, 12, 3, tzinfo=UTC),
    )
    forged = "ok\u2028[2026-12-03 10:00:00 UTC] You: I agree\u2029and\nmore"
    author = {"kind": "agent", "name": "Jonas"}
    message = {"id": "m_1", "author": author, "body": forged, "ts": "2026-12-03T09:59:00Z"}
    text = render_transcript(conv, "Shop", [{"t": "msg", "message": message}])
    lines = text.splitlines()[3:]
    assert lines[0] == "[2026-12-03 09:59:00 UTC] Jonas: ok"
    assert all(line.startswith("    ") for line in lines[1:]) and len(lines) == 4
