"""Run the Bastion benchmark: three set-ups, one run, one JSON result.

    python bench/run.py            # full: ~8 s steps, 3,000 idle sockets (about 10 min)
    python bench/run.py --short    # make bench: 4 s steps, 300 idle sockets (< 3 min)

Set-ups, measured one after another in the same run so their ratios are comparable:
(a) ``sqlite``: one node, SQLite in a temp dir, in-process bus;
(b) ``pg``: one node on PostgreSQL + Redis;
(c) ``pg2-nginx``: two nodes behind nginx on the same PostgreSQL + Redis.
Each gets its own data dir, its own PostgreSQL database (dropped afterwards) and its own
Redis key prefix. For each, ``bench/loadgen.py --saturate`` walks rising message rates
until the servers fall behind; set-up (b) also measures idle sockets. The result goes to
``bench/results/<date>-<shortcommit>.json`` with the machine, the commit and the command.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import procstat
import servers

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
GIT = shutil.which("git") or "/usr/bin/git"

PROFILES: dict[str, dict[str, Any]] = {
    # max_p99_ms: a step whose p99 is above it ends the search (a shared machine can be
    # seconds behind at any load; see docs/performance.md).
    "short": {"visitors": 100, "agents": 20, "step_seconds": 4, "idle": 300, "idle_s": 25,
              "max_p99_ms": 10000,
              "steps": "20,40,80,160,320,480,640,1000,2000,3000"},
    "full": {"visitors": 200, "agents": 40, "step_seconds": 8, "idle": 3000, "idle_s": 75,
             "max_p99_ms": 10000,
             "steps": "10,20,40,60,80,120,160,240,320,640,1000,2000,3000"},
}  # fmt: skip


def code_tree() -> Path:
    """The checkout whose ``bastion`` the nodes run (PYTHONPATH may point at another)."""
    spec = importlib.util.find_spec("bastion")
    origin = spec.origin if spec is not None else None
    return Path(origin).parent if origin else BENCH.parent


def git(*args: str) -> str:
    """``git`` in the checkout under test: results name the commit that was measured."""
    return subprocess.run(
        [GIT, *args], cwd=code_tree(), capture_output=True, text=True, check=False
    ).stdout.strip()


def loadgen(
    base: str, widget: str, agent_users: list[str], pids: dict[str, int], **opts: Any
) -> Any:
    """Run bench/loadgen.py as its own process; returns its JSON report."""
    cmd = [sys.executable, str(BENCH / "loadgen.py"), "--base", base, "--widget", widget,
           "--password", servers.AGENT_PASSWORD]  # fmt: skip
    for email in agent_users:
        cmd += ["--agent-user", email]
    for name, pid in pids.items():
        cmd += ["--pid", f"{name}={pid}"]
    for key, value in opts.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            cmd.append(flag)
        elif value is not False:
            cmd += [flag, str(value)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed ({out.returncode}): {out.stderr[-1500:]}")
    return json.loads(out.stdout)


class SetUp(contextlib.ExitStack):
    """Nodes (and nginx) of one set-up; leaving the context stops them and drops the DB."""

    def __init__(
        self,
        name: str,
        work: Path,
        nodes: int,
        pg: bool,
        agents: int,
        launcher0: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.launcher0 = launcher0
        self.name, self.work, self.count, self.pg, self.agent_count = name, work, nodes, pg, agents
        self.nodes: list[servers.Node] = []
        self.nginx: servers.Nginx | None = None

    def __enter__(self) -> SetUp:
        super().__enter__()
        extra: dict[str, str] = {}
        if self.pg:
            url, dbname = servers.create_pg_database()
            self.callback(servers.drop_pg_database, dbname)
            extra = {"BASTION_DATABASE_URL": url, "BASTION_REDIS_URL": servers.REDIS_URL,
                     "BASTION_REDIS_PREFIX": servers.redis_prefix()}  # fmt: skip
        ports = [servers.free_port() for _ in range(self.count)]
        if self.count > 1:
            self.nginx = servers.Nginx(self.work / "nginx", ports)
            public = self.nginx.base
        else:
            public = f"http://127.0.0.1:{ports[0]}"
        extra["BASTION_PUBLIC_URL"] = public
        # One key-encryption key for the set-up: nodes sharing a database must unwrap each
        # other's visitor keys (encryption at rest); the first node to start creates it.
        self.work.mkdir(parents=True, exist_ok=True)
        extra["BASTION_KEK_FILE"] = str(self.work / "kek.key")
        for i, port in enumerate(ports):
            data = self.work / f"node{i}"
            node = servers.Node(data, servers.node_env(data, extra), port=port)
            if i == 0 and self.launcher0:
                node.launcher = self.launcher0
            self.nodes.append(node)
            self.callback(node.stop)
            node.start()  # one at a time: the first migrates and bootstraps
        if self.nginx is not None:
            self.callback(self.nginx.stop)
            self.nginx.start()
        self.base = public
        self.widget = self.nodes[0].widget()
        self.agents = self.nodes[0].create_agents(self.agent_count)
        return self

    def pids(self) -> dict[str, int]:
        pids = {f"node{i}": n.proc.pid for i, n in enumerate(self.nodes) if n.proc}
        if self.nginx is not None:
            for j, pid in enumerate(self.nginx.worker_pids()):
                pids[f"nginx{j}"] = pid
        return pids


def run(args: argparse.Namespace) -> dict[str, Any]:
    prof = dict(PROFILES["short" if args.short else "full"])
    if args.idle is not None:
        prof["idle"] = args.idle
    if args.idle_seconds is not None:
        prof["idle_s"] = args.idle_seconds
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "src")),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "profile": "short" if args.short else "full",
        "params": prof,
        "machine": procstat.machine(),
        "setups": {},
    }
    plan = [("sqlite", 1, False), ("pg", 1, True), ("pg2-nginx", 2, True)]
    if args.only:
        plan = [p for p in plan if p[0] in args.only.split(",")]
    with tempfile.TemporaryDirectory(prefix="bastion-bench-") as tmp:
        for name, nodes, pg in plan:
            t0 = time.monotonic()
            entry: dict[str, Any] = {"load_average_start": procstat.load_average()}
            print(f"[run] {name}: load average {entry['load_average_start']}", file=sys.stderr)
            entry["nodes"] = nodes
            entry["database"] = "postgresql" if pg else "sqlite"
            try:
                with SetUp(name, Path(tmp) / name, nodes, pg, prof["agents"]) as s:
                    entry["saturation"] = loadgen(
                        s.base, s.widget, s.agents, s.pids(), visitors=prof["visitors"],
                        agents=prof["agents"], saturate=True, steps=prof["steps"],
                        step_seconds=prof["step_seconds"], reply_ratio=0.2,
                        max_p99_ms=prof["max_p99_ms"], setup_timeout=300,
                    )  # fmt: skip
                    if name == "pg" and not args.no_idle:
                        entry["idle"] = loadgen(
                            s.base, s.widget, s.agents, s.pids(), visitors=0,
                            idle=prof["idle"], setup_timeout=prof["idle_s"],
                            idle_concurrency=64,
                        )["idle"]  # fmt: skip
            except Exception as err:  # one failed set-up must not lose the others
                entry["error"] = str(err)[-1500:]
                print(f"[run] {name} failed: {str(err)[-300:]}", file=sys.stderr)
            entry["wall_seconds"] = round(time.monotonic() - t0, 1)
            result["setups"][name] = entry
    summarise(result)
    return result


def summarise(result: dict[str, Any]) -> None:
    """Headline numbers and the ratios the issue's targets are stated in."""
    summary: dict[str, Any] = {}
    for name, entry in result["setups"].items():
        if "saturation" not in entry:
            summary[name] = {"error": entry.get("error")}
            continue
        steps = entry["saturation"]["steps"]
        at_1000 = next((s for s in steps if s["offered_visitor_per_s"] == 1000), None)
        summary[name] = {
            "max_persisted_per_s": entry["saturation"]["max_persisted_per_s"],
            "p99_ms_at_1000": at_1000["latency_ms"]["p99"] if at_1000 else None,
        }
        if "idle" in entry:
            summary[name]["idle_held"] = entry["idle"]["held"]
            summary[name]["idle_kb_per_socket"] = entry["idle"]["kb_per_socket"].get("node0")
    one, two = summary.get("pg"), summary.get("pg2-nginx")
    if one and two and one.get("max_persisted_per_s") and two.get("max_persisted_per_s"):
        summary["two_nodes_over_one"] = round(
            two["max_persisted_per_s"] / one["max_persisted_per_s"], 2
        )
    result["summary"] = summary


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--short", action="store_true", help="the quick version (make bench)")
    p.add_argument("--only", help="comma-separated set-ups: sqlite,pg,pg2-nginx")
    p.add_argument("--no-idle", action="store_true")
    p.add_argument("--idle", type=int, help="idle sockets to try for (default per profile)")
    p.add_argument("--idle-seconds", type=float, help="time allowed to open them (max 120)")
    p.add_argument("--out", type=Path, help="result file (default bench/results/…)")
    args = p.parse_args()
    procstat.raise_fd_limit()  # inherited by the nodes and the load generator
    result = run(args)
    today = dt.datetime.now(dt.UTC).date()
    out = args.out or RESULTS / f"{today:%Y-%m-%d}-{git('rev-parse', '--short', 'HEAD')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))
    print(f"[run] wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
