"""Bastion load generator: visitors and agents chatting over the real protocol.

Run as its own process against one base URL (a node or nginx), e.g.::

    python bench/loadgen.py --base http://127.0.0.1:8000 --widget w_… \
        --agent-user a1@bench.localhost --password … --visitors 200 --agents 20 \
        --rate 500 --seconds 20 --pid node0=1234

What it plays: ``--visitors`` visitors each open a session (HTTP), a ``/ws/visitor``
socket, ``hello`` and ``chat.start``; ``--agents`` staff sockets (logged in as the
``--agent-user`` accounts, round-robin) ``hello`` and ``conv.accept`` those chats. Each
visitor then sends ``msg.send`` open-loop at jittered intervals so that together they offer
``--rate`` messages/s; an agent answers a received message with probability
``--reply-ratio`` after a short think time. ``--idle`` more visitors only hold sockets
(hello, then a ping every 25 s).

What it prints (JSON on stdout): per step the persisted messages/s (acks), delivered
messages/s (``msg`` events reaching the other side), visitor→agent latency percentiles
(send time to the agent's receipt, one monotonic clock), errors by code, shed sends,
and CPU seconds / RSS of every ``--pid`` process and of itself. ``--saturate`` walks the
``--steps`` rates and stops at the first step that falls behind. Every phase is bounded:
``--seconds`` per plain run, ``--step-seconds`` per step, ``--setup-timeout`` for set-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import procstat
from wsproto import Frame, Socket, agent_cookie, visitor_token

# The send time rides in the message as letters, not digits: a long run of digits can pass
# the Luhn check and be redacted as a card number (which once broke the agents' readers).
_TO_LETTERS = str.maketrans("0123456789", "abcdefghij")
_TO_DIGITS = str.maketrans("abcdefghij", "0123456789")


def stamp(ns: int) -> str:
    return str(ns).translate(_TO_LETTERS)


def unstamp(text: str) -> int | None:
    digits = text.translate(_TO_DIGITS)
    return int(digits) if digits.isdigit() else None


MAX_OUTSTANDING = 20  # per visitor: beyond this a send is shed (server far behind)
PING_EVERY_S = 25.0


def percentiles(samples: list[float]) -> dict[str, float | int | None]:
    if not samples:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    s = sorted(samples)

    def at(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))], 2)

    return {"n": len(s), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(s[-1], 2)}


@dataclass
class Window:
    """Counters for one measuring window; callbacks always write to the current one."""

    started: float = field(default_factory=time.monotonic)
    visitor_acks: int = 0
    agent_acks: int = 0
    to_agent: int = 0
    to_visitor: int = 0
    shed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def report(self, seconds: float) -> dict[str, Any]:
        per_s = lambda n: round(n / seconds, 1)  # noqa: E731
        return {
            "seconds": round(seconds, 2),
            "persisted_per_s": per_s(self.visitor_acks + self.agent_acks),
            "visitor_acks_per_s": per_s(self.visitor_acks),
            "agent_acks_per_s": per_s(self.agent_acks),
            "delivered_per_s": per_s(self.to_agent + self.to_visitor),
            "delivered_to_agent_per_s": per_s(self.to_agent),
            "delivered_to_visitor_per_s": per_s(self.to_visitor),
            "latency_ms": percentiles(self.latencies_ms),
            "shed": self.shed,
            "errors": dict(self.errors),
        }


@dataclass
class Visitor:
    sock: Socket
    conversation: str = ""
    outstanding: int = 0


class Load:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = args.base.rstrip("/")
        self.ws_base = self.base.replace("http", "ws", 1)
        self.win = Window()
        self.interval = 1.0  # mean seconds between one visitor's messages
        self.visitors: list[Visitor] = []
        self.agents: list[Socket] = []
        self.idle: list[Socket] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.rng = random.Random(args.seed)
        self.stopping = False

    # ---- callbacks (run in the socket reader tasks) ----------------------------------

    def _agent_event(self, agent: Socket, frame: Frame) -> None:
        if frame.get("t") == "error":
            self.win.errors[str(frame.get("code"))] += 1
            return
        if frame.get("t") != "msg" or frame["message"]["author"]["kind"] != "visitor":
            return
        body = frame["message"]["body"]
        if not body.startswith("lg "):
            return
        now = time.perf_counter_ns()
        self.win.to_agent += 1
        sent = unstamp(body.split()[1])
        if sent is None:
            self.win.errors["unreadable_body"] += 1
            return
        self.win.latencies_ms.append((now - sent) / 1e6)
        if self.rng.random() < self.args.reply_ratio:
            delay = self.rng.uniform(0.05, 0.5)
            conv = frame["conversation"]
            asyncio.get_running_loop().call_later(delay, self._reply, agent, conv)

    def _reply(self, agent: Socket, conv: str) -> None:
        if not self.stopping:
            body = "Thanks, looking into it."
            self._spawn(agent.send_cmd("msg.send", self._agent_ack, conversation=conv, body=body))

    def _agent_ack(self, frame: Frame) -> None:
        if frame.get("t") == "ack":
            self.win.agent_acks += 1
        else:
            self.win.errors[str(frame.get("code"))] += 1

    def _visitor_event(self, frame: Frame) -> None:
        t = frame.get("t")
        if t == "msg" and frame["message"]["author"]["kind"] == "agent":
            self.win.to_visitor += 1
        elif t == "error":
            self.win.errors[str(frame.get("code"))] += 1

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ---- set-up ----------------------------------------------------------------------

    async def _open_visitor(self, http: httpx.AsyncClient, chat: bool) -> Socket:
        token = await visitor_token(http, self.base, self.args.widget)
        sock = await Socket.open(
            self.ws_base + "/ws/visitor", origin=self.base, compression=self.args.compression
        )
        await sock.request("hello", token=token, resume={})
        return sock

    async def setup_agents(self) -> None:
        users = self.args.agent_user
        cookies = [await agent_cookie(self.base, u, self.args.password) for u in users]
        for i in range(self.args.agents):
            holder: list[Socket] = []
            sock = await Socket.open(
                self.ws_base + "/ws/agent",
                origin=self.base,
                cookie=cookies[i % len(cookies)],
                on_event=lambda f, h=holder: self._agent_event(h[0], f),  # type: ignore[misc]
            )
            holder.append(sock)
            await sock.request("hello", resume={})
            self.agents.append(sock)

    async def setup_visitors(self) -> None:
        gate = asyncio.Semaphore(16)

        async def one(i: int, http: httpx.AsyncClient) -> None:
            async with gate:
                sock = await self._open_visitor(http, chat=True)
                sock.on_event = self._visitor_event
                ack = await sock.request(
                    "chat.start",
                    fields={"name": f"Visitor {i}"},
                    consent={"accepted": True, "version": consent_version},
                )
                conv = ack["conversation"]
                await self.agents[i % len(self.agents)].request("conv.accept", conversation=conv)
                self.visitors.append(Visitor(sock, conv))

        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=16)) as http:
            # The notice a visitor accepts is the one the widget shows now.
            config = await http.get(f"{self.base}/api/v1/widgets/{self.args.widget}/config")
            consent_version = config.json()["consent"]["version"]
            await asyncio.gather(*(one(i, http) for i in range(self.args.visitors)))

    async def setup_idle(self, count: int, deadline: float) -> dict[str, Any]:
        """Open up to ``count`` idle sockets before ``deadline``; errors are counted."""
        gate = asyncio.Semaphore(self.args.idle_concurrency)
        failures: Counter[str] = Counter()

        async def one(http: httpx.AsyncClient) -> None:
            if time.monotonic() > deadline:
                failures["deadline"] += 1
                return
            async with gate:
                if time.monotonic() > deadline:
                    failures["deadline"] += 1
                    return
                try:
                    self.idle.append(await self._open_visitor(http, chat=False))
                except Exception as err:
                    failures[type(err).__name__] += 1

        started = time.monotonic()
        limits = httpx.Limits(max_connections=self.args.idle_concurrency)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            await asyncio.gather(*(one(http) for _ in range(count)))
        return {
            "requested": count,
            "opened": len(self.idle),
            "open_seconds": round(time.monotonic() - started, 1),
            "failures": dict(failures),
        }

    # ---- load ------------------------------------------------------------------------

    async def _visitor_loop(self, v: Visitor, stop: asyncio.Event) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.interval))
        while not stop.is_set():
            if v.sock.closed:
                self.win.errors["visitor_socket_closed"] += 1
                return
            if v.outstanding >= MAX_OUTSTANDING:
                self.win.shed += 1
            else:
                v.outstanding += 1

                def acked(frame: Frame, v: Visitor = v) -> None:
                    v.outstanding -= 1
                    if frame.get("t") == "ack":
                        self.win.visitor_acks += 1
                    else:
                        self.win.errors[str(frame.get("code"))] += 1

                body = f"lg {stamp(time.perf_counter_ns())} hello, I have a question about my order"
                await v.sock.send_cmd("msg.send", acked, conversation=v.conversation, body=body)
            await self._pause()

    async def _pause(self) -> None:
        """Sleep one jittered interval, cut short when ``measure`` changes the rate.

        Without this a visitor finishes the previous step's (longer) sleep first, so a
        new step under-offers load during its first seconds.
        """
        interval = self.interval
        until = time.monotonic() + interval * self.rng.uniform(0.5, 1.5)
        while (left := until - time.monotonic()) > 0 and self.interval == interval:
            await asyncio.sleep(min(left, 0.2))

    async def _pinger(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PING_EVERY_S)
            if stop.is_set():
                return
            for sock in [*self.idle, *self.agents, *(v.sock for v in self.visitors)]:
                if not sock.closed:
                    with contextlib.suppress(Exception):
                        await sock.conn.send('{"t":"ping"}')

    def _pids(self) -> dict[str, int]:
        pids = dict(self.args.pid)
        pids["loadgen"] = os.getpid()
        return pids

    async def measure(self, rate: float, seconds: float) -> dict[str, Any]:
        """Offer ``rate`` visitor messages/s; report a window after a 1 s warm-up."""
        self.interval = max(len(self.visitors), 1) / rate
        await asyncio.sleep(min(1.0, seconds / 4))
        self.win = Window()
        before = procstat.snapshot(self._pids())
        ticks = procstat.machine_ticks()
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        took = time.monotonic() - t0
        win = self.win
        report = win.report(took)
        report["offered_visitor_per_s"] = rate
        report["procs"] = procstat.diff(before, procstat.snapshot(self._pids()), took)
        report["machine_busy_pct"] = procstat.machine_busy_pct(ticks, procstat.machine_ticks())
        report["load_average"] = procstat.load_average()
        return report

    async def run(self) -> dict[str, Any]:
        a = self.args
        out: dict[str, Any] = {"config": {k: v for k, v in vars(a).items() if k != "password"}}
        stop = asyncio.Event()
        pinger = asyncio.create_task(self._pinger(stop))
        try:
            base_mem = procstat.snapshot(self._pids())
            if a.idle:
                deadline = time.monotonic() + a.setup_timeout
                out["idle"] = await self.setup_idle(a.idle, deadline)
                await asyncio.sleep(2)  # let the server settle its buffers
                after = procstat.snapshot(self._pids())
                out["idle"]["rss_kb_before"] = {k: v["rss_kb"] for k, v in base_mem.items()}
                out["idle"]["rss_kb_after"] = {k: v["rss_kb"] for k, v in after.items()}
                held = sum(not s.closed for s in self.idle)
                out["idle"]["held"] = held
                out["idle"]["kb_per_socket"] = {
                    k: round((after[k]["rss_kb"] - base_mem[k]["rss_kb"]) / held, 2)
                    for k in after
                    if held and after[k]["rss_kb"] and base_mem[k]["rss_kb"]
                }
            if a.visitors:
                t0 = time.monotonic()
                await asyncio.wait_for(self.setup_agents(), a.setup_timeout)
                await asyncio.wait_for(self.setup_visitors(), a.setup_timeout)
                out["setup_seconds"] = round(time.monotonic() - t0, 1)
                loops = [asyncio.create_task(self._visitor_loop(v, stop)) for v in self.visitors]
                steps: list[dict[str, Any]] = []
                rates = a.steps if a.saturate else [a.rate]
                seconds = a.step_seconds if a.saturate else a.seconds
                for rate in rates:
                    step = await self.measure(rate, seconds)
                    steps.append(step)
                    offered = rate * (1 + a.reply_ratio)
                    behind = step["persisted_per_s"] < 0.85 * offered
                    slow = (step["latency_ms"]["p99"] or 0) > a.max_p99_ms
                    print(
                        f"[loadgen] offered {rate}/s → persisted {step['persisted_per_s']}/s "
                        f"p99 {step['latency_ms']['p99']} ms shed {step['shed']}",
                        file=sys.stderr,
                    )
                    if a.saturate and (behind or slow):
                        break
                out["steps"] = steps
                out["max_persisted_per_s"] = max(s["persisted_per_s"] for s in steps)
                stop.set()
                await asyncio.gather(*loops, return_exceptions=True)
            out["sockets_held"] = sum(
                not s.closed for s in [*self.idle, *self.agents, *(v.sock for v in self.visitors)]
            )
        finally:
            stop.set()
            pinger.cancel()
            await self.close()
        return out

    async def close(self) -> None:
        self.stopping = True
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        socks = [*self.idle, *self.agents, *(v.sock for v in self.visitors)]
        for i in range(0, len(socks), 200):
            await asyncio.gather(*(s.close() for s in socks[i : i + 200]))


def _pid(text: str) -> tuple[str, int]:
    name, _, pid = text.partition("=")
    return name, int(pid)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--base", required=True, help="http://127.0.0.1:PORT (a node or nginx)")
    p.add_argument("--widget", required=True)
    p.add_argument("--agent-user", action="append", default=[], help="agent e-mail (repeat)")
    p.add_argument("--password", default="")
    p.add_argument("--visitors", type=int, default=100)
    p.add_argument("--agents", type=int, default=10, help="agent sockets")
    p.add_argument("--idle", type=int, default=0, help="idle visitor sockets to hold")
    p.add_argument("--idle-concurrency", type=int, default=32)
    p.add_argument("--rate", type=float, default=100.0, help="visitor messages/s offered")
    p.add_argument("--reply-ratio", type=float, default=0.25)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--saturate", action="store_true")
    p.add_argument("--steps", type=lambda s: [float(x) for x in s.split(",")],
                   default=[250, 500, 1000, 1500, 2000, 3000, 4000])  # fmt: skip
    p.add_argument("--step-seconds", type=float, default=6.0)
    p.add_argument("--max-p99-ms", type=float, default=2000.0, help="saturation: stop above")
    p.add_argument("--setup-timeout", type=float, default=90.0)
    p.add_argument("--compression", action="store_true", help="offer permessage-deflate")
    p.add_argument("--pid", type=_pid, action="append", default=[], help="name=pid to sample")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="write the JSON here as well as to stdout")
    args = p.parse_args(argv)
    if args.visitors and (not args.agent_user or not args.agents):
        p.error("--visitors needs --agent-user and --agents")
    if args.seconds > 600 or args.step_seconds > 120:
        p.error("runs are bounded: --seconds ≤ 600, --step-seconds ≤ 120")
    if not args.base.startswith(("http://127.0.0.1", "http://localhost")):
        p.error("--base must be on 127.0.0.1: this tool only loads local servers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    procstat.raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(Load(args).run())
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
