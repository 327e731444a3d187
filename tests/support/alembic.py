"""Running one Alembic command against a test database, to stand where an older Bastion
left it (``upgrade`` to a revision) or to go back (``downgrade``); ``migrate`` does the
rest as a deployment would."""

from __future__ import annotations

from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.storage.migrate import MIGRATIONS


async def alembic(url: str, go: Literal["upgrade", "downgrade"], revision: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def run(sync_conn: Connection) -> None:
                cfg = Config()
                cfg.set_main_option("script_location", str(MIGRATIONS))
                cfg.set_main_option("sqlalchemy.url", url)
                cfg.attributes["connection"] = sync_conn
                getattr(command, go)(cfg, revision)

            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()
