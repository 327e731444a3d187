"""Card numbers over real sockets: the agent gets the masked form, and no original
number is in the SQLite file, its WAL or the server log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.client import connect_agent, connect_visitor
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.asyncio

SENT = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"]


def raw_bytes(data_dir: Path) -> bytes:
    """Everything the server wrote to disk: database, WAL, shared memory, logs."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def forms(number: str) -> list[bytes]:
    digits = number.replace(" ", "").replace("-", "")
    return [number.encode(), digits.encode(), digits[:8].encode()]


async def test_agent_sees_masked_cards_and_disk_holds_no_original(sqlite_server: Server) -> None:
    server = sqlite_server
    visitor, _ = await connect_visitor(server.base, server.widget)
    agent, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    start = await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
    conv = start["conversation"]

    acks = [
        await visitor.cmd("msg.send", conversation=conv, body=f"my card: {n} exp 12/29")
        for n in SENT
    ]
    assert all(a["redacted"] is True for a in acks)
    assert [a["body"] for a in acks] == [
        "my card: [card •••• 1111] exp 12/29",
        "my card: [card •••• 4444] exp 12/29",
        "my card: [card •••• 0005] exp 12/29",
    ]
    plain = await visitor.cmd("msg.send", conversation=conv, body="order 1234567890123")
    assert "redacted" not in plain

    await agent.wait_for(lambda f: f.get("t") == "msg" and f["seq"] == plain["seq"])
    got = [m["message"]["body"] for m in agent.messages(conv)]
    assert got == [a["body"] for a in acks] + ["order 1234567890123"]
    await agent.cmd("conv.accept", conversation=conv)
    await agent.cmd("note.send", conversation=conv, body="asked for 6011111111111117")
    await visitor.close()
    await agent.close()

    received = str(agent.events).encode()
    on_disk = raw_bytes(server.data_dir)
    assert b"conv.state" in on_disk  # the search does see the rows (bodies are sealed)
    for number in [*SENT, "6011111111111117"]:
        for form in forms(number):
            assert form not in received
            assert form not in on_disk, f"{form!r} found on disk"
    server.stop()
    on_disk = raw_bytes(server.data_dir)
    for number in [*SENT, "6011111111111117"]:
        for form in forms(number):
            assert form not in on_disk
