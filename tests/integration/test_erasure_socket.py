"""An erasure over REST (admin, cookie + CSRF) ends the erased visitor's open socket;
another visitor's socket keeps working, and open consoles are told to forget the person.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.client import connect_agent, connect_visitor, login
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(300)]


async def test_rest_erasure_closes_the_visitors_socket(sqlite_server: Server) -> None:
    server = sqlite_server
    server.create_user("admin@example.com", "admin", name="Ada")
    erased, _ = await connect_visitor(server.base, server.widget)
    kept, _ = await connect_visitor(server.base, server.widget)
    hello = await erased.cmd(
        "chat.start",
        fields={"name": "Ona", "email": "ona.socket@example.lt"},
        consent={"accepted": True, "version": "2026-01"},
        message="hello",
    )
    agent, agent_hello = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    [waiting] = [c for c in agent_hello["conversations"] if c["id"] == hello["conversation"]]
    cookie, csrf = await login(server.base, "admin@example.com", AGENT_PASSWORD)
    async with httpx.AsyncClient(base_url=server.base) as http:
        no_csrf = await http.post(
            "/api/v1/admin/gdpr/erase",
            json={"email": "ona.socket@example.lt", "reason": "asked"},
            headers={"Cookie": cookie},
        )
        assert no_csrf.status_code == 403
        r = await http.post(
            "/api/v1/admin/gdpr/erase",
            json={"email": "ona.socket@example.lt", "reason": "asked"},
            headers={"Cookie": cookie, "X-CSRF-Token": csrf},
        )
        assert r.status_code == 200, r.text
        assert r.json()["visitors"] == 1
    ended = await erased.wait_for(lambda f: f.get("t") == "error")
    assert ended["code"] == "not_authenticated"
    code, _reason = await erased.closed
    assert code == 1008
    assert (await kept.request("ping"))["t"] == "pong"
    # The console showing the erased person's waiting chat is told to drop it.
    gone = await agent.wait_for(lambda f: f.get("t") == "visitor.erased")
    assert gone == {"t": "visitor.erased", "visitor": waiting["visitor"]["id"]}
    await kept.close()
    await agent.close()
