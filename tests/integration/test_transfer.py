"""Transfer over real sockets: the colleague list, the hand-over, and the old holder's view."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.client import connect_agent, connect_visitor, login
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.asyncio


async def test_an_agent_hands_a_chat_to_a_colleague(server: Server) -> None:
    server.create_user("petras@example.com", "agent", name="Petras")
    jonas, jonas_hello = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    petras, petras_hello = await connect_agent(server.base, "petras@example.com", AGENT_PASSWORD)
    petras_id = petras_hello["agent"]["id"]
    await petras.cmd("status.set", status="online")
    # Rasa chose online, then closed her console: her choice stays, she is not there.
    server.create_user("rasa@example.com", "agent", name="Rasa")
    rasa, _ = await connect_agent(server.base, "rasa@example.com", AGENT_PASSWORD)
    await rasa.close()

    # The colleague list: ids, names, chosen status and live availability only, readable
    # by a plain agent.
    cookie, _csrf = await login(server.base, "agent@example.com", AGENT_PASSWORD)
    async with httpx.AsyncClient(base_url=server.base) as http:
        for _ in range(50):  # the server sees Rasa's socket close a moment later
            r = await http.get("/api/v1/agents", headers={"Cookie": cookie})
            assert r.status_code == 200, r.text
            listed = {a["name"]: a for a in r.json()}
            if not listed["Rasa"]["available"]:
                break
            await asyncio.sleep(0.1)
    assert {"Jonas", "Petras", "Rasa"} <= set(listed)
    assert listed["Petras"] == {
        "id": petras_id,
        "name": "Petras",
        "status": "online",
        "available": True,
    }
    assert listed["Rasa"]["status"] == "online" and listed["Rasa"]["available"] is False

    visitor, _hello = await connect_visitor(server.base, server.widget)
    conv = (
        await visitor.cmd(
            "chat.start", fields={"name": "Ona"}, consent={"accepted": True, "version": "2026-01"}
        )
    )["conversation"]
    await jonas.wait_for(lambda f: f.get("t") == "conv.state" and f["conversation"] == conv)
    await jonas.cmd("conv.accept", conversation=conv)

    done = await jonas.cmd("conv.transfer", conversation=conv, agent=petras_id)
    # The old holder still gets the state change naming the new one (its console updates).
    moved = await jonas.wait_for(
        lambda f: f.get("t") == "conv.state" and f.get("seq") == done["seq"]
    )
    assert moved["state"] == "active" and moved["agent"]["id"] == petras_id
    await petras.wait_for(lambda f: f.get("t") == "conv.state" and f.get("seq") == done["seq"])
    seen = await visitor.wait_for(lambda f: f.get("t") == "conv.state" and f["seq"] == done["seq"])
    assert seen["agent"] == {"name": "Petras"}

    reply = await petras.cmd("msg.send", conversation=conv, body="Petras here")
    await visitor.wait_for(lambda f: f.get("t") == "msg" and f["seq"] == reply["seq"])
    refused = await jonas.request("msg.send", conversation=conv, body="still mine?")
    assert refused["t"] == "error" and refused["code"] == "forbidden"
    assert jonas_hello["agent"]["id"] != petras_id
    for c in (jonas, petras, visitor):
        await c.close()
