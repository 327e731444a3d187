"""Staff login and sessions: no enumeration, idle and absolute timeouts, revocation."""

from __future__ import annotations

import time

import pytest

from bastion.domain.errors import (
    Conflict,
    InvalidCredentials,
    InvalidInput,
    NotAuthenticated,
    WeakPassword,
)
from bastion.domain.models import Role
from tests.support.factories import PASSWORD, World


async def test_login_and_session_lifecycle(world: World) -> None:
    staff = world.svc.staff
    await world.staff("jonas@example.com")
    result = await world.svc.auth.login(
        "Jonas@Example.com ", PASSWORD, None, ip="127.0.0.1", user_agent="t"
    )
    principal, user = await staff.authenticate(result.session_token)
    assert principal.user_id == user.id and user.email == "jonas@example.com"
    await staff.logout(result.session_token)
    with pytest.raises(NotAuthenticated):
        await staff.authenticate(result.session_token)


async def test_unknown_account_and_wrong_password_look_the_same(world: World) -> None:
    await world.staff("jonas@example.com")
    timings = {}
    for email, pw in (("jonas@example.com", "wrong password!!"), ("nobody@example.com", PASSWORD)):
        started = time.perf_counter()
        with pytest.raises(InvalidCredentials) as err:
            await world.svc.auth.login(email, pw, None, ip=None, user_agent=None)
        timings[email] = time.perf_counter() - started
        assert err.value.message == "wrong e-mail or password"
    # Both paths run one argon2 verification; neither is an order of magnitude faster.
    fast, slow = sorted(timings.values())
    assert slow / fast < 5


async def test_idle_and_absolute_timeouts(world: World) -> None:
    staff = world.svc.staff
    await world.staff("jonas@example.com")
    token = (
        await world.svc.auth.login("jonas@example.com", PASSWORD, None, ip=None, user_agent=None)
    ).session_token
    world.clock.advance(hours=7)
    await staff.authenticate(token)  # activity slides the idle window
    world.clock.advance(hours=7)
    await staff.authenticate(token)
    world.clock.advance(hours=8, seconds=1)
    with pytest.raises(NotAuthenticated):
        await staff.authenticate(token)

    token2 = (
        await world.svc.auth.login("jonas@example.com", PASSWORD, None, ip=None, user_agent=None)
    ).session_token
    for _ in range(25):  # active every 7 h for a week: the absolute limit still ends it
        world.clock.advance(hours=7)
        try:
            await staff.authenticate(token2)
        except NotAuthenticated:
            break
    else:
        pytest.fail("session outlived its absolute timeout")


async def test_user_creation_rules(world: World) -> None:
    staff = world.svc.staff
    for weak in ("short", "password1234", "Password123456", "a@example.com!!"):
        with pytest.raises(WeakPassword) as err:
            await staff.create_user(None, email="a@example.com", password=weak, role=Role.AGENT)
        assert err.value.field == "password"
    with pytest.raises(InvalidInput):
        await staff.create_user(None, email="not an email", password=PASSWORD, role=Role.AGENT)
    # Visitors see the name and their transcripts print it: no line breaks or overrides.
    for name in ("Jonas\n[10:00] Ona: yes", "Jonas\u202e"):
        with pytest.raises(InvalidInput) as err:
            await staff.create_user(
                None, email="n@example.com", password=PASSWORD, role=Role.AGENT, name=name
            )
        assert err.value.field == "name"
    await world.staff("a@example.com")
    with pytest.raises(Conflict):
        await world.staff("A@example.com")
    agent = await world.staff("b@example.com")
    from bastion.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        await staff.create_user(agent, email="c@example.com", password=PASSWORD, role=Role.ADMIN)


async def test_password_hash_is_argon2id_and_never_the_password(world: World) -> None:
    user = await world.svc.staff.create_user(
        None, email="h@example.com", password=PASSWORD, role=Role.AGENT
    )
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


async def test_responders_are_the_active_staff_who_handle_chats(world: World) -> None:
    from bastion.domain.errors import Forbidden
    from bastion.domain.models import AgentStatus
    from bastion.domain.staff import responder_summary

    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await world.staff("a@example.com", name="Ona")
    await world.staff("s@example.com", Role.SUPERVISOR, name="Sup")
    await world.svc.roles.create(admin, "triage", ["chat.handle"])
    await world.svc.roles.create(admin, "auditor", ["chat.view_all"])
    await world.staff("t@example.com", "triage", name="Tri")
    auditor = await world.staff("r@example.com", "auditor", name="Aud")
    locked = await world.staff("l@example.com", name="Locked")
    await world.svc.staff.set_disabled(admin, locked.user_id, True)
    await world.svc.staff.set_status(agent, AgentStatus.ONLINE)

    listed = await world.svc.staff.list_responders(agent)
    assert [u.name for u in listed] == ["Admin", "Ona", "Sup", "Tri"]
    ona = next(u for u in listed if u.name == "Ona")
    # Colleagues learn an id, a name and an availability: no e-mail, role or 2FA state.
    assert responder_summary(ona) == {"id": agent.user_id, "name": "Ona", "status": "online"}
    with pytest.raises(Forbidden):
        await world.svc.staff.list_responders(auditor)
