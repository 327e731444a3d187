"""Scheduled backups: ``bastion backup create`` as a periodic job, keeping the newest N.

Only the backups this job makes (``bastion-<UTC time>Z.bbk`` in the backup directory)
are counted and pruned; files put there by hand under other names are left alone.
"""

from __future__ import annotations

import re

from bastion.domain.ports import Clock
from bastion.settings import Settings
from bastion.storage.backup import create_backup

SCHEDULED = re.compile(r"bastion-\d{8}T\d{6}Z\.bbk")


async def scheduled_backup(settings: Settings, clock: Clock, *, keep: int) -> dict[str, int]:
    """Make a backup, then delete all but the ``keep`` newest scheduled ones."""
    await create_backup(settings, clock)
    directory = settings.resolved_backup_dir
    # The names hold the UTC time, so their order is their age.
    ours = sorted(p for p in directory.iterdir() if SCHEDULED.fullmatch(p.name))
    doomed = ours[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink(missing_ok=True)
    return {"kept": len(ours) - len(doomed), "removed": len(doomed)}
