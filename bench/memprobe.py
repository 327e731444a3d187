"""Where an idle visitor socket's memory goes: one node in this process, a holder outside.

    python bench/memprobe.py --sockets 2000,10000 --sessions 200           # RSS per socket
    python bench/memprobe.py --sockets 2000 --tracemalloc --top 25         # by source line
    python bench/memprobe.py --sockets 2000 --ws websockets                # compare uvicorn impls

The node runs here (SQLite, in-process bus) with the same uvicorn options as ``serve``
(``bastion.transport.cli.main.uvicorn_options``), so ``tracemalloc`` can attribute its
allocations; a child process (``--hold``) opens the visitor sockets, says ``hello`` on
each and holds them until told to stop. Sockets reuse ``--sessions`` visitor tokens round
robin (creating a visitor costs a database write, not socket memory; each distinct
visitor adds one followed channel, measured by varying ``--sessions``). For each count
in ``--sockets`` it reports RSS growth per socket and, with ``--tracemalloc``, the top
allocation sites of the growth. Bounded: ``--open-seconds`` per count; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import procstat
import servers


async def hold(base: str, widget: str, want: list[int], sessions: int, deflate: bool) -> None:
    """Child: open sockets in steps, print ``ready N`` after each, wait for a line on stdin."""
    import httpx
    from wsproto import Socket, visitor_token

    ws_base = base.replace("http", "ws", 1)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    socks: list[Socket] = []
    async with httpx.AsyncClient(timeout=30) as http:
        tokens = [await visitor_token(http, base, widget) for _ in range(sessions)]
    gate = asyncio.Semaphore(64)

    async def one(i: int) -> None:
        async with gate:
            try:
                sock = await Socket.open(ws_base + "/ws/visitor", origin=base, compression=deflate)
                await sock.request("hello", token=tokens[i % len(tokens)], resume={})
                socks.append(sock)
            except Exception as err:  # counted by the parent from "held"
                print(f"fail {type(err).__name__}", file=sys.stderr)

    async def keepalive() -> None:
        # The server closes a socket silent for BASTION_WS_IDLE_TIMEOUT_S (75 s): ping as
        # the widget does, every 25 s.
        while True:
            await asyncio.sleep(25)
            for sock in list(socks):
                if not sock.closed:
                    with contextlib.suppress(Exception):
                        await sock.conn.send('{"t":"ping"}')

    pinger = asyncio.create_task(keepalive())
    for n in want:
        await asyncio.gather(*(one(i) for i in range(len(socks), n)))
        print(f"ready {sum(not s.closed for s in socks)}", flush=True)
        await reader.readline()
    pinger.cancel()
    for i in range(0, len(socks), 500):
        await asyncio.gather(*(s.close() for s in socks[i : i + 500]))


def top_growth(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int, count: int
) -> list[dict[str, Any]]:
    stats = after.compare_to(before, "lineno")
    out = []
    for st in stats[:n]:
        frame = st.traceback[0]
        name = frame.filename
        for marker in ("site-packages/", "lib/python3.11/", "src/"):
            if marker in name:
                name = name.split(marker, 1)[1]
                break
        size, blocks = round(st.size_diff / count, 1), round(st.count_diff / count, 2)
        out.append({"where": f"{name}:{frame.lineno}", "bytes_per_socket": size,
                    "blocks_per_socket": blocks})  # fmt: skip
    return out


async def probe(args: argparse.Namespace, env: dict[str, str], widget: str) -> dict[str, Any]:
    import uvicorn

    from bastion.app import create_app
    from bastion.settings import load_settings

    os.environ.update(env)
    settings = load_settings()
    try:
        from bastion.transport.cli.main import uvicorn_options

        options = uvicorn_options(settings, {})
    except ImportError:  # a tree from before uvicorn_options (PYTHONPATH=<old>/src): its inline set
        options = {"host": settings.host, "port": settings.port, "ws_max_size": 1024 * 1024,
                   "ws_ping_interval": None, "proxy_headers": False, "server_header": False,
                   "access_log": False, "log_level": "warning"}  # fmt: skip
    if args.ws:
        options["ws"] = args.ws
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
    serving = asyncio.create_task(server.serve())
    for _ in range(300):
        if server.started:
            break
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{settings.port}"
    want = [int(x) for x in args.sockets.split(",")]
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--hold", base, "--widget", widget, "--sockets", args.sockets,
        "--sessions", str(args.sessions), *(["--deflate"] if args.deflate else []),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    # Warm up: one socket's worth of imports, caches and pools before the baseline.
    await asyncio.sleep(1)
    gc.collect()
    if args.tracemalloc:
        tracemalloc.start(args.depth)
    base_rss = procstat.rss_kb(os.getpid()) or 0
    base_snap = tracemalloc.take_snapshot() if args.tracemalloc else None
    steps = []
    for n in want:
        t0 = time.monotonic()
        line = await asyncio.wait_for(child.stdout.readline(), args.open_seconds)
        held = int(line.split()[1])
        await asyncio.sleep(2)
        gc.collect()
        rss = procstat.rss_kb(os.getpid()) or 0
        step: dict[str, Any] = {
            "asked": n, "held": held, "open_seconds": round(time.monotonic() - t0, 1),
            "rss_kb_before": base_rss, "rss_kb_after": rss,
            "kib_per_socket": round((rss - base_rss) / held, 2) if held else None,
            "kb_per_socket": round((rss - base_rss) * 1.024 / held, 2) if held else None,
            "open_fds": procstat.open_fds(os.getpid()), "tasks": len(asyncio.all_tasks()),
        }  # fmt: skip
        if base_snap is not None and held:
            snap = tracemalloc.take_snapshot()
            traced = sum(s.size for s in snap.statistics("filename")) - sum(
                s.size for s in base_snap.statistics("filename")
            )
            step["traced_bytes_per_socket"] = round(traced / held, 1)
            step["top"] = top_growth(base_snap, snap, args.top, held)
            if args.depth > 1:
                step["stacks"] = [
                    {"bytes_per_socket": round(st.size_diff / held, 1),
                     "stack": [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in st.traceback]}
                    for st in snap.compare_to(base_snap, "traceback")[: args.top]
                ]  # fmt: skip
        brief = {k: v for k, v in step.items() if k not in ("top", "stacks")}
        print(f"[memprobe] {json.dumps(brief)}", file=sys.stderr)
        steps.append(step)
        child.stdin.write(b"next\n")
        await child.stdin.drain()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(child.wait(), 60)
    server.should_exit = True
    await asyncio.wait_for(serving, 30)
    return {"steps": steps, "ws": options.get("ws", "auto"), "deflate": args.deflate}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sockets", default="2000", help="cumulative counts, e.g. 2000,10000")
    p.add_argument("--sessions", type=int, default=200, help="distinct visitor tokens")
    p.add_argument("--ws", help="uvicorn ws implementation (default: what serve uses)")
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    p.add_argument("--tracemalloc", action="store_true")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--depth", type=int, default=1, help="tracemalloc frames (stacks if > 1)")
    p.add_argument("--open-seconds", type=float, default=300)
    p.add_argument("--out", type=Path)
    p.add_argument("--hold", help=argparse.SUPPRESS)
    p.add_argument("--widget", help=argparse.SUPPRESS)
    args = p.parse_args()
    procstat.raise_fd_limit()
    if args.hold:
        want = [int(x) for x in args.sockets.split(",")]
        asyncio.run(hold(args.hold, args.widget, want, args.sessions, args.deflate))
        return 0
    if max(int(x) for x in args.sockets.split(",")) > 20000 or args.open_seconds > 900:
        p.error("bounded: at most 20,000 sockets and 900 s per step")
    import uvloop  # what uvicorn's "auto" loop picks for serve

    import bastion

    uvloop.install()
    with tempfile.TemporaryDirectory(prefix="bastion-memprobe-") as tmp:
        data = Path(tmp) / "node"
        port = servers.free_port()
        env = servers.node_env(data, {"BASTION_PORT": str(port)})
        node = servers.Node(data, env, port=port).start()  # migrates and bootstraps
        widget = node.widget()
        node.stop()
        result = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join(["python", *sys.argv]),
            "src": str(Path(bastion.__file__ or "").parent),
            "machine": procstat.machine(),
            **asyncio.run(probe(args, env, widget)),
            "load_average_end": procstat.load_average(),
        }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
