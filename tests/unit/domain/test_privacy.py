"""Visitors' rights on both engines: export, erasure down to the bytes, the ledger."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from bastion.domain.errors import Forbidden, InvalidInput, NotFound
from bastion.domain.models import Role
from bastion.storage import tables as t
from bastion.storage.backfill import backfill_email_hmac
from tests.support.factories import World
from tests.unit.storage.test_encryption import pg_dump

EMAIL = "Ona.Petraityte@Example.LT"
LEGACY = "legacy plaintext from before sealing, zebra quartz"


def database_bytes(data_dir: Path) -> bytes:
    """The SQLite database file and its WAL, as a thief copying the directory gets them."""
    files = [p for p in data_dir.iterdir() if p.name.endswith((".db", ".db-wal", ".db-shm"))]
    return b"".join(p.read_bytes() for p in files)


async def stored_bytes(world: World) -> bytes:
    url = world.svc.settings.resolved_database_url
    if url.startswith("sqlite"):
        return database_bytes(world.svc.settings.data_dir)
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    return (await asyncio.to_thread(pg_dump, url)).encode()


async def person(world: World, email: str, words: str) -> tuple[str, str]:
    """A visitor who chats with an e-mail address; returns (visitor id, conversation)."""
    visitor = await world.visitor()
    conv = await world.start(
        visitor, fields={"name": "Ona " + words, "email": email}, message="hello " + words
    )
    await world.svc.visitors.record_page(visitor, f"http://127.0.0.1:8000/{words}", words, None)
    await world.svc.chat.send_message(visitor, None, conv, "my order " + words)
    return visitor.visitor_id, conv


async def sealed_values(world: World, visitor_id: str) -> list[tuple[bytes, ...]]:
    """The visitor's wrapped data key and ciphertexts, each in the forms a file or a
    dump holds it (raw bytes in SQLite, hex in a pg_dump).
    """
    async with world.svc.db.transaction(write=False) as conn:
        wrapped = (
            await conn.execute(
                select(t.visitor_keys.c.wrapped).where(t.visitor_keys.c.visitor_id == visitor_id)
            )
        ).scalar_one()
        name = (
            await conn.execute(select(t.visitors.c.name).where(t.visitors.c.id == visitor_id))
        ).scalar_one()
        bodies = [
            r.body
            for r in await conn.execute(
                select(t.events.c.body)
                .join(t.conversations, t.conversations.c.id == t.events.c.conversation_id)
                .where(t.conversations.c.visitor_id == visitor_id, t.events.c.body.is_not(None))
            )
        ]
    key = bytes(wrapped)
    return [(key, key.hex().encode()), (name.encode(),), *((b.encode(),) for b in bodies)]


async def test_export_holds_everything_about_the_person_and_nothing_else(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN)
    agent = await world.staff("agent@example.com", Role.AGENT)
    vid, conv = await person(world, EMAIL, "tulips")
    await person(world, "someone.else@example.com", "cactus")
    # The same person on another browser, e-mail typed differently: still theirs.
    second, _ = await person(world, "  ona.petraityte@example.lt ", "daisies")

    with pytest.raises(Forbidden):
        await world.svc.privacy.export_person(agent, EMAIL)
    with pytest.raises(InvalidInput):
        await world.svc.privacy.export_person(admin, "not an address")
    with pytest.raises(InvalidInput):
        await world.svc.privacy.export_person(admin, "a\ud800@example.com")

    export = await world.svc.privacy.export_person(admin, EMAIL)
    doc = json.loads(zipfile.ZipFile(io.BytesIO(export.data)).read("person.json"))
    assert sorted(r["visitor"]["id"] for r in doc["records"]) == sorted([vid, second])
    text_ = json.dumps(doc, ensure_ascii=False)
    for word in ("tulips", "daisies", "hello tulips", "my order tulips"):
        assert word in text_
    assert "cactus" not in text_
    record = next(r for r in doc["records"] if r["visitor"]["id"] == vid)
    assert record["pages"][0]["url"] == "http://127.0.0.1:8000/tulips"
    assert record["conversations"][0]["id"] == conv
    assert export.counts["visitors"] == 2

    audit = await world.svc.auth.audit(admin, 5, "gdpr.")
    assert audit[0].action == "gdpr.export" and audit[0].details["counts"]["visitors"] == 2
    assert "ona" not in json.dumps(audit[0].details).lower()


async def test_erasure_leaves_no_trace_in_the_stored_bytes(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN)
    vid, conv = await person(world, EMAIL, "tulips")
    other_vid, other_conv = await person(world, "someone.else@example.com", "cactus")
    # A row written before encryption at rest: plaintext on disk until erased.
    async with world.svc.db.transaction(write=True) as conn:
        await conn.execute(
            text("UPDATE events SET body = :b WHERE conversation_id = :c AND seq = 2"),
            {"b": LEGACY, "c": conv},
        )
        await conn.commit()
    sealed = await sealed_values(world, vid)
    before = await stored_bytes(world)
    assert LEGACY.encode() in before
    assert all(any(f in before for f in forms) for forms in sealed)  # the search works

    with pytest.raises(Forbidden):
        await world.svc.privacy.erase_person(
            await world.staff("sup@example.com", Role.SUPERVISOR), EMAIL, "asked"
        )
    result = await world.svc.privacy.erase_person(admin, EMAIL, "the customer asked by e-mail")
    assert (f"visitor:{vid}", {"type": "erased"}) in world.bus.published
    assert result["visitors"] == 1 and result["scrubbed"] is True
    assert result["counts"]["data_keys"] == 1 and result["counts"]["events"] >= 3

    after = await stored_bytes(world)
    assert LEGACY.encode() not in after
    for forms in sealed:
        assert not any(f in after for f in forms)
    with pytest.raises(NotFound):
        await world.svc.privacy.export_person(admin, EMAIL)
    # Other visitors are untouched and readable.
    frames, _ = await world.svc.chat.events_after(admin, other_conv, 0)
    assert [f["message"]["body"] for f in frames if f["t"] == "msg"] == [
        "hello cactus",
        "my order cactus",
    ]
    other = await world.svc.privacy.export_person(admin, "someone.else@example.com")
    assert other.counts["visitors"] == 1 and other_vid

    # The ledger: beside the KEK, 0600, the e-mail only as its keyed hash.
    ledger = world.svc.settings.resolved_kek_file.with_name("erasure-ledger.jsonl")
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    raw = ledger.read_text()
    assert "ona" not in raw.lower() and "tulips" not in raw
    entry = json.loads(raw.splitlines()[-1])
    assert entry["visitors"] == [vid] and len(entry["email_hmac"]) == 64
    audit = await world.svc.auth.audit(admin, 1, "gdpr.erase")
    assert audit[0].details["counts"]["events"] == result["counts"]["events"]


async def test_email_lookup_column_is_a_keyed_hash_and_is_backfilled(world: World) -> None:
    vid, _ = await person(world, EMAIL, "tulips")
    async with world.svc.db.transaction(write=True) as conn:
        digest = (
            await conn.execute(select(t.visitors.c.email_hmac).where(t.visitors.c.id == vid))
        ).scalar_one()
        assert digest and len(digest) == 64 and "ona" not in digest
        # As a row from before 0006 would be: no hash yet.
        await conn.execute(update(t.visitors).where(t.visitors.c.id == vid).values(email_hmac=None))
        await conn.commit()
    admin = await world.staff("admin@example.com", Role.ADMIN)
    # Look-ups still find it (the row is opened and compared) ...
    assert (await world.svc.privacy.export_person(admin, EMAIL)).counts["visitors"] == 1
    # ... and the back-fill (run by `migrate` and at start) restores the hash.
    keys = world.svc.privacy._ledger._keys  # type: ignore[attr-defined]  # the wired key store
    assert await backfill_email_hmac(world.svc.db, keys) == 1
    assert await backfill_email_hmac(world.svc.db, keys) == 0
    async with world.svc.db.transaction(write=False) as conn:
        again = (
            await conn.execute(select(t.visitors.c.email_hmac).where(t.visitors.c.id == vid))
        ).scalar_one()
    assert again == digest


async def test_erasure_empties_every_nodes_key_cache(world: World) -> None:
    """Crypto-shredding must not leave the key in another node's memory: the erasure is
    announced to every node's unit-of-work factory, which drops the visitor's data key
    (and, after a bus outage that may have lost such a message, every key)."""
    from bastion.storage.uow import SqlUnitOfWorkFactory

    admin = await world.staff("admin@example.com", Role.ADMIN)
    vid, _ = await person(world, EMAIL, "tulips")
    other_vid, _ = await person(world, "someone.else@example.com", "cactus")
    keys = world.svc.bans._uow._keys  # the node's KEK holder
    other_node = SqlUnitOfWorkFactory(world.svc.db, world.bus, keys)
    await other_node.listen()
    for visitor_id in (vid, other_vid):  # the other node reads both people's messages
        async with other_node(write=False) as uow:
            assert await uow.visitors.get(visitor_id) is not None
    assert vid in other_node._cache and other_vid in other_node._cache

    await world.svc.privacy.erase_person(admin, EMAIL, "the customer asked")
    assert vid not in other_node._cache
    assert other_vid in other_node._cache
    await world.bus.publish("erasures", {"type": "resync"})
    assert other_vid not in other_node._cache
