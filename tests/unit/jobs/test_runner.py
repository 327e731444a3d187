"""The job runner on real storage (SQLite and PostgreSQL), with a fake clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from bastion.jobs.runner import JobRunner
from bastion.storage.jobs import SqlJobLedger
from tests.support.factories import World


def _runner(world: World, **kw: float) -> tuple[JobRunner, SqlJobLedger]:
    ledger = SqlJobLedger(world.svc.db)
    return JobRunner(ledger, world.clock, **kw), ledger


async def test_a_job_runs_once_per_interval_and_its_last_run_is_recorded(world: World) -> None:
    runner, ledger = _runner(world)
    calls: list[int] = []

    async def job() -> dict[str, int]:
        calls.append(1)
        return {"done": len(calls)}

    runner.add("test.count", every=timedelta(minutes=10), run=job)
    assert await runner.tick() == ["test.count"]
    assert await runner.tick() == []  # not due yet
    world.clock.advance(minutes=9)
    assert await runner.tick() == []
    world.clock.advance(minutes=1)
    assert await runner.tick() == ["test.count"]
    assert len(calls) == 2
    started, finished, ok = (await ledger.last_runs())["test.count"]
    assert started == world.clock.now() and finished == world.clock.now() and ok is True


async def test_a_restarted_node_does_not_run_a_job_early(world: World) -> None:
    first, _ = _runner(world)
    calls: list[str] = []

    async def job() -> None:
        calls.append("run")

    first.add("test.restart", every=timedelta(hours=1), run=job)
    await first.tick()
    # A new process: a fresh runner and ledger, the same database.
    second, _ = _runner(world)
    second.add("test.restart", every=timedelta(hours=1), run=job)
    world.clock.advance(minutes=30)
    assert await second.tick() == []
    world.clock.advance(minutes=30)
    assert await second.tick() == ["test.restart"]
    assert calls == ["run", "run"]


async def test_failures_and_timeouts_are_logged_without_detail_and_never_stop_the_rest(
    world: World,
) -> None:
    runner, ledger = _runner(world)
    ran: list[str] = []

    async def boom() -> None:
        raise ValueError("visitor ona@example.com said something")

    async def slow() -> None:
        await asyncio.sleep(30)

    async def fine() -> None:
        ran.append("fine")

    runner.add("test.boom", every=timedelta(minutes=1), run=boom)
    runner.add("test.slow", every=timedelta(minutes=1), run=slow, timeout_s=0.05)
    runner.add("test.fine", every=timedelta(minutes=1), run=fine)
    with capture_logs() as logs:
        assert await runner.tick() == ["test.boom", "test.slow", "test.fine"]
    assert ran == ["fine"]
    failed = {e["job"]: e["error"] for e in logs if e["event"] == "job_failed"}
    assert failed == {"test.boom": "ValueError", "test.slow": "timeout"}
    assert "ona@example.com" not in repr(logs)
    runs = await ledger.last_runs()
    assert runs["test.boom"][2] is False and runs["test.fine"][2] is True


async def test_start_and_stop_run_the_loop_and_cancel_a_stuck_job(world: World) -> None:
    runner, _ = _runner(world, poll_s=0.01)
    started = asyncio.Event()

    async def stuck() -> None:
        started.set()
        await asyncio.sleep(60)

    runner.add("test.stuck", every=timedelta(minutes=1), run=stuck, timeout_s=120)
    runner.start()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(runner.stop(grace_s=0.1), 5)


def test_registration_refuses_duplicates_and_empty_intervals(world: World) -> None:
    runner, _ = _runner(world)

    async def job() -> None:
        return None

    runner.add("test.once", every=timedelta(minutes=1), run=job)
    with pytest.raises(ValueError, match="twice"):
        runner.add("test.once", every=timedelta(minutes=1), run=job)
    with pytest.raises(ValueError, match="positive"):
        runner.add("test.zero", every=timedelta(0), run=job)


async def test_the_app_registers_retention_and_idle_close(world: World) -> None:
    names = {j.name for j in world.svc.jobs.jobs}
    assert {"retention.purge", "conversations.close_idle"} <= names
