"""Redis for tests: the machine's server (own DB number and key prefix), or a private one."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import IN_CI
from tests.support.server import free_port

REDIS_HOST = os.environ.get("BASTION_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BASTION_TEST_REDIS_PORT", "6379"))
# Our own DB number for keys (pub/sub channels are server-wide, hence also a prefix).
REDIS_DB = 11
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def machine_redis_url() -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"


def unique_prefix() -> str:
    return f"bastion-test-{secrets.token_hex(4)}:"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis() -> str:
    """The machine's Redis URL (own DB number). Skips loudly outside CI when Redis is
    absent; in CI its absence fails the run."""
    if _answers(REDIS_HOST, REDIS_PORT):
        return machine_redis_url()
    msg = f"Redis at {REDIS_HOST}:{REDIS_PORT} is unreachable"
    if IN_CI:
        pytest.fail(msg + " — CI=true requires it")
    warnings.warn(msg + ": Redis tests SKIPPED", stacklevel=2)
    pytest.skip("!!! " + msg + " — Redis tests skipped outside CI !!!")
    raise AssertionError("unreachable")  # pytest.skip raises


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, on its own port, so the test may restart it."""

    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        if not os.path.exists(REDIS_SERVER):
            msg = "redis-server is not installed"
            if IN_CI:
                pytest.fail(msg + " — CI=true requires it")
            pytest.skip("!!! " + msg + " — Redis restart tests skipped outside CI !!!")
        if not self.port:
            self.port = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--logfile", str(self.workdir / "redis.log"),
            ],
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not _answers("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("private redis-server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
