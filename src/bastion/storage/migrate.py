"""Running migrations, and refusing a schema newer than this code knows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.domain.ports import KeyStore

MIGRATIONS = Path(__file__).with_name("migrations")
# Session advisory locks: one process at a time migrates a PostgreSQL database, and one
# at a time prepares a node's first start (migrate, key file, owner, widget).
_MIGRATE_LOCK = int.from_bytes(b"bastmigr", "big", signed=True)
_START_LOCK = int.from_bytes(b"baststrt", "big", signed=True)


@contextlib.asynccontextmanager
async def _advisory_lock(url: str, key: int) -> AsyncIterator[None]:
    """On PostgreSQL, one process at a time in the block: a session advisory lock, held on
    a connection of its own (a process that dies frees it with its connection). SQLite
    has one process: nothing to wait for.
    """
    if not url.startswith("postgresql"):
        yield
        return
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
    finally:
        await engine.dispose()


def one_node_at_a_time(url: str) -> contextlib.AbstractAsyncContextManager[None]:
    """Around a node's first-start preparation: nodes started together prepare in turn,
    the first migrates and makes the owner and the default widget, the others find them
    made.
    """
    return _advisory_lock(url, _START_LOCK)


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Bastion; this one refuses to touch it."""


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config("sqlite://")).get_current_head()
    assert head is not None
    return head


async def current_revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def _rev(sync_conn: Connection) -> str | None:
                return MigrationContext.configure(sync_conn).get_current_revision()

            return await conn.run_sync(_rev)
    finally:
        await engine.dispose()


async def migrate(url: str, keys: KeyStore | None = None) -> str:
    """Bring the schema to head; returns the revision. Refuses an unknown (newer) one.

    ``keys`` (the KEK holder) lets revisions that seal existing rows do so (0011); without
    it they refuse when there is something to seal.
    """
    current = await current_revision(url)
    script = ScriptDirectory.from_config(_config(url))
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaTooNew(
            f"database schema {current} is newer than this Bastion knows; upgrade Bastion"
        )
    # Nodes started together: the others wait, then find the schema at head.
    async with _advisory_lock(url, _MIGRATE_LOCK):
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:

                def _upgrade(sync_conn: Connection) -> None:
                    cfg = _config(url)
                    cfg.attributes["connection"] = sync_conn
                    cfg.attributes["keys"] = keys
                    command.upgrade(cfg, "head")

                await conn.run_sync(_upgrade)
                await conn.commit()
        finally:
            await engine.dispose()
    return head_revision()
