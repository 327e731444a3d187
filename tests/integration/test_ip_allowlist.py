"""The staff IP allow-list through a trusted proxy and an untrusted one, session
fixation (a login always issues a new session, never one the client chose), and saving
the security policy all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.client import login
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


async def test_a_policy_save_is_all_or_nothing(tmp_path: Path) -> None:
    """The console's Security tab sends every field on each save: a list that would lock
    the admin out refuses the whole save (the roles were committed before it), the
    refusal is audited, and fields that did not change are neither written nor audited.
    The CLI saves all or nothing too.
    """
    srv = _server(tmp_path, None)
    try:
        srv.start()
        srv.create_user("admin@example.com", "admin", name="Ada")
        cookie, csrf = await login(srv.base, "admin@example.com", AGENT_PASSWORD)
        headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
        async with httpx.AsyncClient(base_url=srv.base, headers=headers) as http:

            async def policy_audit() -> list[tuple[str, dict[str, object]]]:
                r = await http.get("/api/v1/audit", params={"action": "policy."})
                assert r.status_code == 200, r.text
                return [(e["action"], e["details"]) for e in reversed(r.json())]

            before = (await http.get("/api/v1/security/policy")).json()
            save = {
                "require_2fa_roles": ["agent"],
                "ip_allowlist": ["10.0.0.0/8"],  # this client is 127.0.0.1
                "allow_email_otp": False,
            }
            r = await http.put("/api/v1/security/policy", json=save)
            assert (r.status_code, r.json()["code"]) == (403, "forbidden"), r.text
            assert "locked out" in r.json()["message"]
            assert (await http.get("/api/v1/security/policy")).json() == before
            refused = (
                "policy.refused",
                {"setting": "staff_ip_allowlist", "reason": "excludes_own_address"},
            )
            assert await policy_audit() == [refused]

            save["ip_allowlist"] = ["127.0.0.0/8"]
            r = await http.put("/api/v1/security/policy", json=save)
            assert (r.status_code, r.json()) == (200, save), r.text
            saved = [
                ("policy.require_2fa_roles", {"value": ["agent"]}),
                ("policy.staff_ip_allowlist", {"value": ["127.0.0.0/8"]}),
                ("policy.allow_email_otp", {"value": False}),
            ]
            assert await policy_audit() == [refused, *saved]
            r = await http.put("/api/v1/security/policy", json=save)  # the same again
            assert (r.status_code, r.json()) == (200, save), r.text
            assert await policy_audit() == [refused, *saved]

        # A bad range refuses the roles given with it.
        out = cli(
            srv.env,
            "security",
            "policy",
            "--require-2fa",
            "supervisor",
            "--allow-ip",
            "nonsense",
            check=False,
        )
        assert out.returncode != 0 and "not an address range" in out.stderr + out.stdout
        shown = json.loads(cli(srv.env, "security", "policy", "--json").stdout)
        assert shown == save
    finally:
        srv.stop()
