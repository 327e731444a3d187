"""Canned responses: department scoping for agents, management by canned.manage."""

from __future__ import annotations

import pytest

from bastion.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from bastion.domain.models import Role
from tests.support.factories import World


async def test_agents_see_global_and_their_departments_responses_only(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    deps = world.svc.departments
    sales = await deps.create(admin, "Sales")
    billing = await deps.create(admin, "Billing")
    jonas = await world.staff("jonas@example.com")
    petras = await world.staff("petras@example.com", name="Petras")
    loner = await world.staff("loner@example.com", name="Loner")
    await deps.set_user_departments(admin, jonas.user_id, [sales.id])
    await deps.set_user_departments(admin, petras.user_id, [billing.id])
    sup = await world.staff("sup@example.com", Role.SUPERVISOR, name="Sup")
    assert await deps.memberships(admin) == {
        jonas.user_id: [sales.id],
        petras.user_id: [billing.id],
    }
    with pytest.raises(Forbidden):
        await deps.memberships(sup)
    canned = world.svc.canned
    await canned.create(sup, shortcut="hi", title="Greeting", body="Hello!", department_id=None)
    await canned.create(
        sup, shortcut="/Price", title="Prices", body="See the list.", department_id=sales.id
    )
    await canned.create(
        admin,
        shortcut="refund",
        title="Refund",
        body="Refunds take 5 days.",
        department_id=billing.id,
    )

    async def shortcuts(actor: object) -> list[str]:
        return [c.shortcut for c in await canned.list_for(actor)]  # type: ignore[arg-type]

    assert await shortcuts(jonas) == ["hi", "price"]
    assert await shortcuts(petras) == ["hi", "refund"]
    assert await shortcuts(loner) == ["hi"]
    assert await shortcuts(sup) == ["hi", "price", "refund"]

    # Agents read; they do not write.
    with pytest.raises(Forbidden):
        await canned.create(jonas, shortcut="x", title="x", body="x", department_id=None)
    hi = (await canned.list_for(jonas))[0]
    with pytest.raises(Forbidden):
        await canned.delete(jonas, hi.id)
    # Custom roles work through the same permission.
    await world.svc.roles.create(admin, "writer", ["canned.manage"])
    writer = await world.staff("w@example.com", "writer", name="Writer")
    await canned.update(
        writer, hi.id, shortcut="hi", title="Greeting", body="Hello there!", department_id=None
    )
    assert (await canned.list_for(loner))[0].body == "Hello there!"
    # A principal with neither permission sees nothing.
    await world.svc.roles.create(admin, "banner", ["visitors.ban"])
    banner = await world.staff("b@example.com", "banner", name="Banner")
    with pytest.raises(Forbidden):
        await canned.list_for(banner)


async def test_canned_input_is_checked(world: World) -> None:
    sup = await world.staff("sup@example.com", Role.SUPERVISOR, name="Sup")
    canned = world.svc.canned
    await canned.create(sup, shortcut="hi", title="Greeting", body="Hello!", department_id=None)
    with pytest.raises(Conflict):
        await canned.create(sup, shortcut="HI", title="Again", body="Hey", department_id=None)
    with pytest.raises(InvalidInput):
        await canned.create(sup, shortcut="two words", title="t", body="b", department_id=None)
    with pytest.raises(InvalidInput):
        await canned.create(sup, shortcut="ok", title="t", body="x" * 2001, department_id=None)
    with pytest.raises(NotFound):
        await canned.create(sup, shortcut="ok", title="t", body="b", department_id="d_missing")
    with pytest.raises(NotFound):
        await canned.delete(sup, "cr_missing")
    actions = [
        e.action
        for e in await world.svc.auth.audit(
            await world.staff("a@example.com", Role.ADMIN, name="A"), 10, "canned."
        )
    ]
    assert actions == ["canned.created"]
    # The audit never holds the text.
    entries = await world.svc.auth.audit(
        await world.staff("b@example.com", Role.ADMIN, name="B"), 10, "canned."
    )
    assert "Hello!" not in repr(entries)


async def test_every_change_tells_the_consoles_concerned_after_commit(world: World) -> None:
    sup = await world.staff("sup@example.com", Role.SUPERVISOR, name="Sup")
    sales = await world.svc.departments.create(None, "Sales")
    canned = world.svc.canned

    def notices() -> list[dict[str, object]]:
        return [m for ch, m in world.bus.published if ch == "staff" and m["type"] == "canned"]

    world.bus.published.clear()
    hi = await canned.create(
        sup, shortcut="hi", title="Greeting", body="Hello!", department_id=None
    )
    price = await canned.create(
        sup, shortcut="price", title="Prices", body="See the list.", department_id=sales.id
    )
    await canned.update(
        sup, price.id, shortcut="price", title="Prices", body="Cheap.", department_id=None
    )
    await canned.delete(sup, hi.id)
    # None: a global response (everyone); else the departments whose consoles list it.
    assert notices() == [
        {"type": "canned", "departments": None},
        {"type": "canned", "departments": [sales.id]},
        {"type": "canned", "departments": None},
        {"type": "canned", "departments": None},
    ]
    assert "Hello" not in repr(notices()) and "Cheap" not in repr(notices())
    # A refused change announces nothing (nothing was committed).
    with pytest.raises(Conflict):
        await canned.create(sup, shortcut="price", title="t", body="b", department_id=None)
    assert len(notices()) == 4


async def test_a_response_holds_to_the_rule_for_messages(world: World) -> None:
    """QA: a text with a direction override was saved, then refused each time it was sent."""
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    for field, kwargs in (
        ("body", {"title": "Files", "body": "see invoice_\u202egpj.exe"}),
        ("title", {"title": "Bell\x07", "body": "Hello"}),
        ("body", {"title": "Esc", "body": "a\x1b[2Jb"}),
    ):
        with pytest.raises(InvalidInput) as err:
            await world.svc.canned.create(admin, shortcut="x", department_id=None, **kwargs)
        assert err.value.field == field
    kept = await world.svc.canned.create(
        admin, shortcut="steps", title="Steps", body="1.\tOpen\r\n2.\tClick", department_id=None
    )
    assert kept.body == "1.\tOpen\n2.\tClick"
    assert await world.svc.canned.list_for(admin) == [kept]
