"""Start and stop real ``bastion serve`` processes for integration tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

AGENT_PASSWORD = "correct horse battery staple 42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env["BASTION_DATA_DIR"] = str(data_dir)
    # Cheap hashing keeps tests fast; production defaults are tested in unit tests.
    env["BASTION_ARGON2_MEMORY_KIB"] = "8192"
    env["BASTION_ARGON2_TIME_COST"] = "1"
    if database_url:
        env["BASTION_DATABASE_URL"] = database_url
    return env


def cli(
    env: dict[str, str], *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bastion", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"bastion {' '.join(args)} failed: {proc.stderr}")
    return proc


def first_widget(data_dir: Path, database_url: str | None) -> str:
    """The default widget's id, read from the database (``bastion widget list`` gives the
    same, tested in test_cli.py, at the cost of a process start per server).
    """

    async def read() -> str:
        url = database_url or f"sqlite+aiosqlite:///{(data_dir / 'bastion.db').resolve()}"
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return str(
                    (
                        await conn.execute(
                            text("SELECT id FROM widgets ORDER BY created_at, id LIMIT 1")
                        )
                    ).scalar_one()
                )
        finally:
            await engine.dispose()

    # In a thread of its own: servers are also started from async tests' running loops.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


@dataclass
class Server:
    data_dir: Path
    database_url: str | None
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    demo: bool = False
    # Extra ``serve`` arguments (e.g. TLS flags); with TLS, scheme "https" and the client
    # ``verify`` (an ssl.SSLContext trusting the test CA).
    extra_args: list[str] = field(default_factory=list)
    scheme: str = "http"
    verify: Any = True
    proc: subprocess.Popen[str] | None = None
    widget: str = ""
    log_path: Path | None = None
    _log: Any = None

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**base_env(self.data_dir, self.database_url), **self.extra_env}

    def start(self, timeout: float = 30) -> Server:
        self.log_path = self.data_dir / f"server-{self.port}.log"
        args = [sys.executable, "-m", "bastion", "serve", "--port", str(self.port)]
        if self.demo:
            args.append("--demo")
        args += self.extra_args
        if self._log is not None:
            self._log.close()
        self._log = open(self.log_path, "a")  # noqa: SIM115 - handed to the child, closed in stop()
        self.proc = subprocess.Popen(
            args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()}")
            try:
                ready = httpx.get(f"{self.base}/readyz", timeout=1, verify=self.verify)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("server did not become ready")
        if not self.widget:
            self.widget = first_widget(self.data_dir, self.database_url)
        return self

    def create_user(
        self,
        email: str,
        role: str = "agent",
        name: str | None = None,
        password: str = AGENT_PASSWORD,
    ) -> str:
        args = ["user", "create", "--email", email, "--role", role, "--password-stdin"]
        if name:
            args += ["--name", name]
        cli(self.env, *args, stdin=password + "\n")
        return password

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
