"""E-mailed sign-in codes: turning them on, signing in, single use, expiry, attempts,
send limits and the ``allow_email_otp`` policy. Mail goes to a real aiosmtpd server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.domain.errors import (
    EmailOtpNotAllowed,
    Forbidden,
    InvalidCredentials,
    InvalidOtp,
    MailUnavailable,
    OtpRequired,
    RateLimited,
    TooManyAttempts,
    TwoFactorRequired,
)
from bastion.domain.models import Role
from bastion.domain.principals import StaffPrincipal
from tests.support.factories import PASSWORD, World, make_world
from tests.support.mail import MailSink
from tests.unit.conftest import mail_env

EMAIL = "ona@example.com"


async def _signed_in(world: World) -> tuple[StaffPrincipal, str]:
    result = await world.svc.auth.login(EMAIL, PASSWORD, None, ip="10.0.0.1", user_agent="t")
    principal, _ = await world.svc.staff.authenticate(result.session_token)
    return principal, result.session_token


async def _turn_on(world: World, sink: MailSink) -> StaffPrincipal:
    principal, _ = await _signed_in(world)
    await world.enable_email_otp(principal, EMAIL, sink)
    return principal


async def _code_for_login(world: World, sink: MailSink, count: int) -> str:
    await world.svc.email_otp.request_login_code(EMAIL, PASSWORD, "10.0.0.1")
    return (await sink.await_message(EMAIL, count)).code()


async def test_turn_on_then_sign_in_with_an_emailed_code_once(
    mail_world: World, mail_sink: MailSink
) -> None:
    world = mail_world
    await world.staff(EMAIL)
    principal, _ = await _signed_in(world)
    with pytest.raises(InvalidCredentials):
        await world.svc.email_otp.start_enable(principal, "not my password", None)
    await world.svc.email_otp.start_enable(principal, PASSWORD, None)
    mail = await mail_sink.await_message(EMAIL)
    code = mail.code()
    assert code not in mail.subject  # subjects show on locked screens
    # The warning names what was attempted (this was no sign-in).
    assert "did not just try to turn on e-mailed sign-in codes" in mail.body
    with pytest.raises(InvalidOtp):
        await world.svc.email_otp.confirm_enable(principal, "00000000", None)
    await world.svc.email_otp.confirm_enable(principal, code, None)

    with pytest.raises(OtpRequired):
        await world.svc.auth.login(EMAIL, PASSWORD, None, ip=None, user_agent=None)
    with pytest.raises(InvalidCredentials):  # the password comes first, with the login's lock
        await world.svc.email_otp.request_login_code(EMAIL, "wrong password!!", None)
    login_code = await _code_for_login(world, mail_sink, 2)
    assert login_code != code
    assert "did not just try to sign in," in (await mail_sink.await_message(EMAIL, 2)).body
    await world.svc.auth.login(EMAIL, PASSWORD, login_code, ip=None, user_agent=None)
    with pytest.raises(InvalidOtp):  # single use
        await world.svc.auth.login(EMAIL, PASSWORD, login_code, ip=None, user_agent=None)

    # A newer code ends the older one.
    older = await _code_for_login(world, mail_sink, 3)
    newer = await _code_for_login(world, mail_sink, 4)
    with pytest.raises(InvalidOtp):
        await world.svc.auth.login(EMAIL, PASSWORD, older, ip=None, user_agent=None)
    await world.svc.auth.login(EMAIL, PASSWORD, newer, ip=None, user_agent=None)

    # Turning it off takes the password; afterwards the password alone signs in.
    with pytest.raises(InvalidCredentials):
        await world.svc.email_otp.disable(principal, "wrong password!!", None)
    await world.svc.email_otp.disable(principal, PASSWORD, None)
    await world.svc.auth.login(EMAIL, PASSWORD, None, ip=None, user_agent=None)
    with pytest.raises(EmailOtpNotAllowed):
        await world.svc.email_otp.request_login_code(EMAIL, PASSWORD, None)


async def test_codes_expire_and_wrong_guesses_burn_them(
    mail_world: World, mail_sink: MailSink
) -> None:
    world = mail_world
    await world.staff(EMAIL)
    await _turn_on(world, mail_sink)
    stale = await _code_for_login(world, mail_sink, 2)
    world.clock.advance(minutes=10, seconds=1)
    with pytest.raises(InvalidOtp):
        await world.svc.auth.login(EMAIL, PASSWORD, stale, ip=None, user_agent=None)

    code = await _code_for_login(world, mail_sink, 3)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(4):  # with the expired one above: five failures, the account locks
        with pytest.raises(InvalidOtp):
            await world.svc.auth.login(EMAIL, PASSWORD, wrong, ip=None, user_agent=None)
    with pytest.raises(TooManyAttempts):
        await world.svc.auth.login(EMAIL, PASSWORD, code, ip=None, user_agent=None)
    world.clock.advance(minutes=2)
    with pytest.raises(InvalidOtp):  # one more wrong guess: the fifth on this code
        await world.svc.auth.login(EMAIL, PASSWORD, wrong, ip=None, user_agent=None)
    world.clock.advance(minutes=5)
    with pytest.raises(InvalidOtp):  # burnt: even the right code is refused now
        await world.svc.auth.login(EMAIL, PASSWORD, code, ip=None, user_agent=None)


async def test_sends_are_limited_per_account(tmp_path: Path, mail_sink: MailSink) -> None:
    env = mail_env(mail_sink, BASTION_RL_EMAIL_CODE_ACCOUNT="3/hour")
    world = await make_world(tmp_path, **env)
    try:
        await world.staff(EMAIL)
        await _turn_on(world, mail_sink)  # the first send
        await _code_for_login(world, mail_sink, 2)
        await _code_for_login(world, mail_sink, 3)
        with pytest.raises(RateLimited) as limited:
            await world.svc.email_otp.request_login_code(EMAIL, PASSWORD, "10.0.0.1")
        assert limited.value.retry_after > 0
        assert len(mail_sink.messages(EMAIL)) == 3
    finally:
        await world.svc.db.dispose()


async def test_policy_can_refuse_emailed_codes(mail_world: World, mail_sink: MailSink) -> None:
    world = mail_world
    await world.staff(EMAIL)
    admin = await world.staff("admin@example.com", Role.ADMIN)
    principal = await _turn_on(world, mail_sink)
    # The role requires two-step login; e-mailed codes satisfy it while the policy allows.
    await world.svc.auth.set_require_2fa(admin, ["agent"], None)
    code = await _code_for_login(world, mail_sink, 2)
    result = await world.svc.auth.login(EMAIL, PASSWORD, code, ip=None, user_agent=None)
    await world.svc.staff.authenticate(result.session_token)
    with pytest.raises(Forbidden):  # cannot drop the only factor the role requires
        await world.svc.email_otp.disable(principal, PASSWORD, None)

    await world.svc.auth.set_allow_email_otp(admin, False, None)
    assert (await world.svc.auth.policy())["allow_email_otp"] is False
    with pytest.raises(EmailOtpNotAllowed):
        await world.svc.email_otp.request_login_code(EMAIL, PASSWORD, None)
    with pytest.raises(EmailOtpNotAllowed):
        await world.svc.email_otp.start_enable(principal, PASSWORD, None)
    # Codes no longer count: the password signs in, and the role sends the user to set
    # up an authenticator app before anything else.
    result = await world.svc.auth.login(EMAIL, PASSWORD, None, ip=None, user_agent=None)
    with pytest.raises(TwoFactorRequired):
        await world.svc.staff.authenticate(result.session_token)
    await world.svc.staff.authenticate(result.session_token, allow_unenrolled=True)


async def test_an_app_whose_secret_does_not_open_does_not_let_them_go(
    mail_world: World, mail_sink: MailSink
) -> None:
    """E-mailed codes stay on while they are the role's only working factor: an app
    whose sealed secret does not open leaves recovery codes alone."""
    world = mail_world
    await world.staff(EMAIL)
    admin = await world.staff("admin@example.com", Role.ADMIN)
    principal = await _turn_on(world, mail_sink)
    await world.enrol_totp(principal)
    await world.svc.auth.set_require_2fa(admin, ["agent"], None)
    await world.spoil_totp_secret(principal.user_id)
    with pytest.raises(Forbidden, match=r"set up an app or a passkey first.*set it up again"):
        await world.svc.email_otp.disable(principal, PASSWORD, None)
    code = await _code_for_login(world, mail_sink, 2)  # still on: a code signs in
    await world.svc.auth.login(EMAIL, PASSWORD, code, ip=None, user_agent=None)

    # Set up again, the app counts: e-mailed codes may go, and the app signs in.
    totp = await world.enrol_totp(principal)
    await world.svc.email_otp.disable(principal, PASSWORD, None)
    with pytest.raises(EmailOtpNotAllowed):
        await world.svc.email_otp.request_login_code(EMAIL, PASSWORD, None)
    code = totp.at(world.clock.now())
    await world.svc.auth.login(EMAIL, PASSWORD, code, ip=None, user_agent=None)


async def test_emailed_codes_need_mail(world: World) -> None:
    await world.staff(EMAIL)
    principal, _ = await _signed_in(world)
    with pytest.raises(MailUnavailable):
        await world.svc.email_otp.start_enable(principal, PASSWORD, None)
    with pytest.raises(MailUnavailable):
        await world.svc.email_otp.request_login_code(EMAIL, PASSWORD, None)
