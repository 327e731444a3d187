"""Passkeys over HTTP against a real server: the JSON shapes a browser exchanges, the
cookie and CSRF rules, the new session, and the login rate limit on the passkey routes.

The browser is the software authenticator of ``tests/support/authenticator.py``; the
Chromium flow is ``tests/e2e/test_passkeys.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.authenticator import SoftAuthenticator
from tests.support.client import login
from tests.support.server import AGENT_PASSWORD, Server, free_port

EMAIL = "agent@example.com"


@pytest.fixture
def localhost_server(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    port = free_port()
    origin = f"http://localhost:{port}"
    srv = Server(
        data_dir=tmp_path / "data",
        database_url=None,
        port=port,
        extra_env={"BASTION_PUBLIC_URL": origin, "BASTION_RL_LOGIN": "6/minute"},
    )
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user(EMAIL, "agent", name="Jonas")
        yield srv, origin
    finally:
        srv.stop()


async def test_passkey_over_http(localhost_server: tuple[Server, str]) -> None:
    srv, origin = localhost_server
    key = SoftAuthenticator(origin=origin)
    cookie, csrf = await login(srv.base, EMAIL, AGENT_PASSWORD)
    staff = {"Cookie": cookie, "X-CSRF-Token": csrf}
    async with httpx.AsyncClient(base_url=srv.base) as http:
        r = await http.post(
            "/api/v1/auth/passkeys/register/options",
            json={"password": AGENT_PASSWORD},
            headers={"Cookie": cookie},
        )
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")  # no CSRF token
        r = await http.post(
            "/api/v1/auth/passkeys/register/options",
            json={"password": AGENT_PASSWORD},
            headers=staff,
        )
        assert r.status_code == 200, r.text
        ceremony = r.json()
        assert ceremony["public_key"]["rp"] == {"name": "Bastion", "id": "localhost"}
        r = await http.post(
            "/api/v1/auth/passkeys/register",
            json={
                "ceremony": ceremony["ceremony"],
                "credential": key.create(ceremony["public_key"]),
                "name": "Laptop",
            },
            headers=staff,
        )
        assert r.status_code == 201, r.text
        listed = (await http.get("/api/v1/auth/passkeys", headers=staff)).json()
        assert [p["name"] for p in listed] == ["Laptop"]

        # The password alone: the server asks for the passkey.
        r = await http.post("/api/v1/auth/login", json={"email": EMAIL, "password": AGENT_PASSWORD})
        assert (r.status_code, r.json()["code"]) == (401, "passkey_required")

        # Passwordless: a new session cookie, as /auth/login sets it.
        r = await http.post("/api/v1/auth/passkeys/login/options", json={})
        options = r.json()
        assert options["public_key"]["userVerification"] == "required"
        r = await http.post(
            "/api/v1/auth/passkeys/login",
            json={"ceremony": options["ceremony"], "credential": key.get(options["public_key"])},
        )
        assert r.status_code == 200, r.text
        set_cookie = r.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
        new_cookie = set_cookie.split(";", 1)[0]
        assert new_cookie != cookie
        me = await http.get("/api/v1/auth/me", headers={"Cookie": new_cookie})
        assert me.json()["user"]["email"] == EMAIL and me.json()["enrollment_required"] is False

        # Replaying the same answer is refused with the one neutral code.
        r = await http.post(
            "/api/v1/auth/passkeys/login",
            json={"ceremony": options["ceremony"], "credential": key.get(options["public_key"])},
        )
        assert (r.status_code, r.json()["code"]) == (401, "passkey_invalid")

        # The passkey routes count against the login rate limit (6/minute here: 5 used).
        codes = []
        for _ in range(3):
            r = await http.post("/api/v1/auth/passkeys/login/options", json={})
            codes.append(r.status_code)
        assert codes[-1] == 429 and r.json()["code"] == "rate_limited", codes
