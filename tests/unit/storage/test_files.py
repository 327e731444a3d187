"""The file stores, one contract for each (the data directory; the database on SQLite and
on PostgreSQL), and the unit of work's handling of the blobs its transaction wrote or
doomed. Real storage throughout; the blobs are what the file repository sealed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.domain.models import FileState, StoredFile
from bastion.services import file_store
from bastion.settings import SettingsError, load_settings
from bastion.storage import tables as t
from bastion.storage.db import Database
from bastion.storage.files import DatabaseFileStore, LocalFileStore
from tests.support import blobs
from tests.support.factories import FakeClock, World
from tests.unit.conftest import engine_world

STORES = [
    pytest.param(("directory", "sqlite"), id="directory"),
    pytest.param(("database", "sqlite"), id="database-sqlite"),
    pytest.param(("database", "postgres"), id="database-postgres"),
]


@pytest.fixture(params=STORES)
async def sw(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """A world whose files go to the store ``request.param`` names."""
    kind, engine = request.param
    async for w in engine_world(engine, tmp_path, {"BASTION_FILE_STORE": kind}):
        yield w


async def _stored(
    w: World, file_id: str, content: bytes, *, commit: bool, fail: bool = False
) -> str:
    """Add a file through the repository (which seals and stores it), then commit or not,
    or raise; returns the file's visitor."""
    visitor = await w.visitor()
    conversation = await w.start(visitor)
    async with w.svc.chat._uow() as uow:
        await uow.files.add(
            StoredFile(
                id=file_id,
                conversation_id=conversation,
                visitor_id=visitor.visitor_id,
                uploader_kind="visitor",
                uploader_id=visitor.visitor_id,
                name="receipt.txt",
                content_type="text/plain",
                size=len(content),
                state=FileState.CLEAN,
                created_at=w.clock.now(),
            ),
            content,
        )
        if fail:
            raise RuntimeError("the domain refused")
        if commit:
            await uow.commit()
    return visitor.visitor_id


async def test_put_get_delete(sw: World) -> None:
    store = blobs.store(sw)
    await store.put("f_one", b"\x00sealed\xff" * 1000)
    assert await store.get("f_one") == b"\x00sealed\xff" * 1000
    assert await blobs.keys(sw) == ["f_one"]
    await store.delete("f_one")
    assert await store.get("f_one") is None
    await store.delete("f_one")  # deleting what is gone is not an error
    assert await blobs.keys(sw) == []


async def test_put_replaces(sw: World) -> None:
    store = blobs.store(sw)
    await store.put("f_one", b"first")
    await store.put("f_one", b"second")
    assert await store.get("f_one") == b"second"
    assert await blobs.keys(sw) == ["f_one"]


async def test_a_missing_key_reads_none(sw: World) -> None:
    assert await blobs.store(sw).get("f_never") is None


@pytest.mark.parametrize(
    "key", ["", "../kek", "f_a/../../kek", "f_a.bin", "g_abc", "f_", "f_" + "a" * 65, "f_a\n"]
)
async def test_keys_that_are_not_file_ids_are_refused(sw: World, key: str) -> None:
    store = blobs.store(sw)
    with pytest.raises(ValueError, match="not a file-store key"):
        await store.put(key, b"x")
    with pytest.raises(ValueError, match="not a file-store key"):
        await store.get(key)
    with pytest.raises(ValueError, match="not a file-store key"):
        await store.delete(key)
    assert await blobs.keys(sw) == []


async def test_a_unit_of_work_that_does_not_commit_leaves_no_blob(sw: World) -> None:
    await _stored(sw, "f_left", b"never kept", commit=False)
    assert await blobs.keys(sw) == []
    with pytest.raises(RuntimeError, match="refused"):
        await _stored(sw, "f_refused", b"never kept", commit=True, fail=True)
    assert await blobs.keys(sw) == []
    async with sw.svc.chat._uow(write=False) as uow:
        assert await uow.files.get("f_left") is None and await uow.files.get("f_refused") is None


async def test_the_store_holds_only_what_the_repository_sealed(sw: World) -> None:
    visitor = await _stored(sw, "f_sealed", b"IBAN LT601010012345678901", commit=True)
    sealed = await blobs.blob(sw, "f_sealed")
    assert sealed is not None and b"LT6010" not in sealed and len(sealed) > 25
    async with sw.svc.chat._uow(write=False) as uow:
        (stored,) = await uow.files.list_for_visitor(visitor)
        assert await uow.files.content(stored) == b"IBAN LT601010012345678901"


async def test_deleted_rows_take_their_blobs_only_once_committed(sw: World) -> None:
    visitor = await _stored(sw, "f_doomed", b"to be erased", commit=True)
    async with sw.svc.chat._uow() as uow:
        assert await uow.files.delete_for_visitor(visitor) == 1
    assert await blobs.keys(sw) == ["f_doomed"]  # not committed: row and blob stay
    async with sw.svc.chat._uow() as uow:
        assert await uow.files.delete_for_visitor(visitor) == 1
        assert await blobs.keys(sw) == ["f_doomed"]  # gone only after the commit
        await uow.commit()
    assert await blobs.keys(sw) == []


async def test_the_sweep_removes_only_old_blobs_no_row_refers_to(sw: World) -> None:
    # A file with its row, an old blob whose delete failed (no row), and a fresh blob of
    # an upload whose row is not committed yet.
    await _stored(sw, "f_kept", b"still shared", commit=True)
    store = blobs.store(sw)
    await store.put("f_orphan", b"left behind")
    await store.put("f_uploading", b"row coming")
    old = sw.clock.now() - timedelta(hours=2)
    await blobs.backdate(sw, "f_kept", old)
    await blobs.backdate(sw, "f_orphan", old)
    await blobs.backdate(sw, "f_uploading", sw.clock.now() - timedelta(minutes=5))

    assert await sw.svc.files.sweep_orphans() == {"removed": 1}
    assert await blobs.keys(sw) == ["f_kept", "f_uploading"]
    assert await sw.svc.files.sweep_orphans() == {"removed": 0}
    async with sw.svc.chat._uow(write=False) as uow:
        stored = await uow.files.get("f_kept")
        assert stored is not None and await uow.files.content(stored) == b"still shared"


async def test_more_readers_than_connections_do_not_wait_on_themselves(sw: World) -> None:
    # Each download holds a unit's connection while it reads the blob: the store's own
    # pool means that read never waits for a connection only the waiting units give back.
    visitor = await _stored(sw, "f_popular", b"everyone wants it", commit=True)

    async def download() -> bytes:
        async with sw.svc.chat._uow(write=False) as uow:
            (stored,) = await uow.files.list_for_visitor(visitor)
            return await uow.files.content(stored)

    got = await asyncio.wait_for(asyncio.gather(*(download() for _ in range(40))), timeout=30)
    assert set(got) == {b"everyone wants it"}


async def test_on_sqlite_a_blob_written_inside_a_unit_is_undone_with_it(tmp_path: Path) -> None:
    # SQLite has one writer, which the unit holds: the store's write joins the unit.
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    async with db.transaction(write=True) as conn:
        await conn.run_sync(t.file_blobs.create)
        await conn.commit()
    store = DatabaseFileStore(db, FakeClock())
    try:
        async with db.unit(write=True) as unit:
            await store.put("f_kept", b"kept")
            await unit.commit()
        async with db.unit(write=True):
            await store.put("f_undone", b"undone")
        async with db.transaction(write=False) as conn:
            assert list((await conn.execute(select(t.file_blobs.c.key))).scalars()) == ["f_kept"]
        assert await store.get("f_kept") == b"kept"
    finally:
        await db.dispose()


def test_the_store_follows_the_setting(tmp_path: Path) -> None:
    pg = "postgresql+asyncpg://bastion@127.0.0.1/bastion"
    cases = [
        ({}, LocalFileStore),
        ({"BASTION_DATABASE_URL": pg}, DatabaseFileStore),
        ({"BASTION_FILE_STORE": "database"}, DatabaseFileStore),
        ({"BASTION_FILE_STORE": "Directory", "BASTION_DATABASE_URL": pg}, LocalFileStore),
        ({"BASTION_FILE_STORE": " auto ", "BASTION_DATABASE_URL": pg}, DatabaseFileStore),
    ]
    for env, kind in cases:
        settings = load_settings({"BASTION_DATA_DIR": str(tmp_path), **env})
        db = Database(settings.resolved_database_url)
        assert isinstance(file_store(settings, db, FakeClock()), kind), env


@pytest.mark.parametrize("value", ["s3", "disk", "databases"])
def test_an_unknown_file_store_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="BASTION_FILE_STORE must be auto, database or"):
        load_settings({"BASTION_DATA_DIR": str(tmp_path), "BASTION_FILE_STORE": value})
