"""At rest, visitors' data is sealed per visitor and bound to its row (both engines)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text, update

from bastion.security.envelope import DecryptionFailed
from bastion.storage import tables as t
from tests.support.factories import World

SECRETS = ["Ona Petraitytė", "ona@example.lt", "the blue giraffe sings", "tall ships"]


async def raw_rows(world: World) -> str:
    out = []
    async with world.svc.db.transaction(write=False) as conn:
        for table in (t.visitors, t.visitor_pages, t.events, t.conversations, t.commands):
            out += [repr(tuple(r)) for r in await conn.execute(select(table))]
    return "\n".join(out)


def pg_dump(url: str) -> str:
    """The plain-SQL dump of a test database, as an operator's backup would hold it."""
    parts = urlsplit(url.replace("postgresql+asyncpg", "postgresql", 1))
    proc = subprocess.run(
        [
            "pg_dump",
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            parts.path.lstrip("/"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "CREATE TABLE" in proc.stdout
    return proc.stdout


async def test_rows_hold_no_plaintext_and_reads_still_work(world: World) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    agent = await world.staff("jonas@example.com")
    conv = await world.start(
        visitor, fields={"name": SECRETS[0], "email": SECRETS[1]}, message=SECRETS[2]
    )
    await world.svc.visitors.record_page(visitor, "http://127.0.0.1:8000/tall-ships", "t", None)
    await chat.accept(agent, "a1", conv)
    await chat.send_message(agent, "a2", conv, "Labas! " + SECRETS[3])
    await chat.send_note(agent, None, conv, "about " + SECRETS[2])
    summary = (await chat.summaries_for_staff(agent))[0]
    assert summary["visitor"]["email"] == SECRETS[1]
    assert summary["preview"] == "Labas! " + SECRETS[3]
    await chat.close(agent, None, conv)
    await chat.rate(visitor, None, conv, "good", "thanks, " + SECRETS[3])

    rows = await raw_rows(world)
    url = world.svc.settings.resolved_database_url
    if url.startswith("postgresql") and shutil.which("pg_dump"):
        rows += await asyncio.to_thread(pg_dump, url)
    # Only markers long enough never to turn up by chance inside base64 ciphertext
    # (a three-letter name did, once in a few hundred runs).
    for secret in [*SECRETS, "tall-ships", "Petraityt"]:
        assert secret not in rows
    frames, _ = await chat.events_after(agent, conv, 0)
    assert frames[0]["visitor"]["name"] == SECRETS[0]
    assert frames[1]["message"]["body"] == SECRETS[2]
    assert frames[1]["message"]["author"]["name"] == SECRETS[0]
    assert frames[-1]["comment"] == "thanks, " + SECRETS[3]


async def test_a_ciphertext_moved_to_another_row_fails(world: World) -> None:
    chat = world.svc.chat
    visitor = await world.visitor()
    conv = await world.start(visitor, message="first")
    await chat.send_message(visitor, None, conv, "second")
    async with world.svc.db.transaction(write=True) as conn:
        bodies = dict(
            (r.seq, r.body)
            for r in await conn.execute(
                select(t.events.c.seq, t.events.c.body).where(t.events.c.conversation_id == conv)
            )
        )
        await conn.execute(
            update(t.events)
            .where(t.events.c.conversation_id == conv, t.events.c.seq == 3)
            .values(body=bodies[2])
        )
        await conn.commit()
    with pytest.raises(DecryptionFailed):
        await chat.events_after(visitor, conv, 0)

    # A name moved from one visitor to another fails too.
    other = await world.visitor()
    await world.start(other, fields={"name": "Jonė"})
    async with world.svc.db.transaction(write=True) as conn:
        name = (
            await conn.execute(select(t.visitors.c.name).where(t.visitors.c.id == other.visitor_id))
        ).scalar_one()
        await conn.execute(
            update(t.visitors).where(t.visitors.c.id == visitor.visitor_id).values(name=name)
        )
        await conn.commit()
    with pytest.raises(DecryptionFailed):
        await chat.typing(visitor, conv, True)  # reads the visitor's name


async def test_rows_written_before_0005_stay_readable(world: World) -> None:
    visitor = await world.visitor()
    conv = await world.start(visitor, message="sealed")
    async with world.svc.db.transaction(write=True) as conn:
        await conn.execute(
            text("UPDATE events SET body = 'legacy', data = :d WHERE seq = 2"),
            {"d": json.dumps({})},
        )
        await conn.commit()
    frames, _ = await world.svc.chat.events_after(visitor, conv, 0)
    assert frames[1]["message"]["body"] == "legacy"
