"""Start and stop the benchmark's set-ups: Bastion nodes, nginx, a PostgreSQL database.

Contract: everything listens on 127.0.0.1 only, lives under the given work directory, and
is stopped by ``stop()`` (nodes with SIGTERM then SIGKILL, nginx with SIGQUIT). The
PostgreSQL database is created by ``create_pg_database`` and dropped by
``drop_pg_database``; Redis is shared, isolated by a DB number and a key prefix.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PROXY_CONF = REPO / "deploy" / "nginx" / "bastion-proxy.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_URL = "redis://127.0.0.1:6379/13"
# Fresh per run: the throw-away agents of a throw-away database.
AGENT_PASSWORD = secrets.token_urlsafe(18)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_prefix() -> str:
    return f"bastion-bench-{secrets.token_hex(4)}:"


def create_pg_database() -> tuple[str, str]:
    """Returns (SQLAlchemy URL, database name) of a new, empty database."""
    import asyncpg

    name = f"bastion_bench_{os.getpid()}_{secrets.token_hex(3)}"

    async def go() -> None:
        conn = await asyncpg.connect(database="postgres", timeout=5, **PG)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(go())
    return f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{name}", name


def drop_pg_database(name: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(database="postgres", timeout=5, **PG)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(go())


@dataclass
class Node:
    """One ``bastion serve`` process."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    # What runs the CLI: ``-m bastion``, or ``bench/nodeprobe.py PREFIX`` to profile it.
    launcher: tuple[str, ...] = ("-m", "bastion")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "bastion", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"bastion {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def start(self, timeout: float = 60) -> Node:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, *self.launcher, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.data_dir / "server.log").read_text()[-2000:])
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node on {self.port} not ready after {timeout} s")

    def widget(self) -> str:
        return str(json.loads(self.cli("widget", "list", "--json"))[0]["id"])

    def create_agents(self, count: int) -> list[str]:
        """One account per agent socket: a user's sockets all receive its chats (tabs)."""
        out = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("mkagents.py")), str(count)],
            env=self.env,
            input=AGENT_PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"mkagents: {out.stderr.strip()[-1000:]}")
        return out.stdout.split()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def node_env(data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(
        {
            "BASTION_DATA_DIR": str(data_dir),
            # Login speed is not what is measured; message paths do not hash passwords.
            "BASTION_ARGON2_MEMORY_KIB": "8192",
            "BASTION_ARGON2_TIME_COST": "1",
            # Agents in the benchmark hold many chats each; capacity is not under test.
            "BASTION_AGENT_MAX_CHATS": "100000",
            "BASTION_LOG_LEVEL": "warning",
            # Every client of the benchmark is 127.0.0.1 and plays thousands of users: the
            # per-IP and per-conversation abuse limits (docs/security.md) would measure
            # themselves, not the server. They stay in the path, only their ceilings move.
            "BASTION_RL_HTTP": "1000000/minute",
            "BASTION_RL_HTTP_CREDENTIAL": "1000000/minute",
            "BASTION_RL_SESSIONS": "1000000/minute",
            "BASTION_RL_LOGIN": "100000/minute",
            "BASTION_RL_MESSAGES": "1000000/minute",
            "BASTION_RL_CONVERSATIONS_VISITOR": "1000000/hour",
            "BASTION_RL_CONVERSATIONS_IP": "1000000/hour",
            "BASTION_RL_WS_CONNECTS": "1000000/minute",
            "BASTION_WS_MAX_PER_IP": "30000",
            "BASTION_WS_MAX_CONNECTIONS": "30000",
            "BASTION_WS_FRAMES_PER_S": "10000",
            "BASTION_WS_FRAME_BURST": "10000",
            **extra,
        }
    )
    return env


def nginx_conf(workdir: Path, port: int, upstreams: list[int]) -> str:
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in upstreams)
    temp = "\n".join(
        f"  {kind}_temp_path {workdir}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""worker_processes 1;
worker_rlimit_nofile 20000;
error_log {workdir}/error.log warn;
events {{ worker_connections 16384; }}
http {{
  access_log off;
{temp}
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  upstream bastion {{
{servers}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://bastion;
      include {PROXY_CONF};
    }}
  }}
}}
"""


@dataclass
class Nginx:
    workdir: Path
    upstreams: list[int]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nginx.conf"
        conf.write_text(nginx_conf(self.workdir, self.port, self.upstreams))
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.workdir), "-c", str(conf),
             "-g", f"daemon off; pid {self.workdir}/nginx.pid;"],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.05)

    def worker_pids(self) -> list[int]:
        """nginx's worker processes (children of the master)."""
        assert self.proc is not None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in children.split()]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
