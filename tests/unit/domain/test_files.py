"""File sharing in the domain, over real storage (SQLite and PostgreSQL) and a real clamd."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.domain.errors import (
    FileInfected,
    FileTooLarge,
    FileTypeRefused,
    InvalidState,
    NotFound,
    ScannerUnavailable,
)
from bastion.domain.models import Role
from bastion.domain.widgets import WidgetChange
from bastion.storage import tables as t
from tests.support import blobs, samples
from tests.support.clamd import EICAR, Clamd
from tests.support.factories import World, make_world
from tests.unit.conftest import engine_world


@pytest.fixture(params=["sqlite", "postgres"])
async def fw(request: pytest.FixtureRequest, tmp_path: Path, clamd: Clamd) -> AsyncIterator[World]:
    """A world whose file service scans with the test clamd (uploads capped at 64 KiB)."""
    env = {"BASTION_CLAMD": clamd.address, "BASTION_UPLOAD_MAX_BYTES": str(64 * 1024)}
    async for w in engine_world(request.param, tmp_path, env):
        yield w


def _file_events(w: World) -> list[dict[str, object]]:
    return [
        m["event"]
        for ch, m in w.bus.published
        if ch.startswith("conv:") and m.get("type") == "event" and m["event"]["type"] == "file"
    ]


async def test_visitor_and_agent_share_files_both_ways(fw: World) -> None:
    visitor = await fw.visitor()
    conv = await fw.start(visitor)
    agent = await fw.staff("jonas@example.com")
    files = fw.svc.files

    up = await files.upload(visitor, conv, "notes.txt", samples.text("visitor text"))
    assert up["file"]["type"] == "text/plain" and up["file"]["name"] == "notes.txt"
    # The event is published after commit, with the conversation's next seq.
    assert [e["seq"] for e in _file_events(fw)] == [up["seq"]]
    frames, _ = await fw.svc.chat.events_after(agent, conv, 0)
    assert frames[-1]["t"] == "file" and frames[-1]["file"]["id"] == up["file"]["id"]

    # An agent may download what is in the queue they see; after accepting, reply too.
    got = await files.download(agent, up["file"]["id"])
    assert got.content == samples.text("visitor text")
    with pytest.raises(InvalidState):
        await files.upload(agent, conv, "reply.pdf", samples.pdf())
    await fw.svc.chat.accept(agent, None, conv)
    back = await files.upload(agent, conv, "reply.exe", samples.pdf())
    # Named for what it is: the sniffed type's extension is appended.
    assert back["file"]["name"] == "reply.exe.pdf"
    assert (await files.download(visitor, back["file"]["id"])).content == samples.pdf()
    admin = await fw.staff("admin@example.com", Role.ADMIN, name="Admin")
    actions = [e.action for e in await fw.svc.auth.audit(admin, 20, "file.")]
    assert actions.count("file.download") == 1  # the agent's; visitors' own are not audited


async def test_others_cannot_download(fw: World) -> None:
    deps = fw.svc.departments
    admin = await fw.staff("admin@example.com", Role.ADMIN, name="Admin")
    sales = await deps.create(admin, "Sales")
    billing = await deps.create(admin, "Billing")
    seller = await fw.staff("seller@example.com", name="Seller")
    biller = await fw.staff("biller@example.com", name="Biller")
    await deps.set_user_departments(admin, seller.user_id, [sales.id])
    await deps.set_user_departments(admin, biller.user_id, [billing.id])
    await fw.svc.widgets.update(admin, fw.widget_id, WidgetChange(department_id=sales.id))

    visitor = await fw.visitor()
    conv = await fw.start(visitor)
    up = await fw.svc.files.upload(visitor, conv, "a.png", samples.png())
    fid = up["file"]["id"]
    stranger = await fw.visitor()
    for who in (stranger, biller):
        with pytest.raises(NotFound, match="no such file"):
            await fw.svc.files.download(who, fid)
    with pytest.raises(NotFound):
        await fw.svc.files.download(visitor, "f_doesnotexist")
    with pytest.raises(NotFound):
        await fw.svc.files.upload(stranger, conv, "x.txt", samples.text("intruder"))

    # Time-bound access: the former agent loses the file with the conversation.
    await fw.svc.chat.accept(seller, None, conv)
    await fw.svc.chat.close(seller, None, conv)
    assert (await fw.svc.files.download(seller, fid)).content == samples.png()
    fw.clock.advance(hours=25)
    with pytest.raises(NotFound):
        await fw.svc.files.download(seller, fid)
    with pytest.raises(InvalidState):
        await fw.svc.files.upload(visitor, conv, "late.txt", samples.text("closed"))


async def test_refusals_store_nothing(fw: World) -> None:
    visitor = await fw.visitor()
    conv = await fw.start(visitor)
    files = fw.svc.files
    with pytest.raises(FileInfected):
        await files.upload(visitor, conv, "invoice.txt", EICAR)
    with pytest.raises(FileTypeRefused):
        await files.upload(visitor, conv, "cat.png", samples.HTML)
    with pytest.raises(FileTypeRefused):
        await files.upload(visitor, conv, "logo.svg", samples.SVG)
    with pytest.raises(FileTypeRefused):
        await files.upload(visitor, conv, "setup.pdf", samples.ELF)
    with pytest.raises(FileTooLarge):
        await files.upload(visitor, conv, "big.txt", b"a" * (64 * 1024 + 1))
    assert _file_events(fw) == []
    async with fw.svc.chat._uow(write=False) as uow:
        assert await uow.files.list_for_visitor(visitor.visitor_id) == []
    assert await blobs.keys(fw) == []
    admin = await fw.staff("admin@example.com", Role.ADMIN, name="Admin")
    infected = [e for e in await fw.svc.auth.audit(admin, 20, "file.")]
    assert [e.action for e in infected] == ["file.infected"]
    assert infected[0].details["signature"].startswith("Bastion.Test.EICAR")


async def test_metadata_is_stripped_before_storage(fw: World) -> None:
    visitor = await fw.visitor()
    conv = await fw.start(visitor)
    up = await fw.svc.files.upload(visitor, conv, "photo.jpg", samples.jpeg_with_exif("GPS 54.68N"))
    content = (await fw.svc.files.download(visitor, up["file"]["id"])).content
    assert b"GPS 54.68N" not in content and not content.endswith(b"TAIL")
    assert content.startswith(b"\xff\xd8") and b"Exif\0\0" in content  # orientation kept


async def test_no_plaintext_of_a_file_in_the_database_rows(fw: World) -> None:
    visitor = await fw.visitor()
    conv = await fw.start(visitor)
    marker = "Gedimino pr. 9 invoice"
    await fw.svc.files.upload(visitor, conv, "Gedimino sąskaita.txt", samples.text(marker))
    out = []
    async with fw.svc.db.transaction(write=False) as conn:
        for table in (t.files, t.events, t.commands, t.audit_log):
            out += [repr(tuple(r)) for r in await conn.execute(select(table))]
    rows = "\n".join(out)
    assert "f_" in rows  # the search does see the rows
    for needle in ("Gedimino", "invoice", "sąskaita", "s\\xc4\\x85skaita"):
        assert needle not in rows, needle


async def test_erasure_helpers_list_and_delete_a_visitors_files(fw: World) -> None:
    visitor = await fw.visitor()
    conv = await fw.start(visitor)
    up = await fw.svc.files.upload(visitor, conv, "a.pdf", samples.pdf())
    fid = up["file"]["id"]
    sealed = await blobs.blob(fw, fid)
    assert sealed is not None and b"Bastion sample" not in sealed
    async with fw.svc.chat._uow() as uow:
        listed = await uow.files.list_for_visitor(visitor.visitor_id)
        assert [(f.id, f.name, f.seq) for f in listed] == [(up["file"]["id"], "a.pdf", up["seq"])]
        assert await uow.files.delete_for_visitor(visitor.visitor_id) == 1
        assert await blobs.blob(fw, fid) == sealed  # removed only once the deletion commits
        await uow.commit()
    assert await blobs.keys(fw) == []
    with pytest.raises(NotFound):
        await fw.svc.files.download(visitor, up["file"]["id"])


async def test_a_blob_moved_to_another_file_does_not_open(fw: World) -> None:
    visitor = await fw.visitor()
    conv = await fw.start(visitor)
    a = (await fw.svc.files.upload(visitor, conv, "a.txt", samples.text("first")))["file"]["id"]
    b = (await fw.svc.files.upload(visitor, conv, "b.txt", samples.text("second")))["file"]["id"]
    moved = await blobs.blob(fw, a)
    assert moved is not None
    await blobs.store(fw).put(b, moved)
    with pytest.raises(NotFound, match="not available"):
        await fw.svc.files.download(visitor, b)
    assert (await fw.svc.files.download(visitor, a)).content == samples.text("first")


async def test_without_a_scanner_uploads_are_refused(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor)
    assert not world.svc.files.enabled
    with pytest.raises(ScannerUnavailable):
        await world.svc.files.upload(visitor, conv, "a.txt", samples.text("unscanned"))


async def test_an_unreachable_scanner_fails_closed(tmp_path: Path) -> None:
    w = await make_world(tmp_path, BASTION_CLAMD="tcp://127.0.0.1:9")
    try:
        visitor = await w.visitor()
        conv = await w.start(visitor)
        with pytest.raises(ScannerUnavailable, match="could not be checked"):
            await w.svc.files.upload(visitor, conv, "a.txt", samples.text("unscanned"))
        assert _file_events(w) == []
    finally:
        await w.svc.db.dispose()


async def test_gdpr_export_holds_the_files_and_erasure_removes_them(fw: World) -> None:
    visitor = await fw.visitor()
    conv = await fw.start(visitor, fields={"name": "Ona", "email": "ona@example.lt"})
    up = await fw.svc.files.upload(visitor, conv, "passport.pdf", samples.pdf("ID 123"))
    fid = up["file"]["id"]
    admin = await fw.staff("admin@example.com", Role.ADMIN, name="Admin")
    export = await fw.svc.privacy.export_person(admin, "ona@example.lt")
    assert export.counts["files"] == 1
    with zipfile.ZipFile(io.BytesIO(export.data)) as archive:
        assert archive.read(f"files/{fid}/passport.pdf") == samples.pdf("ID 123")
        record = json.loads(archive.read("person.json"))["records"][0]
    assert [f["name"] for f in record["files"]] == ["passport.pdf"]
    assert await blobs.keys(fw) == [fid]
    result = await fw.svc.privacy.erase_person(admin, "ona@example.lt", "the customer asked")
    assert result["counts"]["files"] == 1
    assert await blobs.keys(fw) == []
    with pytest.raises(NotFound):
        await fw.svc.files.download(admin, fid)
