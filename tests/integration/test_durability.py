"""Ack after commit: a SIGKILL right after an ack loses nothing and duplicates nothing."""

from __future__ import annotations

import json

import pytest

from tests.support.client import connect_visitor
from tests.support.server import Server

pytestmark = pytest.mark.asyncio


async def test_sigkill_after_ack_keeps_message_and_resend_is_idempotent(server: Server) -> None:
    visitor, hello = await connect_visitor(server.base, server.widget)
    conv = (await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
        "conversation"
    ]
    ack = await visitor.cmd("msg.send", id="cmd-durable-1", conversation=conv, body="keep me")
    server.kill()  # no graceful shutdown, no flush: only what was committed survives
    await visitor.closed

    server.start()
    again, _ = await connect_visitor(server.base, server.widget, token=hello["token"])
    # The same command id after the restart returns the recorded result, stores nothing.
    resent = await again.cmd("msg.send", id="cmd-durable-1", conversation=conv, body="keep me")
    assert resent["message"] == ack["message"]
    assert resent["seq"] == ack["seq"]
    other = await again.cmd("msg.send", conversation=conv, body="next")
    assert other["seq"] == ack["seq"] + 1

    import httpx

    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.get(
            f"/api/v1/conversations/{conv}/events",
            params={"after": 0},
            headers={"Authorization": f"Bearer {hello['token']}"},
        )
    assert r.status_code == 200
    bodies = [e["message"]["body"] for e in r.json()["events"] if e["t"] == "msg"]
    assert bodies == ["keep me", "next"]
    await again.close()


async def test_concurrent_duplicate_command_ids_store_one_message(server: Server) -> None:
    visitor, _hello = await connect_visitor(server.base, server.widget)
    conv = (await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
        "conversation"
    ]
    second, _ = await connect_visitor(server.base, server.widget, token=_hello["token"])
    frame = json.dumps(
        {"t": "msg.send", "id": "same-id", "conversation": conv, "body": "only once"}
    )
    # Two sockets of one visitor race the same command id.
    await visitor.send_raw(frame)
    await second.send_raw(frame)
    await visitor.wait_for(lambda f: f.get("t") == "msg" and f["message"]["body"] == "only once")
    fresh, _ = await connect_visitor(
        server.base, server.widget, token=_hello["token"], resume={conv: 0}
    )
    await fresh.wait_for(lambda f: f.get("t") == "msg")
    copies = [m for m in fresh.messages(conv) if m["message"]["body"] == "only once"]
    assert len(copies) == 1
    for c in (visitor, second, fresh):
        await c.close()
