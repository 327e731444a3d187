"""A Bastion cluster for tests: N real nodes on one PostgreSQL database and one Redis,
behind a real nginx (Debian's binary) using deploy/nginx/bastion-proxy.conf."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.postgres import IN_CI
from tests.support.server import Server, free_port

REPO = Path(__file__).resolve().parents[2]
PROXY_CONF = REPO / "deploy" / "nginx" / "bastion-proxy.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def require_nginx() -> None:
    if Path(NGINX).exists():
        return
    msg = "nginx is not installed (apt-get install nginx)"
    if IN_CI:
        pytest.fail(msg + " — CI=true requires it")
    pytest.skip("!!! " + msg + " — multi-node tests skipped outside CI !!!")


def nginx_conf(workdir: Path, port: int, upstreams: list[int]) -> str:
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in upstreams)
    temp = "\n".join(
        f"  {kind}_temp_path {workdir}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""worker_processes 1;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
{temp}
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  upstream bastion {{
    # Round-robin, no stickiness: any node serves any client.
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
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
            [
                NGINX,
                "-p", str(self.workdir),
                "-c", str(conf),
                "-g", f"daemon off; pid {self.workdir}/nginx.pid;",
            ],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    log = self.workdir / "error.log"
                    raise AssertionError(
                        "nginx did not start: " + (log.read_text() if log.exists() else "")
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass
class Cluster:
    nodes: list[Server]
    nginx: Nginx

    @property
    def base(self) -> str:
        return self.nginx.base

    @property
    def widget(self) -> str:
        return self.nodes[0].widget

    def stop(self) -> None:
        self.nginx.stop()
        for node in self.nodes:
            node.stop()


def start_cluster(
    tmp: Path, database_url: str, redis_url: str, prefix: str, *, nodes: int, **env: str
) -> Cluster:
    ports = [free_port() for _ in range(nodes)]
    nginx = Nginx(tmp / "nginx", ports)
    shared = {
        "BASTION_REDIS_URL": redis_url,
        "BASTION_REDIS_PREFIX": prefix,
        # The Origin through nginx is nginx's; every node must accept it as its own.
        "BASTION_PUBLIC_URL": nginx.base,
        # One key-encryption key for all nodes: each reads what the others sealed.
        "BASTION_KEK_FILE": str(tmp / "kek.key"),
        # Every test client comes from 127.0.0.1: per-IP abuse limits (tested in
        # tests/integration/test_flood.py) would otherwise cut these scale tests short.
        "BASTION_RL_CONVERSATIONS_IP": "100000/hour",
        "BASTION_RL_CONVERSATIONS_VISITOR": "100000/hour",
        "BASTION_RL_SESSIONS": "100000/minute",
        "BASTION_RL_WS_CONNECTS": "100000/minute",
        "BASTION_RL_HTTP": "100000/minute",
        **env,
    }
    servers: list[Server] = []
    cluster = Cluster(servers, nginx)
    try:
        for i, port in enumerate(ports):
            data = tmp / f"node{i}"
            data.mkdir()
            # One at a time: the first start migrates and bootstraps the shared database.
            widget = servers[0].widget if servers else ""
            node = Server(
                data_dir=data, database_url=database_url, port=port, extra_env=shared, widget=widget
            )
            servers.append(node)
            node.start()
        nginx.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
