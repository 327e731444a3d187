"""Where a node's time goes under load: py-spy or cProfile on one node while the load runs.

    python bench/profile.py --setup sqlite --rate 1500 --seconds 20
    python bench/profile.py --setup pg --rate 1500 --seconds 20
    python bench/profile.py --setup sqlite --rate 60 --seconds 20 --tool cprofile

``--tool cprofile`` starts node 0 through ``bench/nodeprobe.py`` instead: a deterministic
profile of the event-loop thread and a count of SQL statements by text, over the same
window (signals switch it on and off), so the cost per persisted message can be read off.
``--tool sql`` counts statements and CPU only (no profiler overhead in the CPU figure).

Starts the set-up (as ``bench/run.py`` does), offers ``--rate`` visitor messages/s for
``--seconds`` (plus warm-up), attaches ``py-spy record --nonblocking`` to node 0 once the
load is on, and writes under ``bench/results/``: the collapsed stacks (``*.folded``) and a
summary (``*.txt``): samples by leaf function (self) and by function anywhere on the stack
(inclusive), with what the load generator measured meanwhile. Needs ``py-spy`` (a PyPI
wheel: ``.venv/bin/pip install py-spy``; not a runtime dependency) and ptrace rights over
the node (same user). Bounded: ``--seconds`` ≤ 120; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import io
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import procstat
import servers
from run import RESULTS, SetUp, git

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


def summarise(folded: Path, top: int) -> tuple[str, int]:
    """Self and inclusive sample counts per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1] if " (" in f else f
                  for f in stack.split(";")]  # fmt: skip
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    lines = [f"{total} samples (py-spy, 100 Hz, active threads only)", "", "self (leaf):"]
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive (anywhere on the stack):"]
    lines += [f"  {100 * n / total:5.1f} %  {f}" for f, n in incl.most_common(top)]
    return "\n".join(lines) + "\n", total


def summarise_cprofile(probe: Path, top: int, persisted_per_s: float) -> str:
    """The top functions by own and cumulative time, and SQL statements per message."""
    sql = json.loads(Path(f"{probe}.sql.json").read_text())
    messages = persisted_per_s * sql["seconds"]
    per_msg = lambda n: round(n / messages, 2) if messages else None  # noqa: E731
    lines = [
        f"window {sql['seconds']} s, process CPU {sql['process_cpu_s']} s "
        f"(all threads), ~{round(messages)} messages persisted "
        f"→ {per_msg(sql['process_cpu_s'] * 1000)} ms CPU and "
        f"{per_msg(sql['statements'])} SQL statements per message",
        "",
        "statements by text (count, per message):",
    ]
    lines += [f"  {n:7d} {per_msg(n):7}  {text}" for text, n in sql["by_text"][:top]]
    if not Path(f"{probe}.pstats").exists():
        return "\n".join(lines) + "\n"
    buf = io.StringIO()
    stats = pstats.Stats(f"{probe}.pstats", stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return "\n".join(lines) + "\n\n" + buf.getvalue()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--setup", choices=["sqlite", "pg"], default="sqlite")
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--visitors", type=int, default=100)
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--tool", choices=["py-spy", "cprofile", "sql"], default="py-spy")
    p.add_argument(
        "--native",
        action="store_true",
        help="py-spy: C and Cython frames too (pauses the node at each sample)",
    )
    args = p.parse_args()
    if args.seconds > 120:
        p.error("bounded: --seconds ≤ 120")
    procstat.raise_fd_limit()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M")
    tool = "" if args.tool == "py-spy" else f"{args.tool}-"
    if args.tool == "sql":
        os.environ["BENCH_NODEPROBE_PROFILE"] = "0"
    name = (
        f"profile-{tool}{args.setup}-{int(args.rate)}-{stamp}-{git('rev-parse', '--short', 'HEAD')}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    folded = RESULTS / f"{name}.folded"
    probe = RESULTS / name
    launcher = (
        () if args.tool == "py-spy" else (str(Path(__file__).with_name("nodeprobe.py")), str(probe))
    )
    load_before = procstat.load_average()
    with (
        tempfile.TemporaryDirectory(prefix="bastion-profile-") as tmp,
        SetUp(args.setup, Path(tmp), 1, args.setup == "pg", args.agents, launcher) as s,
    ):
        pid = s.nodes[0].proc.pid  # type: ignore[union-attr]
        cmd = [sys.executable, str(Path(__file__).with_name("loadgen.py")), "--base", s.base,
               "--widget", s.widget, "--password", servers.AGENT_PASSWORD,
               "--visitors", str(args.visitors), "--agents", str(args.agents),
               "--saturate", "--steps", ",".join([str(args.rate)] * 2),
               "--step-seconds", str(args.seconds / 2), "--max-p99-ms", "1e9",
               "--reply-ratio", "0.2", "--setup-timeout", "300",
               "--pid", f"node0={pid}"]  # fmt: skip
        for email in s.agents:
            cmd += ["--agent-user", email]
        gen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert gen.stderr is not None and gen.stdout is not None
        deadline = time.monotonic() + 600
        # The load is on once the first step's warm-up has passed; wait for set-up first.
        while time.monotonic() < deadline:
            conns = procstat.open_fds(pid) or 0
            if conns >= args.visitors + args.agents:
                break
            time.sleep(0.5)
        time.sleep(3)
        if args.tool == "py-spy":
            spy = subprocess.run(
                [PY_SPY, "record", "--pid", str(pid), "--rate", "100", "--gil",
                 *(["--native"] if args.native else ["--nonblocking"]),
                 "--duration", str(int(args.seconds * 0.8)), "--format", "raw",
                 "--output", str(folded)],
                capture_output=True, text=True, timeout=args.seconds + 60, check=False,
            )  # fmt: skip
            if spy.returncode != 0 or not folded.exists():
                raise RuntimeError(f"py-spy failed: {spy.stderr[-1000:]}")
        else:
            os.kill(pid, signal.SIGUSR1)
            time.sleep(args.seconds * 0.8)
            os.kill(pid, signal.SIGUSR2)
        out, err = gen.communicate(timeout=args.seconds + 600)
        if gen.returncode != 0:
            raise RuntimeError(err[-1500:])
        report = json.loads(out)
    if args.tool == "py-spy":
        text, _ = summarise(folded, args.top)
    else:
        persisted = sum(st["persisted_per_s"] for st in report.get("steps", [])) / max(
            len(report.get("steps", [])), 1
        )
        text = summarise_cprofile(probe, args.top, persisted)
    steps = [
        {k: st[k] for k in ("offered_visitor_per_s", "persisted_per_s", "latency_ms", "procs")}
        for st in report.get("steps", [])
    ]
    header = {
        "command": " ".join(["python", *sys.argv]),
        "commit": git("rev-parse", "HEAD"),
        "machine": procstat.machine(),
        "load_average_before": load_before,
        "load_average_after": procstat.load_average(),
        "loadgen_steps": steps,
    }
    summary = RESULTS / f"{name}.txt"
    summary.write_text(json.dumps(header, indent=1) + "\n\n" + text)
    print(text)
    print(f"[profile] wrote {summary} and {folded}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
