"""A PostgreSQL database per test, created and dropped on the server this machine runs."""

from __future__ import annotations

import asyncio
import os
import secrets
import warnings
from collections.abc import AsyncIterator

import asyncpg
import pytest

PG_HOST = os.environ.get("BASTION_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BASTION_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("BASTION_TEST_PG_USER", "postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )


def require_postgres() -> None:
    """Skip loudly outside CI when PostgreSQL is absent; in CI its absence fails the run."""
    try:
        asyncio.run(_probe())
    except (OSError, asyncpg.PostgresError) as err:
        msg = f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable ({type(err).__name__})"
        if IN_CI:
            pytest.fail(msg + " — CI=true requires it")
        warnings.warn(msg + ": PostgreSQL tests SKIPPED", stacklevel=2)
        pytest.skip("!!! " + msg + " — PostgreSQL tests skipped outside CI !!!")


async def _probe() -> None:
    conn = await _admin()
    await conn.close()


def create_database() -> tuple[str, str]:
    """Returns (SQLAlchemy URL, database name)."""
    name = f"bastion_test_{os.getpid()}_{secrets.token_hex(4)}"

    async def go() -> None:
        conn = await _admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(go())
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}", name


def drop_database(name: str) -> None:
    async def go() -> None:
        conn = await _admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(go())


async def fresh_database() -> AsyncIterator[str]:
    """For async fixtures: the URL of a PostgreSQL database made for the test, then dropped
    (skipped loudly outside CI when PostgreSQL is absent)."""
    await asyncio.to_thread(require_postgres)
    url, name = await asyncio.to_thread(create_database)
    try:
        yield url
    finally:
        await asyncio.to_thread(drop_database, name)
