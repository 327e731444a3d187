"""A role or permission change, a lock or "end sessions" closes the user's open agent
sockets at once: no socket keeps privileges its session no longer has.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.client import WsClient, connect_agent, login
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


async def test_a_socket_ends_with_its_own_session(sqlite_server: Server) -> None:
    """Logging out, ending a session from another device and "end other sessions" close
    the sockets of exactly the sessions that ended (QA: they kept working, so a stolen
    session ended by its owner could still read and answer chats); the socket of the
    session that did it stays.
    """
    base = sqlite_server.base
    ws = base.replace("http", "ws", 1) + "/ws/agent"
    email = "agent@example.com"

    async def socket(cookie: str) -> WsClient:
        client = await WsClient.connect(ws, origin=base, cookie=cookie)
        await client.cmd("hello", resume={})
        return client

    async def ended(client: WsClient) -> None:
        frame = await client.wait_for(lambda f: f.get("t") == "error", timeout=10)
        assert frame["code"] == "not_authenticated"
        await asyncio.wait_for(client.closed, 10)

    stolen_cookie, _ = await login(base, email, AGENT_PASSWORD)
    own_cookie, own_csrf = await login(base, email, AGENT_PASSWORD)
    own = {"Cookie": own_cookie, "X-CSRF-Token": own_csrf}
    stolen, mine = await socket(stolen_cookie), await socket(own_cookie)
    async with httpx.AsyncClient(base_url=base) as http:
        sessions = (await http.get("/api/v1/auth/sessions", headers=own)).json()
        other = next(s["id"] for s in sessions if not s["current"])
        assert (await http.delete(f"/api/v1/auth/sessions/{other}", headers=own)).status_code == 204
        await ended(stolen)

        third = await socket((await login(base, email, AGENT_PASSWORD))[0])
        r = await http.post("/api/v1/auth/sessions/end-others", headers=own)
        assert r.status_code == 204
        await ended(third)
        assert (await mine.cmd("status.set", status="away"))["t"] == "ack"

        assert (await http.post("/api/v1/auth/logout", headers=own)).status_code == 204
        await ended(mine)


async def test_an_open_socket_ends_when_its_session_expires(tmp_path: Path) -> None:
    """A session that ends by itself (here its absolute lifetime) takes its open socket
    with it at the socket's next frame after the re-check interval, as the allow-list and
    the 2FA rule would (they are checked the same way)."""
    server = Server(
        data_dir=tmp_path,
        database_url=None,
        extra_env={"BASTION_SESSION_ABSOLUTE_S": "4", "BASTION_WS_SESSION_RECHECK_S": "1"},
    ).start()
    try:
        server.create_user("agent@example.com", "agent", name="Jonas")
        base = server.base
        cookie, _ = await login(base, "agent@example.com", AGENT_PASSWORD)
        client = await WsClient.connect(
            base.replace("http", "ws", 1) + "/ws/agent", origin=base, cookie=cookie
        )
        await client.cmd("hello", resume={})
        await asyncio.sleep(1.2)
        assert (await client.cmd("status.set", status="away"))["t"] == "ack"
        await asyncio.sleep(4)
        frame = await client.request("status.set", id="late", status="online")
        assert (frame["t"], frame["code"]) == ("error", "not_authenticated")
        await asyncio.wait_for(client.closed, 10)
    finally:
        server.stop()
