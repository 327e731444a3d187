"""Scheduled backups through the job runner: one per interval, the newest N kept."""

from __future__ import annotations

from pathlib import Path

from bastion.storage.backup import verify_backup
from tests.support.factories import make_world


async def test_scheduled_backups_run_per_interval_and_keep_the_newest(tmp_path: Path) -> None:
    world = await make_world(tmp_path, BASTION_BACKUP_INTERVAL="3600", BASTION_BACKUP_KEEP="2")
    try:
        settings = world.svc.settings
        backups = settings.resolved_backup_dir
        backups.mkdir(parents=True, exist_ok=True)
        mine = backups / "before-upgrade.bbk"
        mine.write_bytes(b"an operator's own file")
        assert "backup.create" in await world.svc.jobs.tick()
        assert "backup.create" not in await world.svc.jobs.tick()  # not due again yet
        for _ in range(3):
            world.clock.advance(hours=1)
            assert "backup.create" in await world.svc.jobs.tick()
        kept = sorted(p.name for p in backups.glob("bastion-*.bbk"))
        assert kept == ["bastion-20260105T110000Z.bbk", "bastion-20260105T120000Z.bbk"]
        assert mine.exists()
        assert await verify_backup(settings, backups / kept[-1])
    finally:
        await world.svc.db.dispose()


async def test_no_backup_job_unless_an_interval_is_set(tmp_path: Path) -> None:
    world = await make_world(tmp_path)
    try:
        assert "backup.create" not in {j.name for j in world.svc.jobs.jobs}
    finally:
        await world.svc.db.dispose()
