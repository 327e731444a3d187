"""A real ClamAV daemon for tests, with only a test signature database.

There is no network here, so no freshclam: the database is one custom hash signature
(``test.hdb``) for the EICAR test string, which clamd loads in a few seconds.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import free_port

CLAMD = Path("/usr/sbin/clamd")
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Bastion.Test.EICAR"


@dataclass
class Clamd:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


def start_clamd(workdir: Path, timeout: float = 90) -> Clamd:
    if not CLAMD.exists():
        pytest.fail("clamd is not installed (apt-get install clamav-daemon); .ci/run installs it")
    db = workdir / "db"
    db.mkdir(parents=True)
    (db / "test.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{SIGNATURE}\n")  # noqa: S324 - ClamAV's hash signature format
    port = free_port()
    log = workdir / "clamd.log"
    conf = workdir / "clamd.conf"
    conf.write_text(
        "\n".join(
            [
                "Foreground yes",
                f"TCPSocket {port}",
                "TCPAddr 127.0.0.1",
                f"DatabaseDirectory {db}",
                f"LogFile {log}",
                "StreamMaxLength 64M",
                "MaxThreads 2",
                "",
            ]
        )
    )
    proc = subprocess.Popen(
        [str(CLAMD), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"clamd exited: {log.read_text() if log.exists() else ''}")
        if _pong(port):
            return Clamd(port=port, proc=proc, log=log)
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("clamd did not answer PING in time")


def stop_clamd(clamd: Clamd) -> None:
    if clamd.proc.poll() is None:
        clamd.proc.terminate()
        try:
            clamd.proc.wait(10)
        except subprocess.TimeoutExpired:
            clamd.proc.kill()
            clamd.proc.wait(5)


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    """One clamd for the whole test session (it takes seconds to load)."""
    daemon = start_clamd(tmp_path_factory.mktemp("clamd"))
    try:
        yield daemon
    finally:
        stop_clamd(daemon)
