"""Encrypted backups on both engines: no plaintext in the file, tampering and truncation
detected, and a backup made before an erasure restores without the erased person.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bastion.domain.errors import NotFound
from bastion.domain.models import Role
from bastion.domain.principals import StaffPrincipal
from bastion.services import build_services
from bastion.storage.backup import BackupError, create_backup, restore_backup, verify_backup
from tests.support.factories import World
from tests.unit.domain.test_privacy import person, sealed_values, stored_bytes

ERASED, KEPT = "ona.petraityte@example.lt", "jonas.kept@example.com"


def needles() -> list[bytes]:
    return [b"tulips", b"cactus", ERASED.encode(), KEPT.encode(), b"SQLite format 3", b"PGDMP"]


async def test_backup_is_sealed_and_verifies(world: World, tmp_path: Path) -> None:
    if not world.svc.settings.is_sqlite and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    await person(world, ERASED, "tulips")
    await person(world, KEPT, "cactus")
    out = await create_backup(world.svc.settings, world.clock, tmp_path / "b1.bbk")
    raw = out.read_bytes()
    for needle in needles():
        assert needle not in raw, needle
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    info = await verify_backup(world.svc.settings, out)
    assert info["kind"] == ("sqlite" if world.svc.settings.is_sqlite else "postgres")

    # One changed byte anywhere in the body, a cut end, another key: each refused, clearly.
    tampered = tmp_path / "tampered.bbk"
    body = bytearray(raw)
    body[len(body) // 2] ^= 0x01
    tampered.write_bytes(bytes(body))
    with pytest.raises(BackupError, match=r"failed authentication|corrupt"):
        await verify_backup(world.svc.settings, tampered)
    truncated = tmp_path / "truncated.bbk"
    truncated.write_bytes(raw[:-7])
    with pytest.raises(BackupError, match="truncated"):
        await verify_backup(world.svc.settings, truncated)
    extra = tmp_path / "extra.bbk"
    extra.write_bytes(raw + b"more")
    with pytest.raises(BackupError, match="after its end"):
        await verify_backup(world.svc.settings, extra)
    world.svc.settings.resolved_backup_key_file.unlink()
    world.svc.settings.resolved_backup_key_file.write_text("A" * 43 + "=\n")
    world.svc.settings.resolved_backup_key_file.chmod(0o600)
    with pytest.raises(BackupError, match="another backup key"):
        await verify_backup(world.svc.settings, out)


async def test_restore_of_an_older_backup_keeps_the_erased_person_erased(
    world: World, tmp_path: Path
) -> None:
    settings = world.svc.settings
    if not settings.is_sqlite and not shutil.which("pg_restore"):
        pytest.skip("pg_restore is not installed")
    admin = await world.staff("admin@example.com", Role.ADMIN)
    erased_vid, _ = await person(world, ERASED, "tulips")
    _, kept_conv = await person(world, KEPT, "cactus")
    sealed = await sealed_values(world, erased_vid)
    backup = await create_backup(settings, world.clock, tmp_path / "before.bbk")
    await world.svc.privacy.erase_person(admin, ERASED, "asked")
    await world.svc.db.dispose()

    async def reapply() -> dict[str, int]:
        svc = build_services(settings, clock=world.clock)
        try:
            return await svc.privacy.reapply_ledger()
        finally:
            await svc.db.dispose()

    result = await restore_backup(settings, backup, reapply)
    assert result["ledger"] == {"entries": 1, "visitors": 1}
    assert result["unreadable_keys"] == 0

    svc = build_services(settings, clock=world.clock)
    world.svc = svc
    try:
        on_disk = await stored_bytes(world)
        for forms in sealed:
            assert not any(f in on_disk for f in forms)
        boss = StaffPrincipal(user_id=admin.user_id, name="Admin", role=Role.ADMIN)
        with pytest.raises(NotFound):
            await svc.privacy.export_person(boss, ERASED)
        frames, _ = await svc.chat.events_after(boss, kept_conv, 0)
        assert "my order cactus" in [f["message"]["body"] for f in frames if f["t"] == "msg"]
    finally:
        await svc.db.dispose()


async def test_a_backup_older_than_a_rotation_says_which_keys_it_lacks(
    world: World, tmp_path: Path
) -> None:
    settings = world.svc.settings
    if not settings.is_sqlite and not shutil.which("pg_restore"):
        pytest.skip("pg_restore is not installed")
    from bastion.security.envelope import old_kek_path, read_key_file, write_key_file
    from bastion.storage.rotation import rotate_kek

    visitor = await world.visitor()
    conv = await world.start(visitor, message="written before the rotation")
    kek = settings.resolved_kek_file
    old_key = read_key_file(kek)
    backup = await create_backup(settings, world.clock, tmp_path / "old.bbk")
    await rotate_kek(world.svc.db, kek, grace_s=0)
    await world.svc.db.dispose()

    async def nothing() -> dict[str, int]:
        return {"entries": 0, "visitors": 0}

    result = await restore_backup(settings, backup, nothing)
    assert result["unreadable_keys"] == 1
    # The documented way back: the old KEK beside the new one, then a rotation.
    write_key_file(old_kek_path(kek), old_key)
    svc = build_services(settings, clock=world.clock)
    world.svc = svc
    try:
        await rotate_kek(svc.db, kek, grace_s=0)
        frames, _ = await svc.chat.events_after(visitor, conv, 0)
        assert frames[1]["message"]["body"] == "written before the rotation"
    finally:
        await svc.db.dispose()
