"""The SQLite write path alone: persisted messages/s and ack latency through the domain.

    python bench/writer.py --senders 50 --seconds 10
    PYTHONPATH=<other checkout>/src python bench/writer.py ...   # the same, older code

No sockets, no HTTP: ``--senders`` visitors each send messages back to back through
``ChatService.send_message`` (the same call the WebSocket handler makes: command id,
redaction, spam check, sealed body, seq, commit) for ``--seconds``, on SQLite with
``synchronous=FULL`` and encryption at rest, in one process. It isolates what the
database writer sustains from fan-out and transport, so two code trees can be compared
in alternating runs on a shared machine. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import procstat


async def run(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    import bastion
    from bastion.services import build_services
    from bastion.settings import load_settings
    from bastion.storage.migrate import migrate

    settings = load_settings(
        {"BASTION_DATA_DIR": str(data), "BASTION_RL_MESSAGES": "1000000/minute"}
    )
    await migrate(settings.resolved_database_url)
    svc = build_services(settings)
    widget = await svc.widgets.ensure_default(["http://127.0.0.1:8000"])
    assert widget is not None
    senders = []
    for i in range(args.senders):
        issued = await svc.visitors.create_session(widget.id, "http://127.0.0.1:8000/", None)
        visitor = await svc.visitors.authenticate(issued.token)
        started = await svc.chat.start_chat(
            visitor,
            None,
            fields={"name": f"V{i}"},
            consent_accepted=True,
            consent_version=widget.config["consent"]["version"],
            first_message=None,
        )
        senders.append((visitor, started["conversation"]))
    latencies: list[float] = []
    stop = time.monotonic() + args.seconds
    counter = iter(range(10**9))

    async def sender(visitor: Any, conv: str) -> None:
        while time.monotonic() < stop:
            n = next(counter)
            t0 = time.perf_counter()
            await svc.chat.send_message(visitor, f"c{n}", conv, f"message {n} about my order")
            latencies.append((time.perf_counter() - t0) * 1e3)

    cpu0 = procstat.cpu_seconds(os.getpid()) or 0.0
    t0 = time.monotonic()
    await asyncio.gather(*(sender(v, c) for v, c in senders))
    took = time.monotonic() - t0
    cpu = (procstat.cpu_seconds(os.getpid()) or 0.0) - cpu0
    await svc.db.dispose()
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {
        "src": str(Path(bastion.__file__ or "").parent),
        "senders": args.senders,
        "seconds": round(took, 1),
        "persisted_per_s": round(len(latencies) / took, 1),
        "ack_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99)},
        "cpu_pct": round(100 * cpu / took, 1),
        "load_average": procstat.load_average(),
        "nproc": os.cpu_count(),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--senders", type=int, default=50)
    p.add_argument("--seconds", type=float, default=10)
    args = p.parse_args()
    if args.seconds > 120 or args.senders > 2000:
        p.error("bounded: --seconds ≤ 120, --senders ≤ 2000")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(prefix="bastion-writer-") as tmp:
        print(json.dumps(asyncio.run(run(args, Path(tmp)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
