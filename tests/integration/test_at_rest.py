"""After a chat over real sockets, the SQLite file and its WAL hold none of the message
texts, names or e-mails sent (a search of the raw bytes), while clients read them fine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.client import connect_agent, connect_visitor
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.asyncio

NAME, EMAIL = "Ona Petraitytė", "ona.petraityte@example.lt"
TEXTS = ["where is my parcel to Klaipėda", "it left the warehouse yesterday", "VIP caller"]


def database_bytes(data_dir: Path) -> bytes:
    files = [p for p in data_dir.iterdir() if p.name.endswith((".db", ".db-wal", ".db-shm"))]
    assert any(p.name.endswith(".db") for p in files), files
    return b"".join(p.read_bytes() for p in files)


def needles() -> list[bytes]:
    out = []
    for s in [NAME, EMAIL, *TEXTS]:
        out += [s.encode(), s.encode("unicode_escape"), s.split()[0].encode() + b" "]
    return out


async def test_chat_content_is_not_in_the_database_file_or_wal(sqlite_server: Server) -> None:
    server = sqlite_server
    visitor, _ = await connect_visitor(server.base, server.widget)
    agent, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    start = await visitor.cmd(
        "chat.start",
        fields={"name": NAME, "email": EMAIL},
        consent={"accepted": True, "version": "2026-01"},
        message=TEXTS[0],
    )
    conv = start["conversation"]
    await agent.cmd("conv.accept", conversation=conv)
    reply = await agent.cmd("msg.send", conversation=conv, body=TEXTS[1])
    await agent.cmd("note.send", conversation=conv, body=TEXTS[2])
    got = await visitor.wait_for(lambda f: f.get("t") == "msg" and f["seq"] == reply["seq"])
    assert got["message"]["body"] == TEXTS[1]
    seen = [m["message"]["body"] for m in agent.messages(conv)]
    assert TEXTS[0] in seen
    await visitor.close()
    await agent.close()

    # While the server runs (recent pages sit in the WAL) and after it stopped.
    on_disk = database_bytes(server.data_dir)
    assert b"conv.state" in on_disk  # the search does see the rows
    for needle in needles():
        assert needle not in on_disk, needle
    server.stop()
    on_disk = database_bytes(server.data_dir)
    for needle in needles():
        assert needle not in on_disk, needle
