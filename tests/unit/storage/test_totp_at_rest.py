"""TOTP secrets are sealed at rest under the staff data key, bound to their user, and
migration 0006 seals the plaintext secrets it finds (both engines); a sealed value or a
staff key that no longer opens fails closed with ``second_factor_unavailable``."""

from __future__ import annotations

import base64
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.domain.errors import OtpRequired, SecondFactorUnavailable
from bastion.domain.models import Role
from bastion.domain.principals import StaffPrincipal
from bastion.security.envelope import FileKeyStore
from bastion.security.totp import PERIOD_S
from bastion.storage import tables as t
from bastion.storage.migrate import migrate
from bastion.storage.uow import SqlUnitOfWorkFactory
from tests.support.alembic import alembic
from tests.support.factories import PASSWORD, World, make_world

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PENDING = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


async def _users(world: World) -> dict[str, tuple[str | None, str | None]]:
    async with world.svc.db.transaction(write=False) as conn:
        c = t.users.c
        rows = await conn.execute(select(c.email, c.totp_secret, c.totp_pending))
        return {r.email: (r.totp_secret, r.totp_pending) for r in rows}


async def test_totp_secrets_are_sealed_and_bound_to_their_user(world: World) -> None:
    ona = await world.staff("ona@example.com")
    jonas = await world.staff("jonas@example.com")
    login = await world.svc.auth.login("ona@example.com", PASSWORD, None, ip=None, user_agent=None)
    principal, _ = await world.svc.staff.authenticate(login.session_token)
    secret = (await world.svc.auth.totp_setup(principal, PASSWORD, None))["secret"]
    jonas_login = await world.svc.auth.login(
        "jonas@example.com", PASSWORD, None, ip=None, user_agent=None
    )
    jonas_principal, _ = await world.svc.staff.authenticate(jonas_login.session_token)
    pending_only = await world.svc.auth.totp_setup(jonas_principal, PASSWORD, None)
    raw = await _users(world)
    assert raw["jonas@example.com"][1] is not None and raw["jonas@example.com"][1].startswith("e1:")
    assert pending_only["secret"] not in str(raw)
    totp = pyotp.TOTP(secret, interval=PERIOD_S)
    await world.svc.auth.totp_confirm(principal, totp.at(world.clock.now()), None)

    raw = await _users(world)
    sealed = raw["ona@example.com"][0]
    assert sealed is not None and sealed.startswith("e1:")
    assert secret not in str(raw)
    # Reads unseal: the code from the app signs in.
    with pytest.raises(OtpRequired):
        await world.svc.auth.login("ona@example.com", PASSWORD, None, ip=None, user_agent=None)
    world.clock.advance(seconds=PERIOD_S)
    await world.svc.auth.login(
        "ona@example.com", PASSWORD, totp.at(world.clock.now()), ip=None, user_agent=None
    )
    async with world.svc.db.transaction(write=False) as conn:
        staff_keys = (await conn.execute(select(t.staff_keys))).all()
    # The staff key (TOTP secrets) beside the audit chain's key, both wrapped by the KEK.
    assert sorted(k.name for k in staff_keys) == ["audit", "staff"]

    # Ona's sealed secret copied onto Jonas's row does not decrypt there: Jonas still
    # needs a second step, and Ona's codes do not give it (fail closed, no 500).
    async with world.svc.db.transaction(write=True) as conn:
        query = update(t.users).where(t.users.c.id == jonas.user_id)
        await conn.execute(query.values(totp_secret=sealed))
        await conn.commit()
    with pytest.raises(OtpRequired):
        await world.svc.auth.login("jonas@example.com", PASSWORD, None, ip=None, user_agent=None)
    world.clock.advance(seconds=PERIOD_S)
    with pytest.raises(SecondFactorUnavailable):
        await world.svc.auth.login(
            "jonas@example.com", PASSWORD, totp.at(world.clock.now()), ip=None, user_agent=None
        )
    assert ona.user_id != jonas.user_id


async def _upgrade_to(url: str, revision: str) -> None:
    """The schema at ``revision``, with a user whose TOTP secrets are stored in clear."""
    await alembic(url, "upgrade", revision)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, email, name, role, password_hash, status, disabled,"
                    " created_at, totp_secret, totp_pending) VALUES ('u_old', 'old@example.com',"
                    " 'Old', 'agent', 'x', 'offline', false, CURRENT_TIMESTAMP, :s, :p)"
                ),
                {"s": SECRET, "p": PENDING},
            )
    finally:
        await engine.dispose()


async def test_migration_seals_the_plaintext_secrets_it_finds(
    database_url: str, tmp_path: Path
) -> None:
    await _upgrade_to(database_url, "0005")
    # Without the key store there is no sealing, and no half-done schema either.
    with pytest.raises(RuntimeError, match="key-encryption key"):
        await migrate(database_url)
    await migrate(database_url, FileKeyStore(tmp_path / "kek.key"))

    world = await make_world(tmp_path, BASTION_DATABASE_URL=database_url)
    try:
        raw = await _users(world)
        secret, pending = raw["old@example.com"]
        assert secret is not None and secret.startswith("e1:") and SECRET not in secret
        assert pending is not None and pending.startswith("e1:") and PENDING not in pending
        # The application reads them back with the same KEK.
        uow = SqlUnitOfWorkFactory(world.svc.db, world.bus, FileKeyStore(tmp_path / "kek.key"))
        async with uow(write=False) as tx:
            user = await tx.users.get("u_old")
        assert user is not None
        assert (user.totp_secret, user.totp_pending) == (SECRET, PENDING)
    finally:
        await world.svc.db.dispose()


async def test_kek_rotation_rewraps_the_staff_key(world: World) -> None:
    """After ``keys rotate`` the old KEK file is gone: sealed TOTP secrets must still open."""
    from bastion.services import build_services
    from bastion.storage.rotation import rotate_kek

    await world.staff("ona@example.com")
    login = await world.svc.auth.login("ona@example.com", PASSWORD, None, ip=None, user_agent=None)
    principal, _ = await world.svc.staff.authenticate(login.session_token)
    secret = (await world.svc.auth.totp_setup(principal, PASSWORD, None))["secret"]
    totp = pyotp.TOTP(secret, interval=PERIOD_S)
    await world.svc.auth.totp_confirm(principal, totp.at(world.clock.now()), None)

    report = await rotate_kek(world.svc.db, world.svc.settings.resolved_kek_file, grace_s=0)
    async with world.svc.db.transaction(write=False) as conn:
        ids = {r.kek_id for r in await conn.execute(select(t.staff_keys.c.kek_id))}
    assert ids == {report.kek_id}
    # Fresh services hold only the new KEK: the secret still unseals and the code works.
    fresh = build_services(world.svc.settings, clock=world.clock)
    try:
        world.clock.advance(seconds=PERIOD_S)
        code = totp.at(world.clock.now())
        await fresh.auth.login("ona@example.com", PASSWORD, code, ip=None, user_agent=None)
    finally:
        await fresh.db.dispose()


async def _enrolled(world: World, email: str) -> tuple[StaffPrincipal, pyotp.TOTP, list[str]]:
    await world.staff(email)
    login = await world.svc.auth.login(email, PASSWORD, None, ip=None, user_agent=None)
    principal, _ = await world.svc.staff.authenticate(login.session_token)
    setup = await world.svc.auth.totp_setup(principal, PASSWORD, None)
    totp = pyotp.TOTP(setup["secret"], interval=PERIOD_S)
    codes = await world.svc.auth.totp_confirm(principal, totp.at(world.clock.now()), None)
    world.clock.advance(seconds=PERIOD_S)
    return principal, totp, codes


def _flip(sealed: str) -> str:
    blob = bytearray(base64.b64decode(sealed[3:]))
    blob[-1] ^= 0x01  # one bit of the GCM tag
    return "e1:" + base64.b64encode(bytes(blob)).decode()


async def test_an_unreadable_pending_secret_asks_for_a_new_set_up(world: World) -> None:
    await world.staff("ona@example.com")
    login = await world.svc.auth.login("ona@example.com", PASSWORD, None, ip=None, user_agent=None)
    principal, _ = await world.svc.staff.authenticate(login.session_token)
    setup = await world.svc.auth.totp_setup(principal, PASSWORD, None)
    pending = (await _users(world))["ona@example.com"][1]
    assert pending is not None
    async with world.svc.db.transaction(write=True) as conn:
        query = update(t.users).where(t.users.c.id == principal.user_id)
        await conn.execute(query.values(totp_pending=_flip(pending)))
        await conn.commit()
    code = pyotp.TOTP(setup["secret"], interval=PERIOD_S).at(world.clock.now())
    with pytest.raises(SecondFactorUnavailable, match="start it again"):
        await world.svc.auth.totp_confirm(principal, code, None)
    admin = await world.staff("ada@example.com", Role.ADMIN)
    [entry] = await world.svc.auth.audit(admin, 10, "auth.second_factor_unavailable")
    assert (entry.actor, entry.details) == (principal.user_id, {"factor": "totp_pending"})
    # Starting again writes a new pending secret, which confirms.
    setup = await world.svc.auth.totp_setup(principal, PASSWORD, None)
    code = pyotp.TOTP(setup["secret"], interval=PERIOD_S).at(world.clock.now())
    assert len(await world.svc.auth.totp_confirm(principal, code, None)) == 10


async def test_an_unreadable_staff_key_fails_closed(world: World) -> None:
    """The staff key's row no longer opens (altered, or another deployment's KEK): every
    TOTP user still loads and needs a second step; recovery codes sign in; set-up says
    why it cannot proceed instead of answering 500."""
    from bastion.services import build_services

    _principal, totp, codes = await _enrolled(world, "ona@example.com")
    async with world.svc.db.transaction(write=True) as conn:
        (wrapped,) = (
            await conn.execute(select(t.staff_keys.c.wrapped).where(t.staff_keys.c.name == "staff"))
        ).one()
        altered = bytes(wrapped[:-1]) + bytes([wrapped[-1] ^ 1])
        await conn.execute(
            update(t.staff_keys).where(t.staff_keys.c.name == "staff").values(wrapped=altered)
        )
        await conn.commit()
    # Fresh services: the running ones hold the key unwrapped in memory.
    fresh = build_services(world.svc.settings, clock=world.clock)
    try:
        auth = fresh.auth
        with pytest.raises(OtpRequired):
            await auth.login("ona@example.com", PASSWORD, None, ip=None, user_agent=None)
        code = totp.at(world.clock.now())
        with pytest.raises(SecondFactorUnavailable):
            await auth.login("ona@example.com", PASSWORD, code, ip=None, user_agent=None)
        login = await auth.login("ona@example.com", PASSWORD, codes[0], ip=None, user_agent=None)
        principal, user = await fresh.staff.authenticate(login.session_token)
        assert user.totp_enabled and user.totp_unreadable
        with pytest.raises(SecondFactorUnavailable, match="key-encryption key"):
            await auth.totp_setup(principal, PASSWORD, None)
    finally:
        await fresh.db.dispose()
