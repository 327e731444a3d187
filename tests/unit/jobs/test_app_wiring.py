"""The app's lifespan starts the job loop and stops it; BASTION_JOBS=0 keeps it off."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from bastion.app import create_app
from bastion.settings import load_settings
from bastion.storage.jobs import SqlJobLedger
from bastion.storage.migrate import migrate
from bastion.transport.context import Services
from tests.support.factories import FakeClock, RecordingBus

JOBS = {
    "retention.purge",
    "conversations.close_idle",
    "conversations.release_unheld",
    "audit.checkpoint",
    "files.sweep_orphans",
}


async def _runs_after(tmp_path: Path, jobs_flag: str, wait_s: float) -> set[str]:
    settings = load_settings({"BASTION_DATA_DIR": str(tmp_path), "BASTION_JOBS": jobs_flag})
    await migrate(settings.resolved_database_url)
    app = create_app(settings, clock=FakeClock(), bus=RecordingBus())
    svc = app.state.services
    assert isinstance(svc, Services)
    ledger = SqlJobLedger(svc.db)
    seen: set[str] = set()
    async with app.router.lifespan_context(app):
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline and not seen >= JOBS:
            seen = set(await ledger.last_runs())
            await asyncio.sleep(0.05)
    return seen


async def test_the_lifespan_runs_the_registered_jobs(tmp_path: Path) -> None:
    assert await _runs_after(tmp_path, "1", wait_s=15) == JOBS


async def test_jobs_off_on_this_node(tmp_path: Path) -> None:
    assert await _runs_after(tmp_path, "0", wait_s=0.5) == set()


def test_the_jobs_flag_is_checked(tmp_path: Path) -> None:
    from bastion.settings import SettingsError

    with pytest.raises(SettingsError, match="BASTION_JOBS must be 1 or 0"):
        load_settings({"BASTION_DATA_DIR": str(tmp_path), "BASTION_JOBS": "maybe"})


async def test_start_up_objects_are_kept_out_of_full_collections(tmp_path: Path) -> None:
    """The lifespan freezes what start-up built, so a full GC under load scans only what
    serving allocates (gc.freeze; docs/performance.md)."""
    settings = load_settings({"BASTION_DATA_DIR": str(tmp_path), "BASTION_JOBS": "0"})
    await migrate(settings.resolved_database_url)
    app = create_app(settings, clock=FakeClock(), bus=RecordingBus())
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
