"""The periodic job runner: every registered job runs at most once per interval across
the whole cluster, bounded in time, and a failing job never stops the others.

Which node runs a job is decided by a :class:`JobLedger` (storage/jobs.py): on
PostgreSQL a session advisory lock per job plus the ``job_runs`` row of its last start;
on SQLite (one process) an in-process lock plus the same row. The runner itself only
asks the ledger, runs what is due, and logs the outcome: the job's name, its duration,
the counts it returns, or the class of the error, never an error message (it could
carry personal data).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from bastion.domain.ports import Clock

log = structlog.get_logger(__name__)

# What a job returns: counts worth logging (rows deleted, chats closed), or nothing.
JobResult = Mapping[str, int] | None
JobFn = Callable[[], Awaitable[JobResult]]


class JobLedger(Protocol):
    def claim(
        self, name: str, every: timedelta, now: datetime
    ) -> AbstractAsyncContextManager[bool]:
        """Hold the job's cluster-wide lock for the block; the block gets True when the
        job is due (and its start is then recorded), False when another node holds the
        lock or the job ran less than ``every`` ago.
        """
        ...

    async def finish(self, name: str, at: datetime, error: str | None) -> None:
        """Record the end of the run started by :meth:`claim` (called inside its block)."""
        ...


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: JobFn
    timeout_s: float


class JobRunner:
    """Runs registered jobs from one background task (``start``/``stop`` by the app)."""

    def __init__(self, ledger: JobLedger, clock: Clock, *, poll_s: float = 30.0) -> None:
        self._ledger = ledger
        self._clock = clock
        self._poll_s = poll_s
        self._jobs: dict[str, Job] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def add(self, name: str, *, every: timedelta, run: JobFn, timeout_s: float = 300.0) -> None:
        """Register a job: ``run`` is called at most once per ``every`` across the cluster
        and cancelled after ``timeout_s``. Names are lock keys: keep them stable.
        """
        if name in self._jobs:
            raise ValueError(f"job {name!r} is registered twice")
        if every <= timedelta(0) or timeout_s <= 0:
            raise ValueError("a job needs a positive interval and timeout")
        self._jobs[name] = Job(name=name, every=every, run=run, timeout_s=timeout_s)

    async def tick(self) -> list[str]:
        """Run every job that is due, one after another; the names of those that ran."""
        ran = []
        for job in list(self._jobs.values()):
            if self._stop.is_set():
                break
            try:
                if await self._run_if_due(job):
                    ran.append(job.name)
            except Exception as err:  # noqa: BLE001 - the loop outlives a database outage
                log.warning("job_skipped", job=job.name, error=type(err).__name__)
        return ran

    async def _run_if_due(self, job: Job) -> bool:
        async with self._ledger.claim(job.name, job.every, self._clock.now()) as due:
            if not due:
                return False
            started = asyncio.get_running_loop().time()
            error: str | None = None
            result: JobResult = None
            try:
                result = await asyncio.wait_for(job.run(), job.timeout_s)
            except TimeoutError:
                error = "timeout"
            except Exception as err:  # noqa: BLE001 - one job's failure never stops the others
                error = type(err).__name__
            elapsed_ms = round((asyncio.get_running_loop().time() - started) * 1000)
            await self._ledger.finish(job.name, self._clock.now(), error)
            if error is None:
                log.info("job_done", job=job.name, ms=elapsed_ms, **dict(result or {}))
            else:
                log.warning("job_failed", job=job.name, ms=elapsed_ms, error=error)
            return True

    async def _loop(self) -> None:
        while not self._stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._poll_s)

    def start(self) -> None:
        """Start the loop on the running event loop (idempotent; no jobs, no task)."""
        if self._task is None and self._jobs:
            self._stop.clear()
            self._task = asyncio.create_task(self._loop(), name="bastion-jobs")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop the loop; a job still running after ``grace_s`` is cancelled (its open
        transaction rolls back, and the next due run redoes the work).
        """
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        # On timeout, wait_for cancels the task (and waits for it to unwind).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, grace_s)
