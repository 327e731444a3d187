"""Shared fixtures: real servers on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mail import MailSink
from tests.support.postgres import create_database, drop_database, require_postgres
from tests.support.server import Server

# The session-wide real clamd (tests/support/clamd.py) for file-sharing tests.
pytest_plugins = ["tests.support.clamd"]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """The database URL for a server: None (embedded SQLite) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    require_postgres()
    url, name = create_database()
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def server(backend: str | None, tmp_path: Path) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path / "data", database_url=backend)
    srv.data_dir.mkdir()
    try:  # stop the process even when set-up fails half-way
        srv.start()
        srv.create_user("agent@example.com", "agent", name="Jonas")
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Server]:
    """A server on the embedded SQLite only (tests that read the database file's bytes)."""
    srv = Server(data_dir=tmp_path / "data", database_url=None)
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user("agent@example.com", "agent", name="Jonas")
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 collecting every message it gets."""
    sink = MailSink().start()
    try:
        yield sink
    finally:
        sink.stop()
