"""Account security: lockout, TOTP with replay protection, recovery codes, password
change, sessions, 2FA requirement, IP allow-list, audit trail."""

from __future__ import annotations

import pyotp
import pytest

from bastion.domain.auth import LoginResult
from bastion.domain.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    InvalidOtp,
    IpNotAllowed,
    NotAuthenticated,
    OtpRequired,
    TooManyAttempts,
    TwoFactorRequired,
    WeakPassword,
)
from bastion.domain.events import STAFF_CHANNEL
from bastion.domain.models import Role
from bastion.domain.principals import StaffPrincipal
from bastion.security.totp import PERIOD_S
from tests.support.factories import PASSWORD, World
from tests.support.mail import MailSink

EMAIL = "jonas@example.com"


async def _login(
    world: World, otp: str | None = None, ip: str | None = "10.0.0.1", pw: str = PASSWORD
) -> LoginResult:
    return await world.svc.auth.login(EMAIL, pw, otp, ip=ip, user_agent="pytest")


async def _session_principal(world: World, token: str) -> StaffPrincipal:
    principal, _ = await world.svc.staff.authenticate(token, allow_unenrolled=True)
    return principal


def _code(secret: str, world: World, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret, interval=PERIOD_S).at(
        world.clock.now().timestamp() + offset_steps * PERIOD_S
    )


async def test_lockout_grows_and_applies_to_unknown_accounts_too(world: World) -> None:
    await world.staff(EMAIL)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await _login(world, pw="wrong password!!")
    # Locked now: even the right password is refused, with a Retry-After.
    with pytest.raises(TooManyAttempts) as locked:
        await _login(world)
    assert 0 < locked.value.retry_after_s <= 61
    world.clock.advance(seconds=61)
    with pytest.raises(InvalidCredentials):
        await _login(world, pw="wrong again!!!!")
    with pytest.raises(TooManyAttempts) as longer:
        await _login(world)
    assert longer.value.retry_after_s > 61  # 2 minutes after the sixth failure
    await world.svc.auth.unlock(EMAIL)
    await _login(world)  # the operator lifted the lock

    # An address nobody has behaves the same way (no enumeration through the lock).
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await world.svc.auth.login(
                "ghost@example.com", "x" * 12, None, ip=None, user_agent=None
            )
    with pytest.raises(TooManyAttempts):
        await world.svc.auth.login("ghost@example.com", "x" * 12, None, ip=None, user_agent=None)


async def test_totp_enrolment_login_replay_and_recovery_codes(world: World) -> None:
    await world.staff(EMAIL)
    actor = await _session_principal(world, (await _login(world)).session_token)
    setup = await world.svc.auth.totp_setup(actor, PASSWORD, None)
    assert setup["qr_svg_data_uri"].startswith("data:image/svg+xml")
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    with pytest.raises(InvalidOtp):
        await world.svc.auth.totp_confirm(actor, "000000", None)
    # Digits of other scripts ("²", "٣") are wrong codes, not a TypeError (QA: a 500).
    for other_digits in ("\u0661\u0662\u0663\u0664\u0665\u0666", "\u00b2" * 6):
        with pytest.raises(InvalidOtp):
            await world.svc.auth.totp_confirm(actor, other_digits, None)
    codes = await world.svc.auth.totp_confirm(actor, _code(setup["secret"], world), None)
    assert len(codes) == 10 and len(set(codes)) == 10

    world.clock.advance(seconds=PERIOD_S)
    with pytest.raises(OtpRequired):
        await _login(world)
    code = _code(setup["secret"], world)
    await _login(world, otp=code)
    with pytest.raises(InvalidOtp) as replay:  # the same code again: replay
        await _login(world, otp=code)
    # Said as it is, so a person who signs in twice in one step waits instead of retyping.
    assert "already been used" in replay.value.message
    with pytest.raises(InvalidOtp):  # an older code than the last used one
        await _login(world, otp=_code(setup["secret"], world, -1))
    with pytest.raises(InvalidOtp):
        await _login(world, otp="\u0661\u0662\u0663\u0664\u0665\u0666")
    with pytest.raises(InvalidOtp) as wrong:
        await _login(world, otp="000000" if code != "000000" else "111111")
    assert wrong.value.message == "that code is not valid"

    await _login(world, otp=codes[0].upper().replace("-", " "))  # recovery codes are forgiving
    with pytest.raises(InvalidOtp):
        await _login(world, otp=codes[0])  # …but single-use
    world.clock.advance(seconds=PERIOD_S)
    await _login(world, otp=_code(setup["secret"], world))


async def test_setting_up_the_app_needs_the_password(world: World) -> None:
    """A stolen session alone neither sees a secret nor binds its own app (and takes the
    recovery codes): as adding a passkey, the set-up asks for the password, and wrong
    guesses count towards the account's lock.
    """
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.staff(EMAIL)
    token = (await _login(world)).session_token
    actor = await _session_principal(world, token)
    with pytest.raises(InvalidCredentials) as wrong:
        await world.svc.auth.totp_setup(actor, "not my password", "10.0.0.1")
    assert wrong.value.field == "password"
    _, user = await world.svc.staff.authenticate(token, allow_unenrolled=True)
    assert user.totp_pending is None and not user.totp_enabled  # no secret was made
    with pytest.raises(Forbidden):  # nothing to confirm
        await world.svc.auth.totp_confirm(actor, "000000", None)
    [failed] = await world.svc.auth.audit(admin, 50, "auth.login_failed")
    assert (failed.target, failed.ip, failed.details) == (
        actor.user_id,
        "10.0.0.1",
        {"reason": "password_confirm"},
    )

    for _ in range(4):  # five wrong passwords in all: the account is locked
        with pytest.raises(InvalidCredentials):
            await world.svc.auth.totp_setup(actor, "not my password", "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        await world.svc.auth.totp_setup(actor, PASSWORD, "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        await _login(world)
    world.clock.advance(seconds=61)
    setup = await world.svc.auth.totp_setup(actor, PASSWORD, "10.0.0.1")
    codes = await world.svc.auth.totp_confirm(actor, _code(setup["secret"], world), "10.0.0.1")
    assert len(codes) == 10


async def test_a_session_cannot_be_used_to_guess_the_password(world: World) -> None:
    """Every place that asks a signed-in user for their password again (changing it,
    turning the app off) counts a wrong one towards the account's lock, as a login does.
    """
    await world.staff(EMAIL)
    actor = await _session_principal(world, (await _login(world)).session_token)
    guesses = [
        lambda: world.svc.auth.change_password(actor, "guess one!!", "N3w-pass phrase!", None),
        lambda: world.svc.auth.totp_disable(actor, "guess two!!", None),
    ]
    for i in range(5):
        with pytest.raises(InvalidCredentials) as wrong:
            await guesses[i % 2]()
    assert wrong.value.field == "current_password"  # the change form's field
    with pytest.raises(TooManyAttempts):
        await world.svc.auth.change_password(actor, PASSWORD, "N3w-pass phrase!", None)
    with pytest.raises(TooManyAttempts):
        await _login(world)


async def test_password_change_ends_other_sessions_and_checks_strength(world: World) -> None:
    await world.staff(EMAIL)
    first = (await _login(world)).session_token
    second = (await _login(world)).session_token
    actor = await _session_principal(world, first)
    with pytest.raises(InvalidCredentials):
        await world.svc.auth.change_password(
            actor, "not my password", "an even longer passphrase", None
        )
    with pytest.raises(WeakPassword):
        await world.svc.auth.change_password(actor, PASSWORD, "password1234", None)
    await world.svc.auth.change_password(actor, PASSWORD, "an even longer passphrase 9", None)
    await world.svc.staff.authenticate(first)
    with pytest.raises(NotAuthenticated):
        await world.svc.staff.authenticate(second)
    with pytest.raises(InvalidCredentials):
        await _login(world)


async def test_session_listing_and_ending(world: World) -> None:
    await world.staff(EMAIL)
    first = (await _login(world)).session_token
    second = (await _login(world)).session_token
    actor = await _session_principal(world, first)
    sessions = await world.svc.auth.sessions(actor)
    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    assert all(s["ip"] == "10.0.0.1" and s["user_agent"] == "pytest" for s in sessions)
    other = next(s for s in sessions if not s["current"])
    await world.svc.auth.end_session(actor, other["id"], None)
    with pytest.raises(NotAuthenticated):
        await world.svc.staff.authenticate(second)
    # Another user's session id is not yours to end.
    await world.staff("petras@example.com", name="Petras")
    petras_token = (
        await world.svc.auth.login("petras@example.com", PASSWORD, None, ip=None, user_agent=None)
    ).session_token
    petras = await _session_principal(world, petras_token)
    from bastion.domain.errors import NotFound

    with pytest.raises(NotFound):
        await world.svc.auth.end_session(petras, sessions[0]["id"], None)


async def test_every_way_a_session_ends_tells_the_sockets(world: World) -> None:
    """Logout, ending a session, ending the others and a password change each announce it
    after the commit, so a socket opened with an ended session closes (QA: a session ended
    from another device, or logged out, kept its agent socket and every chat it followed).
    """
    user = await world.staff(EMAIL)

    def notices() -> int:
        return sum(
            1
            for channel, message in world.bus.published
            if channel == STAFF_CHANNEL
            and message == {"type": "sessions_ended", "users": [user.user_id]}
        )

    first = (await _login(world)).session_token
    actor = await _session_principal(world, first)
    await _login(world)
    other = next(s for s in await world.svc.auth.sessions(actor) if not s["current"])
    await world.svc.auth.end_session(actor, other["id"], None)
    assert notices() == 1
    await _login(world)
    await world.svc.auth.end_other_sessions(actor, None)
    assert notices() == 2
    await world.svc.auth.change_password(actor, PASSWORD, "an even longer passphrase 9", None)
    assert notices() == 3
    await world.svc.staff.logout(first)
    assert notices() == 4


async def test_role_requiring_2fa_blocks_until_enrolled(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.staff(EMAIL)
    await world.svc.auth.set_require_2fa(admin, ["agent"], None)
    token = (await _login(world)).session_token
    with pytest.raises(TwoFactorRequired):
        await world.svc.staff.authenticate(token)
    actor = await _session_principal(world, token)
    setup = await world.svc.auth.totp_setup(actor, PASSWORD, None)
    await world.svc.auth.totp_confirm(actor, _code(setup["secret"], world), None)
    await world.svc.staff.authenticate(token)
    with pytest.raises(Forbidden):
        await world.svc.auth.totp_disable(actor, PASSWORD, None)
    agent = await world.staff("agent2@example.com", name="A2")
    with pytest.raises(Forbidden):
        await world.svc.auth.set_require_2fa(agent, [], None)


async def test_the_app_may_go_while_emailed_codes_are_left(
    mail_world: World, mail_sink: MailSink
) -> None:
    """Under a role that requires two-step login, turning the app off is refused while
    it is the only factor (or the policy forbids the e-mailed codes the user has on),
    and allowed once e-mailed codes the policy accepts are left.
    """
    world = mail_world
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.staff(EMAIL)
    actor = await _session_principal(world, (await _login(world)).session_token)
    totp = await world.enrol_totp(actor)
    await world.svc.auth.set_require_2fa(admin, ["agent"], None)
    with pytest.raises(Forbidden, match="add a passkey first"):
        await world.svc.auth.totp_disable(actor, PASSWORD, None)

    await world.enable_email_otp(actor, EMAIL, mail_sink)
    await world.svc.auth.set_allow_email_otp(admin, False, None)
    with pytest.raises(Forbidden):
        await world.svc.auth.totp_disable(actor, PASSWORD, None)
    await _login(world, otp=totp.at(world.clock.now()))  # the app is still on

    await world.svc.auth.set_allow_email_otp(admin, True, None)
    with pytest.raises(InvalidCredentials):  # the password comes first, as ever
        await world.svc.auth.totp_disable(actor, "not my password", None)
    await world.svc.auth.totp_disable(actor, PASSWORD, None)
    with pytest.raises(OtpRequired):  # e-mailed codes are the second step now
        await _login(world)


async def test_ip_allowlist_is_enforced_and_cannot_lock_out_its_author(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.staff(EMAIL)
    token = (await _login(world, ip="10.0.0.7")).session_token
    with pytest.raises(Forbidden):
        await world.svc.auth.set_ip_allowlist(admin, ["192.168.0.0/24"], "10.0.0.9")
    await world.svc.auth.set_ip_allowlist(admin, ["10.0.0.0/24", "2001:db8::/32"], "10.0.0.9")
    await world.svc.staff.authenticate(token, ip="10.0.0.7")
    await world.svc.staff.authenticate(token, ip="2001:db8::5")
    with pytest.raises(IpNotAllowed):
        await world.svc.staff.authenticate(token, ip="203.0.113.5")
    with pytest.raises(IpNotAllowed):
        await _login(world, ip="203.0.113.5")
    await world.svc.auth.set_ip_allowlist(None, [], None)  # the operator (CLI) clears it
    await world.svc.staff.authenticate(token, ip="203.0.113.5")


async def test_a_refused_policy_save_changes_nothing(world: World) -> None:
    """Every part is checked before any is written: one refused setting leaves the
    others as they were, and the refusal itself is audited (which setting, and why).
    """
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    before = await world.svc.auth.policy()
    with pytest.raises(Forbidden, match="locked out"):
        await world.svc.auth.set_policy(
            admin,
            "203.0.113.5",
            require_2fa_roles=["agent"],
            ip_allowlist=["10.0.0.0/8"],
            allow_email_otp=False,
        )
    with pytest.raises(InvalidInput):
        await world.svc.auth.set_policy(
            admin, "10.0.0.9", require_2fa_roles=["agent"], ip_allowlist=["10.0.0.0/33"]
        )
    with pytest.raises(InvalidInput):  # the operator (CLI) is held to the same rule
        await world.svc.auth.set_policy(
            None, None, require_2fa_roles=["nosuch"], ip_allowlist=["10.0.0.0/8"]
        )
    assert await world.svc.auth.policy() == before
    entries = await world.svc.auth.audit(admin, 50, "policy.")
    assert [(e.actor, e.ip, e.details) for e in reversed(entries)] == [
        (
            admin.user_id,
            "203.0.113.5",
            {"setting": "staff_ip_allowlist", "reason": "excludes_own_address"},
        ),
        (admin.user_id, "10.0.0.9", {"setting": "staff_ip_allowlist", "reason": "invalid_range"}),
        ("cli", None, {"setting": "require_2fa_roles", "reason": "unknown_role"}),
    ]
    assert {e.action for e in entries} == {"policy.refused"}
    # Nobody is asked to enrol by a policy that was refused.
    await world.staff(EMAIL)
    await world.svc.staff.authenticate((await _login(world)).session_token)


async def test_a_policy_save_writes_and_audits_only_what_changes(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    everything = {
        "require_2fa_roles": ["agent", "admin"],
        "ip_allowlist": ["10.0.0.0/8"],
        "allow_email_otp": False,
    }
    saved = await world.svc.auth.set_policy(admin, "10.0.0.9", **everything)
    assert saved == everything | {"require_2fa_roles": ["admin", "agent"]}
    assert await world.svc.auth.policy() == saved
    first = await world.svc.auth.audit(admin, 50, "policy.")
    assert sorted(e.action for e in first) == [
        "policy.allow_email_otp",
        "policy.require_2fa_roles",
        "policy.staff_ip_allowlist",
    ]
    # The console sends every field on each save: the same values again are no news.
    assert await world.svc.auth.set_policy(admin, "10.0.0.9", **everything) == saved
    assert len(await world.svc.auth.audit(admin, 50, "policy.")) == 3
    changed = await world.svc.auth.set_policy(
        admin, "10.0.0.9", **everything | {"allow_email_otp": True}
    )
    assert changed["allow_email_otp"] is True
    [latest, *_] = await world.svc.auth.audit(admin, 50, "policy.")
    assert (latest.action, latest.details) == ("policy.allow_email_otp", {"value": True})
    assert len(await world.svc.auth.audit(admin, 50, "policy.")) == 4


async def test_saving_the_defaults_of_an_unset_policy_changes_nothing(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    default = await world.svc.auth.set_policy(
        admin, "10.0.0.9", require_2fa_roles=[], ip_allowlist=[], allow_email_otp=True
    )
    assert default == {"require_2fa_roles": [], "ip_allowlist": [], "allow_email_otp": True}
    assert await world.svc.auth.audit(admin, 50, "policy.") == []


async def test_role_change_ends_sessions_and_is_audited(world: World) -> None:
    owner = await world.staff("owner@example.com", Role.OWNER, name="Owner")
    agent = await world.staff(EMAIL)
    token = (await _login(world)).session_token
    await world.svc.staff.set_role(owner, agent.user_id, Role.SUPERVISOR, "10.0.0.2")
    with pytest.raises(NotAuthenticated):
        await world.svc.staff.authenticate(token)
    new_token = (await _login(world)).session_token
    principal, _ = await world.svc.staff.authenticate(new_token)
    assert principal.role == Role.SUPERVISOR and new_token != token
    entries = await world.svc.auth.audit(owner, 50, None)
    actions = [e.action for e in entries]
    for expected in ("user.created", "auth.login", "user.role_changed"):
        assert expected in actions
    change = next(e for e in entries if e.action == "user.role_changed")
    assert (change.actor, change.target, change.ip) == (owner.user_id, agent.user_id, "10.0.0.2")
    assert change.details["old"] == "agent" and change.details["new"] == "supervisor"
    # The log's reader sees names for staff ids; other ids (visitors, "cli") are not named.
    names = await world.svc.auth.staff_names(owner, {owner.user_id, agent.user_id, "v_x", "cli"})
    assert names == {owner.user_id: "Owner", agent.user_id: agent.name}
    with pytest.raises(Forbidden):
        await world.svc.auth.audit(principal, 10, None)  # supervisors do not read the audit log
    with pytest.raises(Forbidden):
        await world.svc.auth.staff_names(principal, {owner.user_id})
