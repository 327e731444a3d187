"""The transcript download over HTTP: an attachment for its visitor only, without notes."""

from __future__ import annotations

import httpx

from tests.support.client import connect_agent, connect_visitor
from tests.support.server import AGENT_PASSWORD, Server


async def test_a_visitor_downloads_their_transcript_and_nobody_else_can(
    sqlite_server: Server,
) -> None:
    base = sqlite_server.base
    visitor, hello = await connect_visitor(base, sqlite_server.widget)
    conv = (await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
        "conversation"
    ]
    await visitor.cmd("msg.send", conversation=conv, body="<script>alert(1)</script> hi")
    agent, _ = await connect_agent(base, "agent@example.com", AGENT_PASSWORD)
    await agent.cmd("conv.accept", conversation=conv)
    await agent.cmd("note.send", conversation=conv, body="internal remark xyzzy")
    await agent.cmd("msg.send", conversation=conv, body="Hello there")
    other, other_hello = await connect_visitor(base, sqlite_server.widget)
    for c in (visitor, agent, other):
        await c.close()

    url = f"/api/v1/conversations/{conv}/transcript"
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.get(url, headers={"Authorization": f"Bearer {hello['token']}"})
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert r.headers["content-disposition"] == f'attachment; filename="transcript-{conv}.txt"'
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        assert "<script>alert(1)</script> hi" in r.text  # plain text, served as such
        assert "Hello there" in r.text
        assert "xyzzy" not in r.text

        r = await http.get(url, headers={"Authorization": f"Bearer {other_hello['token']}"})
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert "xyzzy" not in r.text
        assert (await http.get(url)).status_code == 401
