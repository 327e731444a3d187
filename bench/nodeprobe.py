"""Run ``bastion`` with a deterministic profiler and a SQL statement counter, switched by signals.

    python bench/nodeprobe.py OUT_PREFIX serve --port 8000     # as ``python -m bastion …``

Benchmark-only (``bench/profile.py --tool cprofile`` starts node 0 through it). ``SIGUSR1``
starts a measuring window: cProfile on the event-loop thread (where all Bastion code runs;
aiosqlite's worker threads only run SQLite itself) and a count of every SQL statement any
engine executes, by statement text. ``SIGUSR2`` ends the window and writes
``OUT_PREFIX.pstats`` and ``OUT_PREFIX.sql.json``. Nothing is recorded outside the window,
so log-in and set-up do not blur the steady state.
"""

from __future__ import annotations

import sys

# bench/ is sys.path[0] when run as a script, and bench/profile.py would shadow the
# standard library's ``profile``, which ``cProfile`` imports.
del sys.path[0]

import collections  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bastion.storage.sqlite_driver import OBSERVERS  # noqa: E402

PREFIX = Path(sys.argv[1])
# ``--tool sql``: count statements and CPU only, without the profiler's own overhead.
PROFILE = os.environ.get("BENCH_NODEPROBE_PROFILE", "1") == "1"
profiler = cProfile.Profile()
statements: collections.Counter[str] = collections.Counter()
window: dict[str, float] = {}


def _count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
    if "start" in window:
        statements[" ".join(statement.split())[:160]] += 1


def _start(*_: Any) -> None:
    statements.clear()
    window.clear()
    window["start"] = time.monotonic()
    window["cpu"] = time.process_time()
    if PROFILE:
        profiler.enable()


def _stop(*_: Any) -> None:
    profiler.disable()
    seconds = time.monotonic() - window.pop("start", time.monotonic())
    cpu = time.process_time() - window.pop("cpu", time.process_time())
    if PROFILE:
        profiler.dump_stats(str(PREFIX) + ".pstats")
    Path(str(PREFIX) + ".sql.json").write_text(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "process_cpu_s": round(cpu, 2),
                "statements": sum(statements.values()),
                "by_text": statements.most_common(),
            },
            indent=1,
        )
    )


event.listen(Engine, "before_cursor_execute", _count)
# Statements run straight on the driver's connection (storage.prepared) skip the engine's
# events.
OBSERVERS.append(lambda sql: _count(None, None, sql))
signal.signal(signal.SIGUSR1, _start)
signal.signal(signal.SIGUSR2, _stop)

if __name__ == "__main__":
    from bastion.transport.cli.main import main

    sys.argv = ["bastion", *sys.argv[2:]]
    main()
