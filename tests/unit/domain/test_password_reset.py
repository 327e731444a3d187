"""Password reset by an e-mailed link: single use, expiry, sessions ended, second factor
kept, no enumeration, rate limits. Mail goes to a real aiosmtpd server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest

from bastion.domain.errors import (
    InvalidCredentials,
    MailUnavailable,
    NotAuthenticated,
    OtpRequired,
    RateLimited,
    ResetTokenInvalid,
    WeakPassword,
)
from bastion.domain.events import STAFF_CHANNEL, sessions_ended_notice
from bastion.domain.models import OutgoingMail, Role
from bastion.domain.password_reset import PasswordResetService, reset_token
from bastion.domain.ports import UnitOfWork
from bastion.mail.smtp import BackgroundMailer, SmtpMailer
from bastion.security.envelope import FileKeyStore
from bastion.security.passwords import PasswordHasher
from bastion.security.ratelimit import RateLimiter
from bastion.security.totp import PERIOD_S
from bastion.storage.uow import SqlUnitOfWorkFactory
from tests.support.factories import PASSWORD, World, make_world
from tests.support.mail import MailSink
from tests.unit.conftest import mail_env

EMAIL = "ona@example.com"
NEW_PASSWORD = "violet kettle under seven bridges"


async def _reset(world: World, sink: MailSink, count: int = 1, ip: str = "10.0.0.9") -> str:
    await world.svc.password_reset.request(EMAIL, ip)
    return (await sink.await_message(EMAIL, count)).reset_token()


async def test_reset_sets_password_ends_sessions_and_keeps_the_second_factor(
    mail_world: World, mail_sink: MailSink
) -> None:
    world = mail_world
    await world.staff(EMAIL)
    first = await world.svc.auth.login(EMAIL, PASSWORD, None, ip="10.0.0.1", user_agent="a")
    principal, _ = await world.svc.staff.authenticate(first.session_token)
    setup = await world.svc.auth.totp_setup(principal, PASSWORD, None)
    totp = pyotp.TOTP(setup["secret"], interval=PERIOD_S)
    await world.svc.auth.totp_confirm(principal, totp.at(world.clock.now()), None)

    token = await _reset(world, mail_sink)
    mail = mail_sink.messages(EMAIL)[0]
    assert mail.reset_link().startswith("https://chat.example.com/console/reset-password#token=")
    assert "30 minutes" in mail.body
    assert mail.sender == "bastion@example.com"

    await world.svc.password_reset.confirm(token, NEW_PASSWORD, "10.0.0.2")

    with pytest.raises(NotAuthenticated):  # every session of the user ended
        await world.svc.staff.authenticate(first.session_token)
    # ...and their open agent sockets are told, so none outlives its session.
    assert (STAFF_CHANNEL, sessions_ended_notice([principal.user_id])) in world.bus.published
    with pytest.raises(InvalidCredentials):
        await world.svc.auth.login(EMAIL, PASSWORD, None, ip=None, user_agent=None)
    with pytest.raises(OtpRequired):  # the reset did not turn two-step login off
        await world.svc.auth.login(EMAIL, NEW_PASSWORD, None, ip=None, user_agent=None)
    world.clock.advance(seconds=PERIOD_S)
    code = totp.at(world.clock.now())
    await world.svc.auth.login(EMAIL, NEW_PASSWORD, code, ip=None, user_agent=None)

    admin = await world.staff("admin@example.com", Role.ADMIN)
    actions = [e.action for e in await world.svc.auth.audit(admin, 20, "auth.password")]
    assert "auth.password_reset" in actions and "auth.password_reset_requested" in actions
    entry = next(e for e in await world.svc.auth.audit(admin, 20, "auth.password_reset"))
    assert entry.details["sessions_ended"] == 1
    assert token not in str(entry.details)


async def test_link_works_once_ends_the_others_and_expires(
    mail_world: World, mail_sink: MailSink
) -> None:
    world = mail_world
    await world.staff(EMAIL)
    older = await _reset(world, mail_sink, 1)
    newer = await _reset(world, mail_sink, 2)
    assert older != newer

    # A weak password is refused without using the link up.
    with pytest.raises(WeakPassword):
        await world.svc.password_reset.confirm(newer, "password1234", None)
    await world.svc.password_reset.confirm(newer, NEW_PASSWORD, None)
    with pytest.raises(ResetTokenInvalid):  # used
        await world.svc.password_reset.confirm(newer, NEW_PASSWORD + "!", None)
    with pytest.raises(ResetTokenInvalid):  # the other outstanding link ended with it
        await world.svc.password_reset.confirm(older, NEW_PASSWORD + "!", None)
    with pytest.raises(ResetTokenInvalid):  # never issued
        await world.svc.password_reset.confirm(reset_token(), NEW_PASSWORD, None)

    late = await _reset(world, mail_sink, 3)
    world.clock.advance(minutes=30, seconds=1)
    with pytest.raises(ResetTokenInvalid):
        await world.svc.password_reset.confirm(late, "another fine long passphrase", None)
    await world.svc.auth.login(EMAIL, NEW_PASSWORD, None, ip=None, user_agent=None)


class CountingUow:
    """The real unit-of-work factory, counting the transactions asked of it."""

    def __init__(self, inner: SqlUnitOfWorkFactory) -> None:
        self.inner = inner
        self.calls: list[bool] = []

    def __call__(self, *, write: bool = True) -> UnitOfWork:
        self.calls.append(write)
        return self.inner(write=write)


class RecordingMailer:
    """The real background SMTP mailer, with a record of what it was handed."""

    def __init__(self, inner: BackgroundMailer) -> None:
        self.inner = inner
        self.sent: list[OutgoingMail] = []

    async def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)
        await self.inner.send(mail)


async def test_unknown_addresses_get_the_same_answer_after_the_same_work(
    mail_world: World, mail_sink: MailSink
) -> None:
    world = mail_world
    await world.staff(EMAIL)
    settings = world.svc.settings
    uow = CountingUow(
        SqlUnitOfWorkFactory(world.svc.db, world.bus, FileKeyStore(settings.resolved_kek_file))
    )
    mailer = RecordingMailer(BackgroundMailer(SmtpMailer(mail_sink.url, "bastion@example.com")))
    tokens: list[str] = []

    def token() -> str:
        tokens.append(reset_token())
        return tokens[-1]

    service = PasswordResetService(
        uow,
        world.clock,
        PasswordHasher(time_cost=1, memory_kib=8192),
        mailer,
        RateLimiter({"mail_ip": "100/minute", "reset_account": "100/minute"}),
        ttl_s=1800,
        base_url="https://chat.example.com",
        tokens=token,
    )

    def trace() -> dict[str, Any]:
        return {"uow": list(uow.calls), "tokens": len(tokens)}

    known = await service.request(EMAIL, "10.0.0.5")
    known_trace = trace()
    uow.calls.clear()
    tokens.clear()
    unknown = await service.request("nobody@example.com", "10.0.0.5")
    assert unknown == known is None
    assert trace() == known_trace == {"uow": [True], "tokens": 1}
    # Only the real account gets mail; the sending happens after the answer.
    assert [m.to for m in mailer.sent] == [EMAIL]
    await mailer.inner.drain()
    assert [m.to for m in mail_sink.messages()] == [EMAIL]

    # A disabled account is treated like an unknown one.
    gone = await world.staff("gone@example.com")
    async with uow.inner() as tx:
        await tx.users.set_disabled(gone.user_id, True)
        await tx.commit()
    uow.calls.clear()
    tokens.clear()
    await service.request("gone@example.com", "10.0.0.5")
    assert trace() == known_trace
    assert [m.to for m in mailer.sent] == [EMAIL]


async def test_requests_are_limited_per_address_and_per_ip(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    limits = {"BASTION_RL_RESET_ACCOUNT": "2/hour", "BASTION_RL_MAIL_IP": "4/hour"}
    world = await make_world(tmp_path, **mail_env(mail_sink, **limits))
    try:
        await world.staff(EMAIL)
        reset = world.svc.password_reset
        await reset.request(EMAIL, "10.0.0.1")
        await reset.request(EMAIL, "10.0.0.2")
        await reset.request(EMAIL, "10.0.0.3")  # over the address's limit: same answer, no mail
        await mail_sink.await_message(EMAIL, 2)
        await world.svc.outbox.drain()  # type: ignore[union-attr]
        assert len(mail_sink.messages(EMAIL)) == 2
        # The per-address limit counts unknown addresses too (the same answer either way).
        for _ in range(3):
            await reset.request("ghost@example.com", "10.0.0.7")
        await reset.request("ghost2@example.com", "10.0.0.7")
        with pytest.raises(RateLimited) as limited:  # fifth from one address
            await reset.request("ghost3@example.com", "10.0.0.7")
        assert limited.value.retry_after > 0
    finally:
        await world.svc.db.dispose()


async def test_reset_is_unavailable_without_mail(world: World) -> None:
    await world.staff(EMAIL)
    with pytest.raises(MailUnavailable) as off:
        await world.svc.password_reset.request(EMAIL, None)
    assert off.value.code == "mail_unavailable"
    with pytest.raises(MailUnavailable):  # the same for unknown addresses
        await world.svc.password_reset.request("nobody@example.com", None)
