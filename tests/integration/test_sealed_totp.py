"""A sealed TOTP secret that no longer opens — altered in the database, or copied from
another account's row — against a real ``bastion serve`` over HTTP (SQLite and
PostgreSQL): the second step fails closed with 409 ``second_factor_unavailable``, never
a 500 and never a way in; recovery codes and e-mailed codes still sign in; setting up
the authenticator again replaces the broken secret; the event is audited and logged by
id only."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pyotp
import pytest

from tests.support.mail import MailSink
from tests.support.server import AGENT_PASSWORD, Server

AGENT = "agent@example.com"
OTHER = "other@example.com"
ADMIN = "admin@example.com"
PERIOD_S = 30

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def srv(backend: str | None, tmp_path: Path, mail_sink: MailSink) -> Iterator[Server]:
    server = Server(
        data_dir=tmp_path / "data",
        database_url=backend,
        extra_env={
            "BASTION_SMTP_URL": mail_sink.url,
            "BASTION_MAIL_FROM": "Bastion <bastion@example.com>",
            "BASTION_RL_LOGIN": "1000/minute",
        },
    )
    server.data_dir.mkdir()
    try:
        server.start()
        for email, role in ((AGENT, "agent"), (OTHER, "agent"), (ADMIN, "admin")):
            server.create_user(email, role)
        yield server
    finally:
        server.stop()


async def _sql(srv: Server, query: str, *args: object) -> list[tuple[object, ...]]:
    """Run one statement straight on the server's database (``?`` placeholders)."""
    if srv.database_url is None:

        def go() -> list[tuple[object, ...]]:
            with sqlite3.connect(srv.data_dir / "bastion.db", timeout=30) as db:
                return list(db.execute(query, args).fetchall())

        return await asyncio.to_thread(go)
    for i in range(1, len(args) + 1):
        query = query.replace("?", f"${i}", 1)
    conn = await asyncpg.connect(srv.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return [tuple(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def _sealed(srv: Server, email: str) -> tuple[str, str]:
    ((user_id, sealed),) = await _sql(
        srv, "SELECT id, totp_secret FROM users WHERE email = ?", email
    )
    assert isinstance(user_id, str) and isinstance(sealed, str) and sealed.startswith("e1:")
    return user_id, sealed


def _altered(sealed: str) -> str:
    """The same sealed value with one bit of its authentication tag flipped."""
    blob = bytearray(base64.b64decode(sealed[3:]))
    blob[-1] ^= 0x01
    return "e1:" + base64.b64encode(bytes(blob)).decode()


class Account:
    """One staff member's HTTP session on the test server."""

    def __init__(self, http: httpx.AsyncClient, cookie: str, csrf: str) -> None:
        self.http = http
        self.headers = {"Cookie": cookie, "X-CSRF-Token": csrf}

    @classmethod
    async def open(cls, http: httpx.AsyncClient, email: str, otp: str | None = None) -> Account:
        body = {"email": email, "password": AGENT_PASSWORD} | ({"otp": otp} if otp else {})
        r = await http.post("/api/v1/auth/login", json=body)
        assert r.status_code == 200, r.text
        cookie = f"bastion_session={r.cookies['bastion_session']}"
        http.cookies.clear()  # each request names its session explicitly
        return cls(http, cookie, r.json()["csrf_token"])

    async def post(self, path: str, body: dict[str, object] | None = None) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.headers)

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path, headers=self.headers)

    async def enrol_totp(self) -> tuple[pyotp.TOTP, list[str]]:
        setup = await self.post("/api/v1/auth/totp/setup", {"password": AGENT_PASSWORD})
        assert setup.status_code == 200, setup.text
        totp = pyotp.TOTP(setup.json()["secret"], interval=PERIOD_S)
        done = await self.post("/api/v1/auth/totp/confirm", {"code": totp.now()})
        assert done.status_code == 200, done.text
        return totp, done.json()["recovery_codes"]


async def _login(http: httpx.AsyncClient, email: str, otp: str | None) -> httpx.Response:
    body = {"email": email, "password": AGENT_PASSWORD} | ({"otp": otp} if otp else {})
    r = await http.post("/api/v1/auth/login", json=body)
    http.cookies.clear()
    return r


def _next_code(totp: pyotp.TOTP) -> str:
    # The confirm or the last login claimed the current step; the window takes the next.
    return totp.at(time.time() + PERIOD_S)


async def test_an_altered_secret_fails_closed_and_recovery_still_works(srv: Server) -> None:
    async with httpx.AsyncClient(base_url=srv.base) as http:
        agent = await Account.open(http, AGENT)
        totp, recovery = await agent.enrol_totp()
        user_id, sealed = await _sealed(srv, AGENT)
        await _sql(srv, "UPDATE users SET totp_secret = ? WHERE id = ?", _altered(sealed), user_id)

        # The password alone still asks for the second step (it did not vanish).
        r = await _login(http, AGENT, None)
        assert (r.status_code, r.json()["code"]) == (401, "otp_required"), r.text
        # No mail set up on this server (and not turned on): no e-mailed code is offered.
        assert r.json()["email_code"] is False
        # The app's code cannot be checked: a stable refusal, not a 500, not a session.
        r = await _login(http, AGENT, totp.now())
        assert (r.status_code, r.json()["code"]) == (409, "second_factor_unavailable"), r.text
        assert "bastion_session" not in r.cookies
        assert "recovery code" in r.json()["message"]
        # A wrong recovery code is an ordinary wrong code.
        r = await _login(http, AGENT, "aaaa-bbbb-cccc")
        assert (r.status_code, r.json()["code"]) == (401, "invalid_otp"), r.text

        # Admins still see the account (the list reads every user's row).
        admin = await Account.open(http, ADMIN)
        users = await admin.get("/api/v1/users")
        assert users.status_code == 200, users.text
        listed = {u["email"]: (u["totp_enabled"], u["totp_unreadable"]) for u in users.json()}
        assert listed[AGENT] == (True, True)  # the admins' list flags the broken app
        assert listed[ADMIN] == (False, False)
        audit = await admin.get("/api/v1/audit?action=auth.second_factor_unavailable")
        assert audit.status_code == 200, audit.text
        assert [(e["actor"], e["details"]) for e in audit.json()] == [(user_id, {"factor": "totp"})]
        # The log names the staff member (as the users' list does), not only their id.
        agent_name = next(u["name"] for u in users.json() if u["email"] == AGENT)
        assert agent_name and audit.json()[0]["actor_name"] == agent_name

        # A recovery code signs in; setting up the app again replaces the broken secret,
        # which keeps refusing until the new one is confirmed.
        agent = await Account.open(http, AGENT, recovery[0])
        me = await agent.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["user"]["totp_enabled"] is True
        assert me.json()["user"]["totp_unreadable"] is True  # the console offers a new set-up
        setup = await agent.post("/api/v1/auth/totp/setup", {"password": AGENT_PASSWORD})
        assert setup.status_code == 200, setup.text
        r = await _login(http, AGENT, totp.now())
        assert (r.status_code, r.json()["code"]) == (409, "second_factor_unavailable"), r.text
        fresh = pyotp.TOTP(setup.json()["secret"], interval=PERIOD_S)
        done = await agent.post("/api/v1/auth/totp/confirm", {"code": fresh.now()})
        assert done.status_code == 200, done.text
        me = await agent.get("/api/v1/auth/me")
        assert me.json()["user"]["totp_unreadable"] is False
        users = await admin.get("/api/v1/users")
        assert {u["email"]: u["totp_unreadable"] for u in users.json()}[AGENT] is False
        r = await _login(http, AGENT, _next_code(fresh))
        assert r.status_code == 200, r.text
        r = await _login(http, AGENT, _next_code(totp))
        assert (r.status_code, r.json()["code"]) == (401, "invalid_otp"), r.text

    log = srv.log_path.read_text() if srv.log_path else ""
    assert "staff_secret_unreadable" in log and user_id in log
    assert "Traceback" not in log and "unhandled_error" not in log
    assert totp.secret not in log and sealed not in log
    assert all(code not in log for code in recovery)


async def test_a_secret_copied_from_another_account_does_not_sign_in(
    srv: Server, mail_sink: MailSink
) -> None:
    async with httpx.AsyncClient(base_url=srv.base) as http:
        other = await Account.open(http, OTHER)
        other_totp, _ = await other.enrol_totp()
        agent = await Account.open(http, AGENT)
        await agent.enrol_totp()
        r = await agent.post("/api/v1/auth/email-otp/enable", {"password": AGENT_PASSWORD})
        assert r.status_code == 202, r.text
        r = await agent.post(
            "/api/v1/auth/email-otp/confirm",
            {"code": (await mail_sink.await_message(AGENT)).code()},
        )
        assert r.status_code == 204, r.text

        # Someone with write access to the database copies their own sealed secret over
        # the agent's, hoping their app's codes will sign in as the agent.
        _, theirs = await _sealed(srv, OTHER)
        agent_id, _ = await _sealed(srv, AGENT)
        await _sql(srv, "UPDATE users SET totp_secret = ? WHERE id = ?", theirs, agent_id)
        r = await _login(http, AGENT, _next_code(other_totp))
        assert (r.status_code, r.json()["code"]) == (409, "second_factor_unavailable"), r.text
        assert "bastion_session" not in r.cookies

        # The e-mailed code still signs the agent in; the other account is untouched.
        creds = {"email": AGENT, "password": AGENT_PASSWORD}
        r = await http.post("/api/v1/auth/login/email-code", json=creds)
        assert r.status_code == 202, r.text
        code = (await mail_sink.await_message(AGENT, 2)).code()
        r = await _login(http, AGENT, code)
        assert r.status_code == 200, r.text
        r = await _login(http, OTHER, _next_code(other_totp))
        assert r.status_code == 200, r.text
