"""Retention per department: closed chats deleted a set number of days after closing,
audited by count (SQLite and PostgreSQL, fake clock)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bastion.domain.errors import Forbidden, InvalidInput, NotFound
from bastion.domain.models import ConvState, Role
from bastion.domain.principals import StaffPrincipal
from bastion.domain.retention import RetentionService
from bastion.domain.widgets import WidgetChange
from tests.support import blobs
from tests.support.factories import World
from tests.unit.conftest import engine_world


@pytest.fixture(params=["sqlite", "postgres"])
async def rworld(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """Like the ``world`` fixture, with a 30-day default retention."""
    async for w in engine_world(request.param, tmp_path, {"BASTION_RETENTION_DAYS": "30"}):
        yield w


async def closed_chat(world: World, agent: StaffPrincipal, body: str = "my secret order") -> str:
    conv = await world.start(await world.visitor(), message=body)
    await world.svc.chat.accept(agent, None, conv)
    await world.svc.chat.send_note(agent, None, conv, "internal note")
    await world.svc.chat.close(agent, None, conv)
    return conv


async def exists(world: World, conv: str) -> bool:
    admin = StaffPrincipal(user_id="u_sys", name="sys", role=Role.OWNER)
    try:
        await world.svc.chat.get_conversation(admin, conv)
    except NotFound:
        return False
    return True


async def purges(world: World, admin: StaffPrincipal) -> list[dict[str, object]]:
    entries = await world.svc.auth.audit(admin, 100, "retention.")
    return [{"target": e.target, **e.details} for e in entries]


async def test_default_retention_deletes_closed_chats_after_their_days(rworld: World) -> None:
    w = rworld
    admin = await w.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await w.staff("agent@example.com")
    old = await closed_chat(w, agent)
    w.clock.advance(days=2)
    newer = await closed_chat(w, agent)
    still_open = await w.start(await w.visitor(), message="hello")
    w.clock.advance(days=29)  # old closed 31 days ago, newer 29

    result = await w.svc.retention.purge()
    assert result == {"conversations": 1, "events": 5}
    assert not await exists(w, old)
    assert await exists(w, newer) and await exists(w, still_open)
    entries = await purges(w, admin)
    assert entries == [{"target": "default", "days": 30, "conversations": 1, "events": 5}]
    assert "secret" not in json.dumps(entries)
    # Nothing more is due: no new entry, nothing deleted.
    assert await w.svc.retention.purge() == {}
    assert len(await purges(w, admin)) == 1
    w.clock.advance(days=2)
    assert (await w.svc.retention.purge())["conversations"] == 1
    assert not await exists(w, newer)
    # Open chats are never purged, however old.
    w.clock.advance(days=400)
    assert await w.svc.retention.purge() == {}
    conv = await w.svc.chat.get_conversation(admin, still_open)
    assert conv.state is ConvState.WAITING


async def test_each_department_keeps_its_own_number_of_days(rworld: World) -> None:
    w = rworld
    deps = w.svc.departments
    admin = await w.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await w.staff("agent@example.com")
    short = await deps.create(admin, "Short")
    keep = await deps.create(admin, "Keep")
    follows = await deps.create(admin, "Follows")
    await deps.set_retention(admin, short.id, 7)
    await deps.set_retention(admin, keep.id, 0)
    # The agent takes chats of every department (accepting follows the department rule).
    await deps.set_user_departments(admin, agent.user_id, [short.id, keep.id, follows.id])
    convs = {}
    for dep in (short, keep, follows, None):
        await w.svc.widgets.update(
            admin, w.widget_id, WidgetChange(department_id=dep.id if dep else None)
        )
        convs[dep.name if dep else "none"] = await closed_chat(w, agent)

    w.clock.advance(days=8)
    assert (await w.svc.retention.purge())["conversations"] == 1
    assert not await exists(w, convs["Short"])
    assert all([await exists(w, convs[k]) for k in ("Keep", "Follows", "none")])
    w.clock.advance(days=30)
    assert (await w.svc.retention.purge())["conversations"] == 2
    assert await exists(w, convs["Keep"])
    assert not await exists(w, convs["Follows"]) and not await exists(w, convs["none"])
    targets = sorted(str(e["target"]) for e in await purges(w, admin))
    assert targets == sorted(["default", short.id])
    listed = {d.name: d.retention_days for d in await deps.list_all(admin)}
    assert listed == {"Short": 7, "Keep": 0, "Follows": None}


async def test_purges_run_in_bounded_batches_each_audited(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await world.staff("agent@example.com")
    for _ in range(5):
        await closed_chat(world, agent)
    world.clock.advance(days=2)
    # The service's own unit-of-work factory, with a one-day default and batches of two.
    purger = RetentionService(world.svc.retention._uow, world.clock, default_days=1, batch=2)
    assert await purger.purge() == {"conversations": 5, "events": 25}
    assert [e["conversations"] for e in await purges(world, admin)] == [1, 2, 2]


async def test_only_admins_set_retention_and_values_are_checked(world: World) -> None:
    deps = world.svc.departments
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await world.staff("agent@example.com")
    dep = await deps.create(admin, "Sales")
    with pytest.raises(Forbidden):
        await deps.set_retention(agent, dep.id, 7)
    with pytest.raises(InvalidInput):
        await deps.set_retention(admin, dep.id, -1)
    with pytest.raises(NotFound):
        await deps.set_retention(admin, "d_missing", 7)
    assert (await deps.set_retention(None, dep.id, 90)).retention_days == 90
    assert (await deps.set_retention(admin, dep.id, None)).retention_days is None
    changes = await world.svc.auth.audit(admin, 10, "department.retention")
    assert [(e.actor, e.details) for e in changes] == [
        (admin.user_id, {"days": None}),
        ("cli", {"days": 90}),
    ]


async def test_admins_read_the_deployment_default_agents_do_not(rworld: World) -> None:
    admin = await rworld.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await rworld.staff("agent@example.com")
    assert rworld.svc.retention.default_days(admin) == 30
    with pytest.raises(Forbidden):
        rworld.svc.retention.default_days(agent)


async def test_a_purge_deletes_the_chats_files_and_their_bytes(world: World) -> None:
    from bastion.domain.models import FileState, StoredFile

    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await world.staff("agent@example.com")
    conv = await closed_chat(world, agent)
    world.clock.advance(days=3)
    kept = await closed_chat(world, agent)
    uow_factory = world.svc.retention._uow
    for file_id, conversation in (("f_purged", conv), ("f_kept", kept)):
        async with uow_factory() as uow:
            owner = (await uow.conversations.get(conversation)).visitor_id  # type: ignore[union-attr]
            stored = StoredFile(
                id=file_id,
                conversation_id=conversation,
                visitor_id=owner,
                uploader_kind="visitor",
                uploader_id=owner,
                name="receipt.pdf",
                content_type="application/pdf",
                size=9,
                state=FileState.CLEAN,
                created_at=world.clock.now(),
            )
            await uow.files.add(stored, b"%PDF-1.4\n")
            await uow.commit()
    assert await blobs.keys(world) == ["f_kept", "f_purged"]
    purger = RetentionService(uow_factory, world.clock, default_days=2)
    assert await purger.purge() == {"conversations": 1, "events": 5, "files": 1}
    assert await blobs.keys(world) == ["f_kept"]
    async with uow_factory(write=False) as uow:
        assert await uow.files.get("f_purged") is None
        assert await uow.files.get("f_kept") is not None
    assert (await purges(world, admin))[0]["files"] == 1
