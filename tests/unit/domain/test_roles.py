"""Custom roles: exactly their permissions, no escalation, no deleting a role in use."""

from __future__ import annotations

import pytest

from bastion.domain.errors import BuiltinRole, Forbidden, InvalidInput, NotFound, RoleInUse
from bastion.domain.models import Role
from bastion.domain.permissions import Perm, allowed
from tests.support.factories import PASSWORD, World


async def _login(world: World, email: str) -> tuple[str, object]:
    result = await world.svc.auth.login(email, PASSWORD, None, ip="127.0.0.1", user_agent="t")
    return result.session_token, result


async def test_a_custom_role_grants_exactly_its_permissions(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    role = await world.svc.roles.create(admin, "Triage", ["chat.handle", "canned.manage"])
    assert role.name == "triage"
    user = await world.staff("t@example.com", "triage", name="Tri")
    granted = {p for p in Perm if allowed(user, p)}
    assert granted == {Perm.CHAT_HANDLE, Perm.CANNED_MANAGE}
    # The session path resolves the same set (that is what every transport uses).
    token, _ = await _login(world, "t@example.com")
    principal, _user = await world.svc.staff.authenticate(token, ip="127.0.0.1")
    assert principal.role == "triage"
    assert {p for p in Perm if allowed(principal, p)} == granted
    with pytest.raises(Forbidden):
        await world.svc.staff.list_users(principal)
    listed = {r.name: n for r, n in await world.svc.roles.list_all(admin)}
    assert listed["triage"] == 1 and list(listed)[:4] == ["owner", "admin", "supervisor", "agent"]


async def test_an_unknown_role_name_grants_nothing(world: World) -> None:
    from bastion.domain.principals import StaffPrincipal

    ghost = StaffPrincipal(user_id="u_x", name="x", role="ghost")
    assert not any(allowed(ghost, p) for p in Perm)
    assert await world.svc.roles.permissions_for("ghost") == frozenset()


async def test_nobody_grants_what_they_do_not_hold(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    # A role manager without tokens.manage cannot put it in a role, nor hand out a role
    # that has it.
    await world.svc.roles.create(
        admin, "rolesmith", ["roles.manage", "users.manage", "chat.handle", "visitors.ban"]
    )
    smith = await world.staff("smith@example.com", "rolesmith", name="Smith")
    with pytest.raises(Forbidden) as err:
        await world.svc.roles.create(smith, "tokenish", ["tokens.manage"])
    assert err.value.field == "permissions"
    await world.svc.roles.create(smith, "helper", ["users.manage"])
    await world.svc.roles.create(admin, "integrator", ["tokens.manage"])
    with pytest.raises(Forbidden):
        await world.svc.roles.update(smith, "integrator", [])
    with pytest.raises(Forbidden):
        await world.svc.roles.update(smith, "helper", ["users.manage", "tokens.manage"])
    agent = await world.staff("a@example.com")
    with pytest.raises(Forbidden):
        await world.svc.staff.set_role(smith, agent.user_id, "integrator")
    with pytest.raises(Forbidden):
        await world.svc.staff.set_role(smith, agent.user_id, Role.ADMIN)
    with pytest.raises(Forbidden):
        await world.svc.staff.create_user(
            smith, email="x@example.com", password=PASSWORD, role="integrator"
        )
    # ...nor demote someone who holds more than they do.
    with pytest.raises(Forbidden):
        await world.svc.staff.set_role(smith, admin.user_id, "agent")
    await world.svc.staff.set_role(smith, agent.user_id, "helper")
    # Built-ins are fixed; names are validated; unknown roles are refused.
    with pytest.raises(BuiltinRole):
        await world.svc.roles.update(admin, "agent", ["chat.handle"])
    with pytest.raises(BuiltinRole):
        await world.svc.roles.create(admin, "Admin", [])
    with pytest.raises(BuiltinRole):
        await world.svc.roles.delete(admin, "owner")
    with pytest.raises(InvalidInput):
        await world.svc.roles.create(admin, "no spaces", [])
    with pytest.raises(InvalidInput):
        await world.svc.roles.create(admin, "weird", ["root.everything"])
    with pytest.raises(NotFound):
        await world.svc.staff.set_role(admin, agent.user_id, "nosuchrole")
    with pytest.raises(Forbidden):
        await world.svc.roles.create(agent, "mine", [])


async def test_editing_a_role_ends_its_holders_sessions_and_is_audited(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.svc.roles.create(admin, "desk", ["chat.handle"])
    desk = await world.staff("d@example.com", "desk", name="Desk")
    token, _ = await _login(world, "d@example.com")
    await world.svc.staff.authenticate(token, ip="127.0.0.1")
    await world.svc.roles.update(admin, "desk", ["chat.handle", "visitors.ban"])
    from bastion.domain.errors import NotAuthenticated

    with pytest.raises(NotAuthenticated):
        await world.svc.staff.authenticate(token, ip="127.0.0.1")
    # After commit, every node is told to close the holders' open agent sockets.
    notice = {"type": "sessions_ended", "users": [desk.user_id]}
    assert ("staff", notice) in world.bus.published
    entries = await world.svc.auth.audit(admin, 10, "role.")
    updated = next(e for e in entries if e.action == "role.updated")
    assert updated.details["added"] == ["visitors.ban"] and updated.details["sessions_ended"] == 1
    assert {e.action for e in entries} >= {"role.created", "role.updated"}


async def test_a_role_in_use_cannot_be_deleted(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.svc.roles.create(admin, "temp", ["chat.handle"])
    user = await world.staff("t@example.com", "temp", name="Temp")
    with pytest.raises(RoleInUse) as err:
        await world.svc.roles.delete(admin, "temp")
    assert err.value.code == "role_in_use"
    await world.svc.staff.set_role(admin, user.user_id, Role.AGENT)
    await world.svc.roles.delete(admin, "temp")
    assert "temp" not in {r.name for r, _ in await world.svc.roles.list_all(admin)}
    with pytest.raises(NotFound):
        await world.svc.roles.delete(admin, "temp")


async def test_custom_roles_can_require_two_step_login(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    await world.svc.roles.create(admin, "desk", ["chat.handle"])
    assert await world.svc.auth.set_require_2fa(admin, ["desk", "admin"], None) == [
        "admin",
        "desk",
    ]
    with pytest.raises(InvalidInput):
        await world.svc.auth.set_require_2fa(admin, ["nosuch"], None)


async def test_locking_an_account_ends_its_sessions(world: World) -> None:
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await world.staff("a@example.com")
    token, _ = await _login(world, "a@example.com")
    assert await world.svc.staff.set_disabled(admin, agent.user_id, True) == 1
    from bastion.domain.errors import NotAuthenticated

    with pytest.raises(NotAuthenticated):
        await world.svc.staff.authenticate(token, ip="127.0.0.1")
    with pytest.raises(Forbidden):
        await world.svc.staff.set_disabled(admin, admin.user_id, True)
    await world.svc.staff.set_disabled(admin, agent.user_id, False)
    await _login(world, "a@example.com")
    actions = [e.action for e in await world.svc.auth.audit(admin, 10, "user.")]
    assert "user.locked" in actions and "user.unlocked" in actions
