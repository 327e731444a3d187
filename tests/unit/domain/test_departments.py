"""Department scoping: agents see the queue and visitors of their departments only."""

from __future__ import annotations

import pytest

from bastion.domain.errors import Forbidden, InvalidInput, NotFound
from bastion.domain.models import Role
from bastion.domain.widgets import WidgetChange
from tests.support.factories import World


async def test_agents_see_only_their_departments_queue(world: World) -> None:
    admin, _sales, _billing, jonas, petras = await world.desks()
    deps = world.svc.departments

    visitor = await world.visitor()
    conv = await world.start(visitor)
    chat = world.svc.chat
    assert [s["id"] for s in await chat.summaries_for_staff(jonas)] == [conv]
    assert await chat.summaries_for_staff(petras) == []
    with pytest.raises(NotFound):
        await chat.events_after(petras, conv, 0)
    browsing = await world.visitor()  # on the site, not chatting: may be invited
    with pytest.raises(NotFound):
        await chat.invite(petras, browsing.visitor_id, "hello")
    await chat.invite(jonas, browsing.visitor_id, "hello")
    supervisor = await world.staff("sup@example.com", Role.SUPERVISOR, name="Sup")
    assert [s["id"] for s in await chat.summaries_for_staff(supervisor)] == [conv]
    # Another department's chat cannot be taken by its id either (and does not say that
    # it exists), whether waiting or already taken.
    with pytest.raises(NotFound):
        await chat.accept(petras, None, conv)
    await chat.accept(jonas, None, conv)
    with pytest.raises(NotFound):
        await chat.accept(petras, None, conv)

    # A widget without a department is everyone's queue again.
    await world.svc.widgets.update(admin, world.widget_id, WidgetChange(department_id=None))
    other = await world.start(await world.visitor())
    assert other in [s["id"] for s in await chat.summaries_for_staff(petras)]
    with pytest.raises(Forbidden):
        await deps.create(jonas, "Mine")
    with pytest.raises(NotFound):
        await deps.set_user_departments(admin, jonas.user_id, ["d_missing"])
    actions = [e.action for e in await world.svc.auth.audit(admin, 20, None)]
    assert "user.departments_changed" in actions and "widget.department_changed" in actions


async def test_a_department_name_reads_as_it_is_stored(world: World) -> None:
    """QA: "Evil\u202eabc" was accepted and shown reversed in every list."""
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    for name in ("Evil\u202eabc", "Sales\x1b[31m", "Two\nlines"):
        with pytest.raises(InvalidInput) as err:
            await world.svc.departments.create(admin, name)
        assert err.value.field == "name"
    assert await world.svc.departments.list_all(admin) == []
