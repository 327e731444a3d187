"""KEK rotation in-process on both engines: data keys re-wrapped, old KEK file removed,
an interrupted rotation resumes, and a key wrapped by an absent KEK stops it safely.
"""

from __future__ import annotations

from sqlalchemy import select, update

from bastion.security.envelope import FileKeyStore, kek_id_of, next_kek_path, old_kek_path
from bastion.services import build_services
from bastion.storage import tables as t
from bastion.storage.rotation import RotationError, rotate_kek
from tests.support.factories import PASSWORD, World


async def kek_ids(world: World) -> set[str]:
    async with world.svc.db.transaction(write=False) as conn:
        return {r.kek_id for r in await conn.execute(select(t.visitor_keys.c.kek_id))}


async def test_rotation_rewraps_every_key_and_removes_the_old_kek(world: World) -> None:
    kek = world.svc.settings.resolved_kek_file
    convs = []
    for n in range(5):
        visitor = await world.visitor()
        convs.append((visitor, await world.start(visitor, message=f"before rotation {n}")))
    old = kek.read_bytes()
    report = await rotate_kek(world.svc.db, kek, batch=2, grace_s=0)
    assert report.rewrapped == 5
    assert kek.read_bytes() != old
    assert not old_kek_path(kek).exists() and not next_kek_path(kek).exists()
    assert await kek_ids(world) == {report.kek_id}
    # The running services (they had the old KEK in memory) keep working ...
    visitor, conv = convs[0]
    await world.svc.chat.send_message(visitor, None, conv, "after rotation")
    # ... and fresh ones, holding only the new KEK file, read everything.
    fresh = build_services(world.svc.settings, clock=world.clock)
    try:
        for visitor, conv in convs:
            frames, _ = await fresh.chat.events_after(visitor, conv, 0)
            assert any(f.get("message", {}).get("body", "").startswith("before") for f in frames)
    finally:
        await fresh.db.dispose()


async def test_an_interrupted_rotation_resumes_to_the_same_key(world: World) -> None:
    kek = world.svc.settings.resolved_kek_file
    await world.start(await world.visitor(), message="hello")
    # As if a rotation died after writing the new KEK: its file is there.
    FileKeyStore.load_or_create(kek)
    from bastion.security.envelope import write_key_file

    write_key_file(next_kek_path(kek), b"\x07" * 32)
    report = await rotate_kek(world.svc.db, kek, grace_s=0)
    assert report.kek_id == kek_id_of(b"\x07" * 32)
    assert await kek_ids(world) == {report.kek_id}


async def test_a_key_wrapped_by_an_absent_kek_stops_the_rotation(world: World) -> None:
    kek = world.svc.settings.resolved_kek_file
    visitor = await world.visitor()
    await world.start(visitor, message="hello")
    async with world.svc.db.transaction(write=True) as conn:
        await conn.execute(
            update(t.visitor_keys)
            .where(t.visitor_keys.c.visitor_id == visitor.visitor_id)
            .values(kek_id="0123456789abcdef")
        )
        await conn.commit()
    try:
        await rotate_kek(world.svc.db, kek, grace_s=0)
    except RotationError as err:
        assert "not in the key directory" in str(err)
    else:
        raise AssertionError("rotation went on without the KEK of a data key")
    # Nothing was deleted: the old KEK stays while a data key may need it.
    assert kek.exists()


async def test_an_altered_staff_key_stops_the_rotation_with_a_reason(world: World) -> None:
    """The staff key's row no longer opens: a one-line RotationError (the CLI prints it),
    not a DecryptionFailed traceback, and the key files stay."""
    kek = world.svc.settings.resolved_kek_file
    await world.staff("ona@example.com")
    login = await world.svc.auth.login("ona@example.com", PASSWORD, None, ip=None, user_agent=None)
    principal, _ = await world.svc.staff.authenticate(login.session_token)
    # The first sealed secret makes the staff key.
    await world.svc.auth.totp_setup(principal, PASSWORD, None)
    async with world.svc.db.transaction(write=True) as conn:
        (wrapped,) = (
            await conn.execute(select(t.staff_keys.c.wrapped).where(t.staff_keys.c.name == "staff"))
        ).one()
        altered = bytes(wrapped[:-1]) + bytes([wrapped[-1] ^ 1])
        await conn.execute(
            update(t.staff_keys).where(t.staff_keys.c.name == "staff").values(wrapped=altered)
        )
        await conn.commit()
    try:
        await rotate_kek(world.svc.db, kek, grace_s=0)
    except RotationError as err:
        assert "staff data key does not open" in str(err)
    else:
        raise AssertionError("rotation went on past a staff key it could not open")
    assert kek.exists()
