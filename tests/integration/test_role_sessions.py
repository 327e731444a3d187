"""A role or permission change, a lock or "end sessions" closes the user's open agent
sockets at once: no socket keeps privileges its session no longer has.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.support.client import connect_agent, login
from tests.support.server import AGENT_PASSWORD, Server


async def test_privilege_changes_close_open_agent_sockets(sqlite_server: Server) -> None:
    srv = sqlite_server
    base = srv.base
    srv.create_user("admin@example.com", "admin", name="Ada")
    cookie, csrf = await login(base, "admin@example.com", AGENT_PASSWORD)
    admin = {"Cookie": cookie, "X-CSRF-Token": csrf}
    async with httpx.AsyncClient(base_url=base) as http:
        users = (await http.get("/api/v1/users", headers=admin)).json()
        agent_id = next(u["id"] for u in users if u["email"] == "agent@example.com")
        r = await http.post(
            "/api/v1/roles", json={"name": "desk", "permissions": ["chat.handle"]}, headers=admin
        )
        assert r.status_code == 201

        async def changed_by(method: str, path: str, body: dict[str, object]) -> None:
            ws, _ack = await connect_agent(base, "agent@example.com", AGENT_PASSWORD)
            try:
                r = await http.request(method, path, json=body, headers=admin)
                assert r.status_code == 204, r.text
                frame = await ws.wait_for(lambda f: f.get("t") == "error", timeout=10)
                assert frame["code"] == "not_authenticated"
                await asyncio.wait_for(ws.closed, 10)
            finally:
                await ws.close()

        await changed_by("PUT", f"/api/v1/users/{agent_id}/role", {"role": "desk"})
        # Editing the role the agent now holds ends their sessions and sockets too.
        ws, _ack = await connect_agent(base, "agent@example.com", AGENT_PASSWORD)
        try:
            r = await http.put(
                "/api/v1/roles/desk",
                json={"permissions": ["chat.handle", "visitors.ban"]},
                headers=admin,
            )
            assert r.status_code == 200, r.text
            frame = await ws.wait_for(lambda f: f.get("t") == "error", timeout=10)
            assert frame["code"] == "not_authenticated"
        finally:
            await ws.close()
        await changed_by("POST", f"/api/v1/users/{agent_id}/sessions/end", {})
        await changed_by("PUT", f"/api/v1/users/{agent_id}/disabled", {"disabled": True})
