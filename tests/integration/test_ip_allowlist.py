"""The staff IP allow-list through a trusted proxy and an untrusted one, and session
fixation: a login always issues a new session, never one the client chose."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.server import AGENT_PASSWORD, Server, cli

LOGIN = {"email": "agent@example.com", "password": AGENT_PASSWORD}


def _server(tmp_path: Path, trusted: str | None) -> Server:
    env = {"BASTION_TRUSTED_PROXIES": trusted} if trusted else {}
    srv = Server(data_dir=tmp_path / "data", database_url=None, extra_env=env)
    srv.data_dir.mkdir()
    return srv


async def test_allowlist_via_trusted_and_untrusted_proxy(tmp_path: Path) -> None:
    srv = _server(tmp_path, "127.0.0.1/32")
    try:
        srv.start()
        srv.create_user("agent@example.com", "agent", name="Jonas")
        cli(srv.env, "security", "policy", "--allow-ip", "198.51.100.0/24")
        async with httpx.AsyncClient(base_url=srv.base) as http:
            inside = {"X-Forwarded-For": "203.0.113.1, 198.51.100.5"}
            r = await http.post("/api/v1/auth/login", json=LOGIN, headers=inside)
            assert r.status_code == 200, r.text
            me = await http.get("/api/v1/auth/me", headers=inside)
            assert me.status_code == 200
            # The same session from an address outside the list is refused.
            outside = {"X-Forwarded-For": "203.0.113.9"}
            me = await http.get("/api/v1/auth/me", headers=outside)
            assert me.status_code == 403 and me.json()["code"] == "ip_not_allowed"
            # A client cannot smuggle an allowed address left of the proxy's entry.
            spoof = {"X-Forwarded-For": "198.51.100.5, 203.0.113.9"}
            me = await http.get("/api/v1/auth/me", headers=spoof)
            assert me.status_code == 403
    finally:
        srv.stop()


async def test_untrusted_peer_cannot_claim_an_address(tmp_path: Path) -> None:
    srv = _server(tmp_path, None)  # no trusted proxies: X-Forwarded-For is ignored
    try:
        srv.start()
        srv.create_user("agent@example.com", "agent", name="Jonas")
        cli(srv.env, "security", "policy", "--allow-ip", "198.51.100.0/24")
        async with httpx.AsyncClient(base_url=srv.base) as http:
            r = await http.post(
                "/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": "198.51.100.5"}
            )
            assert r.status_code == 403 and r.json()["code"] == "ip_not_allowed"
        cli(srv.env, "security", "policy", "--allow-ip", "any")
        async with httpx.AsyncClient(base_url=srv.base) as http:
            # Session fixation: a cookie the client made up is never adopted; a login
            # replaces it with a fresh server-made session.
            http.cookies.set("bastion_session", "st_attacker_chosen_value")
            assert (await http.get("/api/v1/auth/me")).status_code == 401
            first = await http.post("/api/v1/auth/login", json=LOGIN)
            token1 = first.cookies.get("bastion_session")
            assert token1 and token1 != "st_attacker_chosen_value"
            second = await http.post("/api/v1/auth/login", json=LOGIN)
            assert second.cookies.get("bastion_session") not in (None, token1)
    finally:
        srv.stop()
