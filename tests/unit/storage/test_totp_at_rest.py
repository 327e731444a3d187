"""TOTP secrets are sealed at rest under the staff data key, bound to their user, and
migration 0006 seals the plaintext secrets it finds (both engines)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.domain.errors import OtpRequired
from bastion.security.envelope import DecryptionFailed, FileKeyStore
from bastion.security.totp import PERIOD_S
from bastion.storage import tables as t
from bastion.storage.migrate import MIGRATIONS, migrate
from bastion.storage.uow import SqlUnitOfWorkFactory
from tests.support.factories import PASSWORD, World, make_world
from tests.support.postgres import create_database, drop_database, require_postgres

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
    secret = (await world.svc.auth.totp_setup(principal))["secret"]
    jonas_login = await world.svc.auth.login(
        "jonas@example.com", PASSWORD, None, ip=None, user_agent=None
    )
    jonas_principal, _ = await world.svc.staff.authenticate(jonas_login.session_token)
    pending_only = await world.svc.auth.totp_setup(jonas_principal)
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
    assert len(staff_keys) == 1 and staff_keys[0].name == "staff"

    # Ona's sealed secret copied onto Jonas's row does not decrypt there.
    async with world.svc.db.transaction(write=True) as conn:
        query = update(t.users).where(t.users.c.id == jonas.user_id)
        await conn.execute(query.values(totp_secret=sealed))
        await conn.commit()
    with pytest.raises(DecryptionFailed):
        await world.svc.auth.login("jonas@example.com", PASSWORD, None, ip=None, user_agent=None)
    assert ona.user_id != jonas.user_id


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bastion.db'}"
        return
    await asyncio.to_thread(require_postgres)
    url, name = await asyncio.to_thread(create_database)
    try:
        yield url
    finally:
        await asyncio.to_thread(drop_database, name)


async def _upgrade_to(url: str, revision: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def go(sync_conn: Connection) -> None:
                cfg = Config()
                cfg.set_main_option("script_location", str(MIGRATIONS))
                cfg.set_main_option("sqlalchemy.url", url)
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, revision)

            await conn.run_sync(go)
            await conn.commit()
            await conn.execute(
                text(
                    "INSERT INTO users (id, email, name, role, password_hash, status, disabled,"
                    " created_at, totp_secret, totp_pending) VALUES ('u_old', 'old@example.com',"
                    " 'Old', 'agent', 'x', 'offline', false, CURRENT_TIMESTAMP, :s, :p)"
                ),
                {"s": SECRET, "p": PENDING},
            )
            await conn.commit()
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
    from bastion.app import build_services
    from bastion.storage.rotation import rotate_kek

    await world.staff("ona@example.com")
    login = await world.svc.auth.login("ona@example.com", PASSWORD, None, ip=None, user_agent=None)
    principal, _ = await world.svc.staff.authenticate(login.session_token)
    secret = (await world.svc.auth.totp_setup(principal))["secret"]
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
