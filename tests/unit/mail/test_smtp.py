"""The SMTP adapter against a real aiosmtpd: STARTTLS required, AUTH with percent-encoded
credentials, clear failures; and the settings that configure it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from bastion.domain.errors import MailFailed
from bastion.domain.models import OutgoingMail
from bastion.mail.smtp import BackgroundMailer, SmtpMailer, parse_smtp_url
from bastion.settings import SettingsError, load_settings
from tests.support.mail import MailSink
from tests.support.server import free_port

MAIL = OutgoingMail(to="ona@example.com", subject="Hello", body="line one\nline two\n")


@pytest.fixture
def ca(tmp_path: Path) -> Iterator[tuple[trustme.CA, Path]]:
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    yield authority, bundle


def _server_tls(authority: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


async def test_starttls_and_login_with_encoded_password(ca: tuple[trustme.CA, Path]) -> None:
    authority, bundle = ca
    sink = MailSink(tls=_server_tls(authority), users={"bastion@example.com": "p@ss:w/rd"}).start()
    try:
        url = f"smtp://bastion%40example.com:p%40ss%3Aw%2Frd@127.0.0.1:{sink.port}"
        await SmtpMailer(url, "Bastion <bastion@example.com>", ca_file=str(bundle)).send(MAIL)
        got = sink.wait("ona@example.com")
        assert got.tls and got.login == "bastion@example.com"
        assert got.subject == "Hello" and got.body == MAIL.body
        assert got.sender == "bastion@example.com"
        assert got.message["Message-ID"] and got.message["Date"]

        # A certificate the client does not trust: refused, with a stable error.
        with pytest.raises(MailFailed) as failed:
            await SmtpMailer(url, "bastion@example.com").send(MAIL)
        assert failed.value.code == "mail_failed"
        # A wrong password: refused the same way; nothing delivered.
        bad = f"smtp://bastion%40example.com:nope@127.0.0.1:{sink.port}"
        with pytest.raises(MailFailed):
            await SmtpMailer(bad, "bastion@example.com", ca_file=str(bundle)).send(MAIL)
        assert len(sink.messages()) == 1
    finally:
        sink.stop()


async def test_starttls_is_required_unless_turned_off(mail_sink: MailSink) -> None:
    # The sink offers no STARTTLS: a smtp:// URL refuses to send in the clear.
    url = f"smtp://127.0.0.1:{mail_sink.port}"
    with pytest.raises(MailFailed):
        await SmtpMailer(url, "bastion@example.com").send(MAIL)
    assert mail_sink.messages() == []
    await SmtpMailer(url + "?tls=off", "bastion@example.com").send(MAIL)
    assert not mail_sink.wait().tls


async def test_unreachable_server_and_background_delivery(mail_sink: MailSink) -> None:
    down = SmtpMailer(f"smtp://127.0.0.1:{free_port()}?tls=off", "bastion@example.com")
    with pytest.raises(MailFailed):
        await down.send(MAIL)
    background = BackgroundMailer(down)
    await background.send(MAIL)  # answers at once; the failure is counted, not raised
    await background.drain()
    assert background.failed == 1
    live = BackgroundMailer(SmtpMailer(mail_sink.url, "bastion@example.com"))
    await live.send(MAIL)
    await live.drain()
    assert live.failed == 0 and len(mail_sink.messages()) == 1


def test_url_parsing_and_secret_hiding() -> None:
    target = parse_smtp_url("smtps://u:p%2Fw@mail.example.com")
    assert (target.host, target.port, target.implicit_tls, target.starttls) == (
        "mail.example.com",
        465,
        True,
        False,
    )
    assert target.password == "p/w" and "p/w" not in repr(target)
    assert parse_smtp_url("smtp://mail.example.com").port == 587
    settings = load_settings(
        {"BASTION_SMTP_URL": "smtp://u:hunter2@mail.example.com", "BASTION_MAIL_FROM": "a@b.c"}
    )
    assert "hunter2" not in repr(settings) and settings.mail_enabled


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BASTION_SMTP_URL": "http://mail.example.com"}, "BASTION_SMTP_URL"),
        ({"BASTION_SMTP_URL": "smtp://mail.example.com"}, "BASTION_MAIL_FROM"),
        ({"BASTION_SMTP_URL": "smtp://mail.example.com:99999"}, "BASTION_SMTP_URL"),
        ({"BASTION_SMTP_URL": "smtp://u:secretpw@mail.example.com?tls=off"}, "localhost"),
        ({"BASTION_SMTP_URL": "smtp://mail.example.com?starttls=no"}, "tls=off"),
        ({"BASTION_PASSWORD_RESET_TTL_S": "5"}, "BASTION_PASSWORD_RESET_TTL_S"),
        ({"BASTION_EMAIL_OTP_TTL_S": "86400"}, "BASTION_EMAIL_OTP_TTL_S"),
        ({"BASTION_RL_RESET_ACCOUNT": "lots"}, "BASTION_RL_RESET_ACCOUNT"),
        ({"BASTION_SMTP_CA_FILE": "/nonexistent/ca.pem"}, "BASTION_SMTP_CA_FILE"),
    ],
)
def test_bad_mail_settings_are_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"BASTION_MAIL_FROM": "", **env})
    assert named in str(err.value)
    assert "secretpw" not in str(err.value)
