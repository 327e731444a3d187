"""Canned responses reach open consoles live: after an admin creates, edits or deletes one
over REST, the agent sockets it concerns get ``canned.changed`` (no text) and read the list
again; agents of other departments are not told about a department's response.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.client import WsClient, connect_agent, login
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(300)]


def changes(ws: WsClient) -> list[dict[str, Any]]:
    return [f for f in ws.events if f.get("t") == "canned.changed"]


async def test_agents_consoles_hear_of_canned_changes(server: Server) -> None:
    server.create_user("admin@example.com", "admin", name="Ada")
    server.create_user("billing@example.com", "agent", name="Petras")
    cookie, csrf = await login(server.base, "admin@example.com", AGENT_PASSWORD)
    admin = {"Cookie": cookie, "X-CSRF-Token": csrf}
    async with httpx.AsyncClient(base_url=server.base, headers=admin) as http:
        users = {u["email"]: u["id"] for u in (await http.get("/api/v1/users")).json()}
        sales = (await http.post("/api/v1/departments", json={"name": "Sales"})).json()["id"]
        billing = (await http.post("/api/v1/departments", json={"name": "Billing"})).json()["id"]
        for email, dep in (("agent@example.com", sales), ("billing@example.com", billing)):
            r = await http.put(
                f"/api/v1/users/{users[email]}/departments", json={"departments": [dep]}
            )
            assert r.status_code == 200, r.text
        # Sockets opened after the memberships were set (read at hello).
        jonas, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
        petras, _ = await connect_agent(server.base, "billing@example.com", AGENT_PASSWORD)

        # A global response: every console is told, and the frame carries no text.
        r = await http.post(
            "/api/v1/canned",
            json={"shortcut": "hi", "title": "Greeting", "body": "Hello there!"},
        )
        assert r.status_code == 201, r.text
        hi = r.json()["id"]
        for ws in (jonas, petras):
            assert await ws.wait_for(lambda f: f.get("t") == "canned.changed") == {
                "t": "canned.changed"
            }

        # A Billing response: Petras is told; Jonas (Sales) is not.
        r = await http.post(
            "/api/v1/canned",
            json={
                "shortcut": "refund",
                "title": "Refund",
                "body": "5 days.",
                "department": billing,
            },
        )
        assert r.status_code == 201, r.text
        refund = r.json()["id"]
        # Moved to Sales: both departments hear of it (Billing's consoles lose it).
        r = await http.put(
            f"/api/v1/canned/{refund}",
            json={"shortcut": "refund", "title": "Refund", "body": "7 days.", "department": sales},
        )
        assert r.status_code == 200, r.text
        # Deleted: a global one, so everyone.
        assert (await http.delete(f"/api/v1/canned/{hi}")).status_code == 204

    # A barrier on the same staff channel, published after every change above: once
    # Jonas has Petras's presence frame, every canned.changed due to him has arrived.
    await petras.cmd("status.set", status="away")
    await jonas.wait_for(lambda f: f.get("t") == "presence" and f["status"] == "away")
    await petras.wait_for(lambda f: f.get("t") == "presence" and f["status"] == "away")
    assert len(changes(jonas)) == 3  # global, moved into Sales, global deleted
    assert len(changes(petras)) == 4  # global, Billing's, moved out of Billing, deleted
    assert all(f == {"t": "canned.changed"} for f in changes(jonas) + changes(petras))
    await jonas.close()
    await petras.close()


async def test_a_console_follows_its_agents_department_moves(server: Server) -> None:
    """Memberships are read at hello and again when an admin changes them: an agent moved
    into a department hears of its responses without reconnecting, and stops hearing of
    the one they left.
    """
    server.create_user("admin@example.com", "admin", name="Ada")
    cookie, csrf = await login(server.base, "admin@example.com", AGENT_PASSWORD)
    admin = {"Cookie": cookie, "X-CSRF-Token": csrf}
    async with httpx.AsyncClient(base_url=server.base, headers=admin) as http:
        users = {u["email"]: u["id"] for u in (await http.get("/api/v1/users")).json()}
        jonas_id = users["agent@example.com"]
        sales = (await http.post("/api/v1/departments", json={"name": "Sales"})).json()["id"]
        billing = (await http.post("/api/v1/departments", json={"name": "Billing"})).json()["id"]
        move = f"/api/v1/users/{jonas_id}/departments"
        assert (await http.put(move, json={"departments": [billing]})).status_code == 200
        jonas, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)

        # Moved from Billing to Sales while the console is open.
        assert (await http.put(move, json={"departments": [sales]})).status_code == 200
        away = False
        for dep, shortcut, heard in ((billing, "refund", 0), (sales, "offer", 1)):
            r = await http.post(
                "/api/v1/canned",
                json={"shortcut": shortcut, "title": "T", "body": "B", "department": dep},
            )
            assert r.status_code == 201, r.text
            # Barrier: Jonas's own status change travels on the same staff channel.
            away = not away
            status = "away" if away else "online"
            await jonas.cmd("status.set", status=status)
            await jonas.wait_for(lambda f, s=status: f.get("t") == "presence" and f["status"] == s)
            assert len(changes(jonas)) == heard, shortcut
    await jonas.close()
