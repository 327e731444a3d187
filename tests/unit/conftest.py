from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.factories import World, make_world
from tests.support.mail import MailSink
from tests.support.postgres import create_database, drop_database, require_postgres


@pytest.fixture(params=["sqlite", "postgres"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """Domain services over real storage: embedded SQLite, and PostgreSQL."""
    async for w in engine_world(request.param, tmp_path, {}):
        yield w


@pytest.fixture(params=["sqlite", "postgres"])
async def mail_world(
    request: pytest.FixtureRequest, tmp_path: Path, mail_sink: MailSink
) -> AsyncIterator[World]:
    """:func:`world` with e-mail on, delivered to the test's ``mail_sink`` (aiosmtpd)."""
    async for w in engine_world(request.param, tmp_path, mail_env(mail_sink)):
        yield w


def mail_env(sink: MailSink, **extra: str) -> dict[str, str]:
    return {
        "BASTION_SMTP_URL": sink.url,
        "BASTION_MAIL_FROM": "Bastion <bastion@example.com>",
        "BASTION_PUBLIC_URL": "https://chat.example.com",
        **extra,
    }


async def engine_world(engine: str, tmp_path: Path, env: dict[str, str]) -> AsyncIterator[World]:
    """A world on ``engine`` ("sqlite" or "postgres"), with extra settings ``env``; for
    fixtures that need a setting changed (PostgreSQL: a database made and dropped)."""
    env = dict(env)
    name = None
    if engine == "postgres":
        await asyncio.to_thread(require_postgres)
        url, name = await asyncio.to_thread(create_database)
        env["BASTION_DATABASE_URL"] = url
    w = await make_world(tmp_path, **env)
    try:
        yield w
    finally:
        await w.svc.db.dispose()
        if name:
            await asyncio.to_thread(drop_database, name)
