"""Account recovery over HTTP against a real ``bastion serve`` and a real SMTP server
(aiosmtpd): password reset end to end, e-mailed sign-in codes, the CLI, and server logs
that never hold a token or a code (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import login
from tests.support.mail import MailSink
from tests.support.server import AGENT_PASSWORD, Server, cli

EMAIL = "agent@example.com"
NEW_PASSWORD = "seven violet kettles humming"

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def mail_server(backend: str | None, tmp_path: Path, mail_sink: MailSink) -> Iterator[Server]:
    srv = Server(
        data_dir=tmp_path / "data",
        database_url=backend,
        extra_env={
            "BASTION_SMTP_URL": mail_sink.url,
            "BASTION_MAIL_FROM": "Bastion <bastion@example.com>",
        },
    )
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user(EMAIL, "agent", name="Jonas")
        yield srv
    finally:
        srv.stop()


def server_log(srv: Server) -> str:
    """Everything the server wrote to stdout and stderr."""
    assert srv.log_path is not None
    return srv.log_path.read_text()


async def test_password_reset_end_to_end(mail_server: Server, mail_sink: MailSink) -> None:
    srv = mail_server
    cookie, _csrf = await login(srv.base, EMAIL, AGENT_PASSWORD)
    async with httpx.AsyncClient(base_url=srv.base) as http:
        features = await http.get("/api/v1/auth/features")
        assert features.json() == {"password_reset_available": True}
        known = await http.post("/api/v1/auth/password-reset", json={"email": EMAIL.upper()})
        unknown = await http.post(
            "/api/v1/auth/password-reset", json={"email": "nobody@example.com"}
        )
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json()
        mail = await mail_sink.await_message(EMAIL)
        assert mail.reset_link().startswith(f"{srv.base}/console/reset-password#token=")
        token = mail.reset_token()

        weak = await http.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": "password"},
        )
        assert (weak.status_code, weak.json()["code"]) == (422, "weak_password")
        done = await http.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD},
        )
        assert done.status_code == 204, done.text
        again = await http.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD + "!"},
        )
        assert (again.status_code, again.json()["code"]) == (400, "reset_token_invalid")

        # The session from before the reset has ended; the new password works.
        me = await http.get("/api/v1/auth/me", headers={"Cookie": cookie})
        assert me.status_code == 401
        old = await http.post(
            "/api/v1/auth/login", json={"email": EMAIL, "password": AGENT_PASSWORD}
        )
        assert old.status_code == 401
    await login(srv.base, EMAIL, NEW_PASSWORD)
    # Only one message: nothing went to the unknown address.
    assert [m.recipients for m in mail_sink.messages()] == [(EMAIL,)]

    log = server_log(srv)
    assert token not in log and token.split("_", 1)[1] not in log
    assert NEW_PASSWORD not in log


async def test_emailed_code_sign_in(mail_server: Server, mail_sink: MailSink) -> None:
    srv = mail_server
    cookie, csrf = await login(srv.base, EMAIL, AGENT_PASSWORD)
    auth = {"Cookie": cookie, "X-CSRF-Token": csrf}
    codes: list[str] = []
    async with httpx.AsyncClient(base_url=srv.base) as http:
        r = await http.post(
            "/api/v1/auth/email-otp/enable", json={"password": AGENT_PASSWORD}, headers=auth
        )
        assert r.status_code == 202, r.text
        codes.append((await mail_sink.await_message(EMAIL)).code())
        r = await http.post(
            "/api/v1/auth/email-otp/confirm", json={"code": codes[-1]}, headers=auth
        )
        assert r.status_code == 204, r.text
        me = await http.get("/api/v1/auth/me", headers={"Cookie": cookie})
        assert me.json()["user"]["email_otp_enabled"] is True

        creds = {"email": EMAIL, "password": AGENT_PASSWORD}
        r = await http.post("/api/v1/auth/login", json=creds)
        assert (r.status_code, r.json()["code"]) == (401, "otp_required")
        assert r.json()["email_code"] is True  # the login form may offer to e-mail one
        r = await http.post("/api/v1/auth/login/email-code", json=creds)
        assert r.status_code == 202, r.text
        codes.append((await mail_sink.await_message(EMAIL, 2)).code())
        r = await http.post("/api/v1/auth/login", json={**creds, "otp": codes[-1]})
        assert r.status_code == 200, r.text
        r = await http.post("/api/v1/auth/login", json={**creds, "otp": codes[-1]})
        assert (r.status_code, r.json()["code"]) == (401, "invalid_otp")

        wrong = await http.post(
            "/api/v1/auth/login/email-code", json={"email": EMAIL, "password": "not it at all"}
        )
        assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
        # Password guesses through this route share the login's per-IP budget.
        codes_seen = set()
        for i in range(12):  # a new address each time: no account lock gets in first
            r = await http.post(
                "/api/v1/auth/login/email-code",
                json={"email": f"ghost{i}@example.com", "password": "a guess at it"},
            )
            codes_seen.add(r.json()["code"])
            if r.status_code == 429:
                break
        assert r.json()["code"] == "rate_limited", codes_seen
    log = server_log(srv)
    assert all(code not in log for code in codes)


def test_cli_sends_a_reset_link_and_prints_nothing_secret(
    mail_server: Server, mail_sink: MailSink
) -> None:
    out = cli(mail_server.env, "user", "reset-password", "--email", EMAIL)
    assert out.stdout.strip() == f"sent a password-reset link to {EMAIL}"
    token = mail_sink.wait(EMAIL).reset_token()
    assert token not in out.stdout + out.stderr
    missing = cli(
        mail_server.env, "user", "reset-password", "--email", "nobody@example.com", check=False
    )
    assert missing.returncode == 1 and "no such user" in missing.stderr


def test_without_smtp_mail_features_are_off_and_say_so(tmp_path: Path) -> None:
    srv = Server(data_dir=tmp_path / "data", database_url=None)
    srv.data_dir.mkdir()
    try:
        srv.start()
        # The sign-in page learns it before anyone signs in, and hides "Forgot password?".
        features = httpx.get(f"{srv.base}/api/v1/auth/features")
        assert features.status_code == 200
        assert features.json() == {"password_reset_available": False}
        r = httpx.post(f"{srv.base}/api/v1/auth/password-reset", json={"email": EMAIL})
        assert (r.status_code, r.json()["code"]) == (503, "mail_unavailable")
        assert "e-mail is not set up" in r.json()["message"]
        assert "E-mail is off (BASTION_SMTP_URL unset)" in server_log(srv)
        off = cli(srv.env, "user", "reset-password", "--email", EMAIL, check=False)
        assert off.returncode == 1 and "e-mail is off" in off.stderr
    finally:
        srv.stop()
