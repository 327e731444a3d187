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
# The session advisory lock that lets one process at a time migrate a PostgreSQL database
# (nodes started together: the others wait, then find the schema at head).
_MIGRATE_LOCK = int.from_bytes(b"bastmigr", "big", signed=True)
# Around a node's whole first-start preparation (migrate, key file, owner, widget).
_START_LOCK = int.from_bytes(b"baststrt", "big", signed=True)


@contextlib.asynccontextmanager
async def one_node_at_a_time(url: str) -> AsyncIterator[None]:
    """On PostgreSQL, one process at a time in the block (a session advisory lock; a
    process that dies frees it with its connection). Nodes started together then prepare
    in turn: the first migrates and makes the owner and the default widget, the others
    find them made. SQLite has one process: nothing to wait for.
    """
    if not url.startswith("postgresql"):
        yield
        return
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _START_LOCK})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _START_LOCK})
                await conn.commit()
    finally:
        await engine.dispose()


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
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # Held by this session until it unlocks or disconnects, across the commits.
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATE_LOCK})
                await conn.commit()

            def _upgrade(sync_conn: Connection) -> None:
                cfg = _config(url)
                cfg.attributes["connection"] = sync_conn
                cfg.attributes["keys"] = keys
                command.upgrade(cfg, "head")

            await conn.run_sync(_upgrade)
            await conn.commit()
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATE_LOCK})
                await conn.commit()
    finally:
        await engine.dispose()
    return head_revision()
