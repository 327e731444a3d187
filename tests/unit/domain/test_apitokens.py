"""API tokens: shown once, hashed, scoped, expiring, revocable, last use recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bastion.domain.errors import Forbidden, InvalidInput, NotAuthenticated
from bastion.domain.models import Role
from tests.support.factories import World


async def test_token_lifecycle(world: World) -> None:
    tokens = world.svc.tokens
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    secret, record = await tokens.create(admin, "crm sync", ["chat.view_all"], 30, "10.0.0.1")
    assert secret.startswith("bt_")
    async with world.svc.db.transaction(write=False) as conn:
        stored = (await conn.execute(text("SELECT token_hash FROM api_tokens"))).scalars().all()
    assert secret not in stored and len(stored) == 1

    principal = await tokens.authenticate(secret, "10.0.0.1")
    assert principal.user_id == admin.user_id and principal.scopes == frozenset({"chat.view_all"})
    # The token can read conversations but not do what its scopes leave out.
    with pytest.raises(Forbidden):
        await world.svc.widgets.list_all(principal)
    with pytest.raises(Forbidden):
        await world.svc.chat.accept(principal, None, "c_x")
    listed = await tokens.list_all(admin)
    assert listed[0].last_used_at == world.clock.now()

    world.clock.advance(days=31)
    with pytest.raises(NotAuthenticated):
        await tokens.authenticate(secret, None)

    secret2, record2 = await tokens.create(admin, "bot", ["chat.handle"], 1, None)
    await tokens.authenticate(secret2, None)
    await tokens.revoke(admin, record2.id, None)
    with pytest.raises(NotAuthenticated):
        await tokens.authenticate(secret2, None)
    with pytest.raises(NotAuthenticated):
        await tokens.authenticate("bt_forged", None)
    actions = [e.action for e in await world.svc.auth.audit(admin, 20, "token.")]
    assert {"token.created", "token.used", "token.revoked"} <= set(actions)
    assert record.id != record2.id


async def test_token_rules(world: World) -> None:
    tokens = world.svc.tokens
    admin = await world.staff("admin@example.com", Role.ADMIN, name="Admin")
    agent = await world.staff("agent@example.com")
    with pytest.raises(Forbidden):
        await tokens.create(agent, "mine", ["chat.handle"], 10, None)
    with pytest.raises(InvalidInput):
        await tokens.create(admin, "x", ["no.such.scope"], 10, None)
    with pytest.raises(InvalidInput):
        await tokens.create(admin, "x", ["chat.handle"], 400, None)
    supervisor = await world.staff("sup@example.com", Role.SUPERVISOR, name="Sup")
    with pytest.raises(Forbidden):  # supervisors lack tokens.manage
        await tokens.create(supervisor, "x", ["chat.handle"], 10, None)
