"""PostgreSQL pools check a connection before use only after it sat idle (storage/db.py).

Against the machine's PostgreSQL: the server end of a pooled connection is ended with
``pg_terminate_backend`` (as a restart or an idle-connection reaper would), then the
pool is used again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bastion.storage.db import ping_when_idle
from tests.support.postgres import fresh_database


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async for url in fresh_database():
        yield url


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(url: str, pid: int) -> None:
    killer = create_async_engine(url)
    try:
        async with killer.connect() as conn:
            assert (await conn.execute(text(f"SELECT pg_terminate_backend({pid})"))).scalar()
    finally:
        await killer.dispose()


async def test_an_idle_connection_that_died_is_replaced_before_use(pg_url: str) -> None:
    engine = ping_when_idle(create_async_engine(pg_url, pool_size=1, max_overflow=0), idle_s=0)
    try:
        dead = await _backend_pid(engine)
        await _terminate(pg_url, dead)
        # Idle for longer than idle_s (0): checked on checkout, found dead, replaced.
        assert await _backend_pid(engine) != dead
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_checked(pg_url: str) -> None:
    engine = ping_when_idle(create_async_engine(pg_url, pool_size=1, max_overflow=0), idle_s=3600)
    try:
        dead = await _backend_pid(engine)
        await _terminate(pg_url, dead)
        # Not idle long enough to be checked: this one use fails (no round trips spent
        # on a check per checkout) ...
        with pytest.raises(DBAPIError):
            await _backend_pid(engine)
        # ... and the pool, having seen the disconnect, uses a new connection next.
        assert await _backend_pid(engine) != dead
    finally:
        await engine.dispose()
