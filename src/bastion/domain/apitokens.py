"""API tokens for integrations: scoped, expiring, shown once, stored hashed, revocable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bastion.domain.auth import SETTING_IP_ALLOWLIST, audit_entry, ip_in
from bastion.domain.errors import Forbidden, InvalidInput, IpNotAllowed, NotAuthenticated, NotFound
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import ApiToken
from bastion.domain.permissions import Perm, allowed
from bastion.domain.ports import Clock, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal
from bastion.domain.roles import resolve_permissions
from bastion.security.tokens import hash_token, new_token

MAX_DAYS = 365
# Last use is recorded (and audited) at most this often per token.
TOUCH_EVERY = timedelta(seconds=60)


def token_summary(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "user_id": t.user_id,
        "scopes": list(t.scopes),
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat(),
        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        "revoked": t.revoked,
    }


class ApiTokenService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdFactory = new_id) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def create(
        self, actor: StaffPrincipal, name: str, scopes: list[str], days: int, ip: str | None
    ) -> tuple[str, ApiToken]:
        """Returns the token (shown this once) and its record. A token never holds a
        permission its creator lacks.
        """
        if not allowed(actor, Perm.TOKENS_MANAGE):
            raise Forbidden("your role cannot create API tokens")
        name = name.strip()
        if not 1 <= len(name) <= 80:
            raise InvalidInput("name the token (1 to 80 characters)", field="name")
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"tokens last 1 to {MAX_DAYS} days", field="days")
        try:
            perms = sorted({Perm(s).value for s in scopes})
        except ValueError:
            raise InvalidInput("unknown scope", field="scopes") from None
        if not perms:
            raise InvalidInput("give the token at least one scope", field="scopes")
        if any(not allowed(actor, Perm(p)) for p in perms):
            raise Forbidden("a token cannot have permissions you do not have")
        now = self._clock.now()
        secret = new_token("bt")
        record = ApiToken(
            id=self._ids("t"),
            token_hash=hash_token(secret),
            name=name,
            user_id=actor.user_id,
            scopes=tuple(perms),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        async with self._uow() as uow:
            await uow.api_tokens.add(record)
            await uow.audit.add(
                audit_entry(
                    now, "token.created", actor=actor.user_id, target=record.id, ip=ip, scopes=perms
                )
            )
            await uow.commit()
        return secret, record

    async def list_all(self, actor: StaffPrincipal) -> list[ApiToken]:
        if not allowed(actor, Perm.TOKENS_MANAGE):
            raise Forbidden("your role cannot manage API tokens")
        async with self._uow(write=False) as uow:
            return await uow.api_tokens.list_all()

    async def revoke(self, actor: StaffPrincipal, token_id: str, ip: str | None) -> None:
        if not allowed(actor, Perm.TOKENS_MANAGE):
            raise Forbidden("your role cannot manage API tokens")
        async with self._uow() as uow:
            if not await uow.api_tokens.revoke(token_id):
                raise NotFound("no such active token")
            await uow.audit.add(
                audit_entry(
                    self._clock.now(), "token.revoked", actor=actor.user_id, target=token_id, ip=ip
                )
            )
            await uow.commit()

    async def authenticate(self, secret: str, ip: str | None) -> StaffPrincipal:
        """The principal a bearer token acts as: its creator, narrowed to its scopes."""
        if not secret.startswith("bt_") or len(secret) > 200:
            raise NotAuthenticated("invalid API token")
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            token = await uow.api_tokens.get_by_hash(hash_token(secret))
            user = await uow.users.get(token.user_id) if token else None
            allowlist = await uow.security.get(SETTING_IP_ALLOWLIST) or []
            permissions = await resolve_permissions(uow, user.role) if user else frozenset()
        if token is None or user is None or token.revoked or user.disabled:
            raise NotAuthenticated("invalid API token")
        if token.expires_at <= now:
            raise NotAuthenticated("the API token has expired")
        if not ip_in(ip, allowlist):
            raise IpNotAllowed("API access is not allowed from this address")
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            async with self._uow() as uow:
                await uow.api_tokens.touch(token.id, now)
                await uow.audit.add(
                    audit_entry(now, "token.used", actor=token.user_id, target=token.id, ip=ip)
                )
                await uow.commit()
        return StaffPrincipal(
            user_id=user.id,
            name=user.name,
            role=user.role,
            scopes=frozenset(token.scopes),
            permissions=permissions,
        )
