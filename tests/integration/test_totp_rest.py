"""Setting up two-step login (TOTP) over HTTP against a real ``bastion serve``: a session
alone — its cookie and CSRF token, as a thief would have them — can neither see a new
secret nor turn the app on and take the recovery codes; the set-up needs the password."""

from __future__ import annotations

import httpx
import pyotp

from tests.support.client import login
from tests.support.server import AGENT_PASSWORD, Server

AGENT = "agent@example.com"
ADMIN = "admin@example.com"


async def test_a_session_alone_cannot_set_up_two_step_login(sqlite_server: Server) -> None:
    srv = sqlite_server
    srv.create_user(ADMIN, "admin", name="Ada")
    cookie, csrf = await login(srv.base, AGENT, AGENT_PASSWORD)
    async with httpx.AsyncClient(
        base_url=srv.base, headers={"Cookie": cookie, "X-CSRF-Token": csrf}
    ) as http:
        r = await http.post("/api/v1/auth/totp/setup", json={})
        assert (r.status_code, r.json()["code"]) == (422, "invalid_request"), r.text
        r = await http.post("/api/v1/auth/totp/setup", json={"password": "not the password"})
        assert (r.status_code, r.json()["code"]) == (401, "invalid_credentials"), r.text
        assert r.json()["field"] == "password" and "secret" not in r.json()
        r = await http.post("/api/v1/auth/totp/confirm", json={"code": "123456"})
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), r.text  # nothing pending
        assert (await http.get("/api/v1/auth/me")).json()["user"]["totp_enabled"] is False

        r = await http.post("/api/v1/auth/totp/setup", json={"password": AGENT_PASSWORD})
        assert r.status_code == 200, r.text
        totp = pyotp.TOTP(r.json()["secret"])
        r = await http.post("/api/v1/auth/totp/confirm", json={"code": totp.now()})
        assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10, r.text

    cookie, csrf = await login(srv.base, ADMIN, AGENT_PASSWORD)
    async with httpx.AsyncClient(base_url=srv.base, headers={"Cookie": cookie}) as http:
        r = await http.get("/api/v1/audit", params={"action": "auth."})
        assert r.status_code == 200, r.text
        entries = [(e["action"], e["details"]) for e in r.json()]
    # The wrong password is a failed attempt (it counts towards the account's lock).
    assert ("auth.login_failed", {"reason": "password_confirm"}) in entries
    assert ("auth.totp_enabled", {}) in entries
