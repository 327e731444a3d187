from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.factories import World, make_world
from tests.support.postgres import create_database, drop_database, require_postgres


@pytest.fixture(params=["sqlite", "postgres"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """Domain services over real storage: embedded SQLite, and PostgreSQL."""
    env: dict[str, str] = {}
    name = None
    if request.param == "postgres":
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
