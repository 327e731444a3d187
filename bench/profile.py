"""Where a node's time goes under load: py-spy on one node while the load generator runs.

    python bench/profile.py --setup sqlite --rate 1500 --seconds 20
    python bench/profile.py --setup pg --rate 1500 --seconds 20

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
import json
import shutil
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--setup", choices=["sqlite", "pg"], default="sqlite")
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--visitors", type=int, default=100)
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--top", type=int, default=40)
    args = p.parse_args()
    if args.seconds > 120:
        p.error("bounded: --seconds ≤ 120")
    procstat.raise_fd_limit()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M")
    name = f"profile-{args.setup}-{int(args.rate)}-{stamp}-{git('rev-parse', '--short', 'HEAD')}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    folded = RESULTS / f"{name}.folded"
    load_before = procstat.load_average()
    with (
        tempfile.TemporaryDirectory(prefix="bastion-profile-") as tmp,
        SetUp(args.setup, Path(tmp), 1, args.setup == "pg", args.agents) as s,
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
        spy = subprocess.run(
            [PY_SPY, "record", "--pid", str(pid), "--nonblocking", "--rate", "100",
             "--duration", str(int(args.seconds * 0.8)), "--format", "raw",
             "--output", str(folded)],
            capture_output=True, text=True, timeout=args.seconds + 60, check=False,
        )  # fmt: skip
        out, err = gen.communicate(timeout=args.seconds + 600)
        if gen.returncode != 0:
            raise RuntimeError(err[-1500:])
        report = json.loads(out)
    if spy.returncode != 0 or not folded.exists():
        raise RuntimeError(f"py-spy failed: {spy.stderr[-1000:]}")
    text, _ = summarise(folded, args.top)
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
