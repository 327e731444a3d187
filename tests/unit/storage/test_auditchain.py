"""The audit log's hash chain on both engines: entries chain as they commit, and an
edited, removed, reordered or forged entry, or a cut-off end, fails verification.
"""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import delete, select, update
from sqlalchemy.sql import Executable

from bastion.domain.models import Role
from bastion.security.envelope import FileKeyStore
from bastion.storage import tables as t
from bastion.storage.auditchain import GENESIS, entry_mac, export, head, verify
from bastion.storage.rotation import rotate_kek
from tests.support.factories import World


def keys(world: World) -> FileKeyStore:
    return FileKeyStore(world.svc.settings.resolved_kek_file)


async def audited(world: World, count: int) -> list[str]:
    """``count`` audit entries through the domain (each department creation is one); the
    departments' ids."""
    admin = await world.staff(f"admin{count}@example.com", Role.ADMIN, name="Admin")
    deps = world.svc.departments
    return [(await deps.create(admin, f"Dept {count}.{n}")).id for n in range(count)]


async def chain(world: World) -> list[tuple[int, str]]:
    async with world.svc.db.transaction(write=False) as conn:
        rows = await conn.execute(
            select(t.audit_log.c.seq, t.audit_log.c.mac).order_by(t.audit_log.c.id)
        )
        return [(r.seq, r.mac) for r in rows]


async def tamper(world: World, *statements: Executable) -> None:
    async with world.svc.db.transaction(write=True) as conn:
        for statement in statements:
            await conn.execute(statement)
        await conn.commit()


async def test_entries_chain_in_commit_order_and_verify(world: World) -> None:
    report = await verify(world.svc.db, keys(world))
    assert report.ok and report.entries == 0 and report.head_mac == GENESIS
    made = await audited(world, 4)
    links = await chain(world)
    assert [seq for seq, _ in links] == list(range(1, len(links) + 1))
    assert len({mac for _, mac in links}) == len(links)
    report = await verify(world.svc.db, keys(world))
    assert report.ok, report.problems
    assert report.entries == len(links) and report.unchained == 0
    assert (report.head_seq, report.head_mac) == links[-1]
    assert await head(world.svc.db) == {"seq": links[-1][0], "mac": links[-1][1]}
    # The domain still reads its entries, newest first.
    admin = await world.staff("reader@example.com", Role.ADMIN, name="Reader")
    recent = await world.svc.auth.audit(admin, 10, "department.")
    assert [e.target for e in recent] == made[::-1]


async def test_an_edited_entry_breaks_the_chain_at_that_entry(world: World) -> None:
    await audited(world, 3)
    c = t.audit_log.c
    await tamper(world, update(t.audit_log).where(c.seq == 2).values(actor="u_someone_else"))
    report = await verify(world.svc.db, keys(world))
    assert not report.ok
    assert report.problems[0] == "entry 2 does not match its MAC (altered or moved)"
    # The message names the place, never the entry's content.
    assert "u_someone_else" not in json.dumps(report.as_dict())


async def test_a_removed_entry_and_a_cut_off_end_are_found(world: World) -> None:
    await audited(world, 4)
    c = t.audit_log.c
    last = (await chain(world))[-1][0]
    await tamper(world, delete(t.audit_log).where(c.seq == last))
    report = await verify(world.svc.db, keys(world))
    assert report.problems == [
        f"the chain ends at entry {last - 1} but its head says {last} "
        "(entries cut off the end, or the head was altered)"
    ]
    await tamper(world, delete(t.audit_log).where(c.seq == 2))
    report = await verify(world.svc.db, keys(world))
    assert report.problems[0] == "entry 2 missing"


async def test_swapped_or_forged_entries_do_not_verify(world: World) -> None:
    await audited(world, 3)
    c = t.audit_log.c
    (_, mac1), (_, mac2) = (await chain(world))[:2]
    # Two entries change places (seq and MAC moved with them).
    await tamper(
        world,
        update(t.audit_log).where(c.seq == 1).values(seq=-1),
        update(t.audit_log).where(c.seq == 2).values(seq=1, mac=mac1),
        update(t.audit_log).where(c.seq == -1).values(seq=2, mac=mac2),
    )
    assert (
        "entry 1 does not match its MAC (altered or moved)"
        in (await verify(world.svc.db, keys(world))).problems
    )


async def test_a_rewrite_without_the_audit_key_does_not_verify(world: World) -> None:
    """Someone with the database but not the KEK recomputes every MAC with a key of
    their own, and the head with them: the chain is consistent, and still refused."""
    await audited(world, 3)
    forged_key, prev = b"\x01" * 32, GENESIS
    async with world.svc.db.transaction(write=True) as conn:
        rows = (await conn.execute(select(t.audit_log).order_by(t.audit_log.c.seq))).all()
        for row in rows:
            mac = entry_mac(
                forged_key,
                prev,
                row.seq,
                row.at,
                row.action,
                row.actor,
                row.target,
                row.ip,
                row.details.replace("}", ', "x": 1}'),
            )
            await conn.execute(
                update(t.audit_log)
                .where(t.audit_log.c.seq == row.seq)
                .values(mac=mac, details=row.details.replace("}", ', "x": 1}'))
            )
            prev = mac
        await conn.execute(update(t.audit_head).values(seq=rows[-1].seq, mac=prev))
        await conn.commit()
    report = await verify(world.svc.db, keys(world))
    assert report.problems[0] == "entry 1 does not match its MAC (altered or moved)"


async def test_concurrent_writers_make_one_unbroken_chain(world: World) -> None:
    """Many units at once (on PostgreSQL, separate connections and transactions): the
    head's lock makes one line, without gaps or duplicates."""
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await asyncio.gather(*(world.svc.departments.create(admin, f"D{n}") for n in range(20)))
    report = await verify(world.svc.db, keys(world))
    assert report.ok, report.problems
    assert report.entries == len(await chain(world)) >= 21


async def test_the_chain_survives_a_kek_rotation_and_exports_in_order(world: World) -> None:
    await audited(world, 2)
    await rotate_kek(world.svc.db, world.svc.settings.resolved_kek_file, grace_s=0)
    async with world.svc.db.transaction(write=False) as conn:
        names = set((await conn.execute(select(t.staff_keys.c.name))).scalars())
    assert "audit" in names
    # A new process, holding only the new KEK file, verifies and extends the chain.
    report = await verify(world.svc.db, keys(world))
    assert report.ok, report.problems
    await audited(world, 1)
    assert (await verify(world.svc.db, keys(world))).ok
    exported = [e async for e in export(world.svc.db)]
    assert [e["seq"] for e in exported] == list(range(1, len(exported) + 1))
    assert exported[-1]["action"] == "department.created"
    assert exported[-1]["mac"] == (await head(world.svc.db))["mac"]


async def test_entries_from_before_the_chain_are_counted_apart(world: World) -> None:
    """Rows written before migration 0013 have no seq or MAC: reported, not failed."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    await tamper(
        world,
        insert(t.audit_log).values(
            at=datetime(2026, 1, 1, tzinfo=UTC), action="login.ok", actor="u_old", details="{}"
        ),
    )
    await audited(world, 2)
    report = await verify(world.svc.db, keys(world))
    assert report.ok, report.problems
    assert report.unchained == 1 and report.entries >= 2
    exported = [e async for e in export(world.svc.db)]
    assert exported[0]["seq"] is None and exported[0]["actor"] == "u_old"
