"""Passkeys: registration, passwordless login, the second step after the password, and
every refusal (wrong origin, wrong RP id, reused or stale challenges, counters that go
back, another user's credential), with a software authenticator built from the spec.
"""

from __future__ import annotations

from typing import Any

import pytest

from bastion.domain.errors import (
    Forbidden,
    InvalidCredentials,
    NotFound,
    PasskeyInvalid,
    PasskeyRequired,
    PasskeysUnavailable,
    TooManyAttempts,
    TwoFactorRequired,
)
from bastion.domain.models import Role
from bastion.domain.principals import StaffPrincipal
from bastion.settings import load_settings
from tests.support.authenticator import UP, SoftAuthenticator
from tests.support.factories import PASSWORD, World
from tests.support.mail import MailSink

EMAIL = "jonas@example.com"
ORIGIN = "http://localhost:8000"  # the development relying party: no BASTION_PUBLIC_URL
MAIL_ORIGIN = "https://chat.example.com"  # mail_world's BASTION_PUBLIC_URL
IP = "10.0.0.1"


async def _signed_in(world: World, email: str = EMAIL) -> StaffPrincipal:
    result = await world.svc.auth.login(email, PASSWORD, None, ip=IP, user_agent="pytest")
    principal, _ = await world.svc.staff.authenticate(result.session_token, allow_unenrolled=True)
    return principal


async def _under_2fa(world: World) -> tuple[StaffPrincipal, StaffPrincipal]:
    """An admin, and Jonas signed in: an agent, a role that now requires two-step login."""
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.staff(EMAIL)
    await world.svc.auth.set_require_2fa(admin, ["agent"], None)
    return admin, await _signed_in(world)


async def _register(
    world: World, actor: StaffPrincipal, key: SoftAuthenticator, name: str = "Laptop", **bend: Any
) -> Any:
    ceremony = await world.svc.passkeys.registration_options(actor, PASSWORD, IP)
    answer = key.create(ceremony.public_key, **bend)
    return await world.svc.passkeys.register(actor, ceremony.token, answer, name, IP)


async def _passwordless(world: World, key: SoftAuthenticator, **bend: Any) -> Any:
    ceremony = await world.svc.passkeys.login_options(None, None, IP)
    answer = key.get(ceremony.public_key, **bend)
    return await world.svc.passkeys.login(ceremony.token, answer, ip=IP, user_agent="pytest")


async def _actions(world: World) -> list[str]:
    admin = StaffPrincipal(user_id="cli", name="cli", role=Role.OWNER)
    return [e.action for e in await world.svc.auth.audit(admin, 200, None)]


async def test_register_then_sign_in_without_a_password(world: World) -> None:
    await world.staff(EMAIL)
    actor = await _signed_in(world)
    key = SoftAuthenticator(origin=ORIGIN)

    ceremony = await world.svc.passkeys.registration_options(actor, PASSWORD, IP)
    opts = ceremony.public_key
    assert opts["rp"]["id"] == "localhost"
    assert opts["authenticatorSelection"]["residentKey"] == "required"
    assert opts["authenticatorSelection"]["userVerification"] == "required"
    assert EMAIL not in opts["user"]["id"]  # the user handle is the random user id
    passkey = await world.svc.passkeys.register(
        actor, ceremony.token, key.create(opts), "  Work laptop\n", IP
    )
    assert passkey.name == "Work laptop"
    assert passkey.transports == ("internal",)
    renamed = await world.svc.passkeys.rename(actor, passkey.id, "Old laptop", IP)
    assert renamed.name == "Old laptop"
    assert [p.name for p in await world.svc.passkeys.of_user(actor)] == ["Old laptop"]

    # A second passkey is offered the first as excluded (no double registration).
    again = await world.svc.passkeys.registration_options(actor, PASSWORD, IP)
    assert [c["id"] for c in again.public_key["excludeCredentials"]] == [passkey.credential_id]

    options = await world.svc.passkeys.login_options(None, None, IP)
    assert options.public_key["userVerification"] == "required"
    assert options.public_key["allowCredentials"] == []
    result = await world.svc.passkeys.login(
        options.token, key.get(options.public_key), ip=IP, user_agent="pytest"
    )
    assert result.user.id == actor.user_id
    principal, _ = await world.svc.staff.authenticate(result.session_token)
    assert principal.session_hash != actor.session_hash  # a new session id
    stored = (await world.svc.passkeys.of_user(actor))[0]
    assert stored.sign_count == 1 and stored.last_used_at == world.clock.now()
    actions = await _actions(world)
    assert {"passkey.registered", "passkey.renamed", "passkey.used", "auth.login"} <= set(actions)


async def test_registration_refusals(world: World) -> None:
    await world.staff(EMAIL)
    actor = await _signed_in(world)
    key = SoftAuthenticator(origin=ORIGIN)

    with pytest.raises(InvalidCredentials):
        await world.svc.passkeys.registration_options(actor, "not my password", IP)
    with pytest.raises(PasskeyInvalid):  # a page on another site asked the authenticator
        await _register(world, actor, key, origin="https://evil.example")
    with pytest.raises(PasskeyInvalid):  # a credential scoped to another RP
        await _register(world, actor, key, rp_id="evil.example")
    with pytest.raises(PasskeyInvalid):  # no user verification
        await _register(world, actor, key, flags=UP)

    # A challenge answers once, within five minutes, for the session that asked.
    ceremony = await world.svc.passkeys.registration_options(actor, PASSWORD, IP)
    answer = key.create(ceremony.public_key)
    other = await _signed_in(world)
    with pytest.raises(PasskeyInvalid):
        await world.svc.passkeys.register(other, ceremony.token, answer, "x", IP)
    with pytest.raises(PasskeyInvalid):  # consumed by the failed try above
        await world.svc.passkeys.register(actor, ceremony.token, answer, "x", IP)
    ceremony = await world.svc.passkeys.registration_options(actor, PASSWORD, IP)
    world.clock.advance(minutes=5, seconds=1)
    with pytest.raises(PasskeyInvalid):
        await world.svc.passkeys.register(
            actor, ceremony.token, key.create(ceremony.public_key), "x", IP
        )
    assert await world.svc.passkeys.of_user(actor) == []
    assert (await _actions(world)).count("passkey.register_failed") == 6


async def test_login_refusals_and_lockout(world: World) -> None:
    await world.staff(EMAIL)
    actor = await _signed_in(world)
    key = SoftAuthenticator(origin=ORIGIN)
    await _register(world, actor, key)

    # A challenge answers once: the same signed answer replayed is refused.
    ceremony = await world.svc.passkeys.login_options(None, None, IP)
    answer = key.get(ceremony.public_key)
    await world.svc.passkeys.login(ceremony.token, answer, ip=IP, user_agent=None)
    with pytest.raises(PasskeyInvalid):
        await world.svc.passkeys.login(ceremony.token, answer, ip=IP, user_agent=None)

    for _ in range(2):
        with pytest.raises(PasskeyInvalid):
            await _passwordless(world, key, origin="https://evil.example")
    for _ in range(2):
        with pytest.raises(PasskeyInvalid):
            await _passwordless(world, key, rp_id="evil.example")
    with pytest.raises(PasskeyInvalid):  # passwordless needs user verification
        await _passwordless(world, key, flags=UP)
    # Five failures with this account's passkey: locked, even for a good answer.
    with pytest.raises(TooManyAttempts):
        await _passwordless(world, key)
    world.clock.advance(minutes=2)
    await _passwordless(world, key)
    entries = await world.svc.auth.audit(
        StaffPrincipal(user_id="cli", name="cli", role=Role.OWNER), 100, "auth."
    )
    reasons = [e.details.get("reason") for e in entries if e.action == "auth.login_failed"]
    assert sorted(reasons) == [
        "challenge",
        *["passkey_invalid:InvalidAuthenticationResponse"] * 5,
    ], reasons
    assert "auth.locked" in [e.action for e in entries]


async def test_sign_count_regression_is_refused_and_audited(world: World) -> None:
    await world.staff(EMAIL)
    actor = await _signed_in(world)
    key = SoftAuthenticator(origin=ORIGIN)
    await _register(world, actor, key)
    await _passwordless(world, key)  # counter 1
    await _passwordless(world, key)  # counter 2
    with pytest.raises(PasskeyInvalid):  # a copy of the key, behind the original
        await _passwordless(world, key, sign_count=2)
    admin = StaffPrincipal(user_id="cli", name="cli", role=Role.OWNER)
    entries = await world.svc.auth.audit(admin, 50, "passkey.sign_count")
    assert len(entries) == 1
    assert entries[0].target == actor.user_id
    assert (entries[0].details["stored"], entries[0].details["presented"]) == (2, 2)
    await _passwordless(world, key)  # the original, moving on, still works

    # Authenticators without a counter (synced passkeys) always send 0: accepted.
    synced = SoftAuthenticator(origin=ORIGIN, counting=False)
    await _register(world, actor, synced, name="Phone")
    for _ in range(2):
        await _passwordless(world, synced)


async def test_passkey_as_the_second_step_after_the_password(world: World) -> None:
    await world.staff(EMAIL)
    await world.staff("petras@example.com", name="Petras")
    actor = await _signed_in(world)
    key = SoftAuthenticator(origin=ORIGIN)
    await _register(world, actor, key)
    other_key = SoftAuthenticator(origin=ORIGIN)
    await _register(world, await _signed_in(world, "petras@example.com"), other_key)

    # The password alone no longer signs in.
    with pytest.raises(PasskeyRequired):
        await world.svc.auth.login(EMAIL, PASSWORD, None, ip=IP, user_agent=None)
    with pytest.raises(InvalidCredentials):
        await world.svc.passkeys.login_options(EMAIL, "wrong password!", IP)

    ceremony = await world.svc.passkeys.login_options(EMAIL, PASSWORD, IP)
    allowed = [c["id"] for c in ceremony.public_key["allowCredentials"]]
    assert allowed == [next(iter(key.credentials))]
    # Another user's (valid, correctly signed) passkey after Jonas's password: refused.
    petras_credential = next(iter(other_key.credentials.values()))
    forged = other_key.get(ceremony.public_key, credential=petras_credential)
    with pytest.raises(PasskeyInvalid):
        await world.svc.passkeys.login(ceremony.token, forged, ip=IP, user_agent=None)
    ceremony = await world.svc.passkeys.login_options(EMAIL, PASSWORD, IP)
    result = await world.svc.passkeys.login(
        ceremony.token, key.get(ceremony.public_key), ip=IP, user_agent=None
    )
    assert result.user.email == EMAIL
    admin = StaffPrincipal(user_id="cli", name="cli", role=Role.OWNER)
    logins = await world.svc.auth.audit(admin, 50, "auth.login")
    assert any(e.details.get("reason") == "passkey_other_user" for e in logins)
    assert logins[0].action == "auth.login" and logins[0].details == {"method": "password+passkey"}


async def test_a_passkey_satisfies_the_2fa_policy_and_the_last_one_stays(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.staff(EMAIL)
    await world.svc.auth.set_require_2fa(admin, ["agent"], None)
    token = (
        await world.svc.auth.login(EMAIL, PASSWORD, None, ip=IP, user_agent=None)
    ).session_token
    with pytest.raises(TwoFactorRequired):
        await world.svc.staff.authenticate(token)
    actor, user = await world.svc.staff.authenticate(token, allow_unenrolled=True)
    assert await world.svc.auth.enrollment_required(user)
    key = SoftAuthenticator(origin=ORIGIN)
    first = await _register(world, actor, key)
    await world.svc.staff.authenticate(token)  # enrolled: the console opens
    assert not await world.svc.auth.enrollment_required(user)

    with pytest.raises(Forbidden):
        await world.svc.passkeys.delete(actor, first.id, PASSWORD, IP)
    second = await _register(world, actor, key, name="Backup key")
    with pytest.raises(InvalidCredentials):
        await world.svc.passkeys.delete(actor, first.id, "wrong password!", IP)
    await world.svc.passkeys.delete(actor, first.id, PASSWORD, IP)
    with pytest.raises(NotFound):
        await world.svc.passkeys.delete(actor, first.id, PASSWORD, IP)
    petras = await _signed_in(world, "admin@example.com")
    with pytest.raises(NotFound):  # nobody removes or renames another's passkey
        await world.svc.passkeys.rename(petras, second.id, "mine now", IP)
    assert {"passkey.deleted", "passkey.delete_refused"} <= set(await _actions(world))


async def test_an_app_whose_secret_does_not_open_is_no_factor_left(world: World) -> None:
    """Under a role that requires two-step login the last passkey may go while the app
    works, and stays while the app's sealed secret does not open (recovery codes alone
    are not a second factor to keep).
    """
    _, actor = await _under_2fa(world)
    key = SoftAuthenticator(origin=ORIGIN)
    await world.enrol_totp(actor)
    first = await _register(world, actor, key)
    await world.svc.passkeys.delete(actor, first.id, PASSWORD, IP)  # the app is left

    second = await _register(world, actor, key, name="Backup key")
    await world.spoil_totp_secret(actor.user_id)
    with pytest.raises(Forbidden, match=r"add another passkey.*set it up again"):
        await world.svc.passkeys.delete(actor, second.id, PASSWORD, IP)
    assert [p.id for p in await world.svc.passkeys.of_user(actor)] == [second.id]
    assert (await _actions(world))[0] == "passkey.delete_refused"

    # Set up again, the app counts once more.
    await world.enrol_totp(actor)
    await world.svc.passkeys.delete(actor, second.id, PASSWORD, IP)
    assert await world.svc.passkeys.of_user(actor) == []


async def test_emailed_codes_are_a_factor_left_while_the_policy_allows_them(
    mail_world: World, mail_sink: MailSink
) -> None:
    """Under a role that requires two-step login the last passkey may go while e-mailed
    codes are on, and stays once the policy no longer accepts them.
    """
    world = mail_world
    admin, actor = await _under_2fa(world)
    await world.enable_email_otp(actor, EMAIL, mail_sink)
    key = SoftAuthenticator(origin=MAIL_ORIGIN)
    first = await _register(world, actor, key)
    await world.svc.passkeys.delete(actor, first.id, PASSWORD, IP)  # e-mailed codes are left
    assert (await _actions(world))[0] == "passkey.deleted"

    second = await _register(world, actor, key, name="Backup key")
    await world.svc.auth.set_allow_email_otp(admin, False, None)
    with pytest.raises(Forbidden, match=r"add another passkey.*removing this one$"):
        await world.svc.passkeys.delete(actor, second.id, PASSWORD, IP)
    assert [p.id for p in await world.svc.passkeys.of_user(actor)] == [second.id]
    assert (await _actions(world))[0] == "passkey.delete_refused"


def test_the_relying_party_comes_from_the_public_url() -> None:
    def rp(**env: str) -> object:
        return load_settings({"BASTION_DATA_DIR": "/nonexistent-never-used", **env}).webauthn_rp

    assert rp() == ("localhost", ("http://localhost:8000",))
    assert rp(BASTION_PUBLIC_URL="https://Chat.Example.com") == (
        "chat.example.com",
        ("https://chat.example.com",),
    )
    assert rp(BASTION_PUBLIC_URL="https://chat.example.com:8443/") == (
        "chat.example.com",
        ("https://chat.example.com:8443",),
    )
    assert rp(BASTION_PUBLIC_URL="http://127.0.0.1:8000") is None  # not a domain name


async def test_without_a_domain_name_passkeys_are_unavailable(tmp_path: Any) -> None:
    from tests.support.factories import make_world

    world = await make_world(tmp_path, BASTION_PUBLIC_URL="http://192.0.2.1:8000")
    try:
        with pytest.raises(PasskeysUnavailable):
            await world.svc.passkeys.login_options(None, None, IP)
    finally:
        await world.svc.db.dispose()
