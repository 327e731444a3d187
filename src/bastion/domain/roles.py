"""Custom roles: named permission sets beside the four fixed built-ins.

Rules (docs/security.md, "Custom roles"):
- built-in roles (owner, admin, supervisor, agent) cannot be edited, deleted or shadowed;
- nobody grants, or takes away, a permission they do not hold themselves: an actor may
  create, edit, delete or assign a role only when every permission involved is theirs;
- owner powers (creating, changing or demoting owners) belong to the built-in owner
  role, never to a permission, so no custom role can carry them;
- a change to a role's permissions ends the sessions of every user holding it (like a
  role change does), so no session outlives a privilege change;
- a role still assigned cannot be deleted (``role_in_use``).
"""

from __future__ import annotations

import re
from typing import NotRequired, TypedDict

from bastion.domain.auth import audit_entry
from bastion.domain.errors import (
    BuiltinRole,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RoleInUse,
)
from bastion.domain.events import STAFF_CHANNEL, sessions_ended_notice
from bastion.domain.models import RoleDef
from bastion.domain.permissions import (
    BUILTIN_ROLES,
    Perm,
    allowed,
    builtin_permissions,
    parse_perms,
    permissions_of,
)
from bastion.domain.ports import Clock, ReleaseChats, UnitOfWork, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,19}$")


async def resolve_permissions(uow: UnitOfWork, role: str) -> frozenset[Perm]:
    """The permissions a role name grants: from code for a built-in, from the roles table
    for a custom role, nothing for an unknown name (fail closed).
    """
    if role in BUILTIN_ROLES:
        return builtin_permissions(role)
    found = await uow.roles.get(role)
    return parse_perms(found.permissions) if found is not None else frozenset()


async def check_role_exists(uow: UnitOfWork, role: str) -> None:
    if role not in BUILTIN_ROLES and await uow.roles.get(role) is None:
        raise NotFound("no such role", field="role")


def check_holds(actor: StaffPrincipal | None, perms: frozenset[Perm], what: str) -> None:
    """``actor`` must hold every permission in ``perms`` (None: the local operator)."""
    if actor is None:
        return
    missing = perms - permissions_of(actor)
    if missing:
        names = ", ".join(sorted(p.value for p in missing))
        raise Forbidden(
            f"you cannot {what} a permission you do not hold: {names}", field="permissions"
        )


def check_permissions(values: list[str]) -> frozenset[Perm]:
    known = {p.value for p in Perm}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInput(f"unknown permission: {', '.join(unknown)}", field="permissions")
    return frozenset(Perm(v) for v in values)


class RoleSummary(TypedDict):
    name: str
    builtin: bool
    permissions: list[str]
    users: NotRequired[int]


def role_summary(role: RoleDef, users: int | None = None) -> RoleSummary:
    """A role as transports show it; ``users`` (how many hold it) when known."""
    perms = builtin_permissions(role.name) if role.builtin else parse_perms(role.permissions)
    out = RoleSummary(
        name=role.name, builtin=role.builtin, permissions=sorted(p.value for p in perms)
    )
    if users is not None:
        out["users"] = users
    return out


class RoleService:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, *, release_chats: ReleaseChats | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        # Holders who lose chat.handle give their active chats back to the queue.
        self._release_chats = release_chats

    async def permissions_for(self, role: str) -> frozenset[Perm]:
        """What ``role`` grants now (operator and test use; no actor check)."""
        async with self._uow(write=False) as uow:
            return await resolve_permissions(uow, role)

    @staticmethod
    def _check_manager(actor: StaffPrincipal | None) -> None:
        if actor is not None and not allowed(actor, Perm.ROLES_MANAGE):
            raise Forbidden("your role cannot manage roles")

    async def list_all(self, actor: StaffPrincipal | None) -> list[tuple[RoleDef, int]]:
        """Every role (built-ins first) with how many users hold it. Readable by those who
        manage roles or users (the user editor offers the roles).
        """
        if actor is not None and not (
            allowed(actor, Perm.ROLES_MANAGE) or allowed(actor, Perm.USERS_MANAGE)
        ):
            raise Forbidden("your role cannot see roles")
        async with self._uow(write=False) as uow:
            roles = await uow.roles.list_all()
            counts = await uow.roles.user_counts()
        builtin = [RoleDef(name=n, permissions=frozenset(), builtin=True) for n in _BUILTIN_ORDER]
        custom = sorted((r for r in roles if not r.builtin), key=lambda r: r.name)
        return [(r, counts.get(r.name, 0)) for r in [*builtin, *custom]]

    async def create(
        self, actor: StaffPrincipal | None, name: str, permissions: list[str], ip: str | None = None
    ) -> RoleDef:
        self._check_manager(actor)
        name = name.strip().lower()
        if name in BUILTIN_ROLES:
            raise BuiltinRole("this name belongs to a built-in role", field="name")
        if not ROLE_NAME.match(name):
            raise InvalidInput(
                "a role name is 2 to 20 characters: a-z, 0-9, - and _, starting with a letter",
                field="name",
            )
        perms = check_permissions(permissions)
        check_holds(actor, perms, "grant")
        now = self._clock.now()
        role = RoleDef(
            name=name,
            permissions=frozenset(p.value for p in perms),
            builtin=False,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            if await uow.roles.get(name) is not None:
                raise Conflict("a role with this name exists", field="name")
            await uow.roles.add(role)
            await uow.audit.add(
                audit_entry(
                    now,
                    "role.created",
                    actor=actor.user_id if actor else "cli",
                    target=name,
                    ip=ip,
                    permissions=sorted(role.permissions),
                )
            )
            await uow.commit()
        return role

    async def _custom(self, uow: UnitOfWork, name: str) -> RoleDef:
        if name in BUILTIN_ROLES:
            raise BuiltinRole("built-in roles cannot be changed", field="name")
        role = await uow.roles.get(name)
        if role is None or role.builtin:
            raise NotFound("no such role")
        return role

    async def update(
        self, actor: StaffPrincipal | None, name: str, permissions: list[str], ip: str | None = None
    ) -> RoleDef:
        """Replace a custom role's permissions; its holders' sessions end."""
        self._check_manager(actor)
        perms = check_permissions(permissions)
        now = self._clock.now()
        async with self._uow() as uow:
            old = await self._custom(uow, name)
            before = parse_perms(old.permissions)
            # Granting and taking away both need the permission: a lesser admin can
            # neither raise nor cripple a role more powerful than their own.
            check_holds(actor, perms - before, "grant")
            check_holds(actor, before - perms, "take away")
            if actor is not None and await self._holds_role(uow, actor, name):
                raise Forbidden("ask another admin to change your own role")
            await uow.roles.update(name, frozenset(p.value for p in perms), now)
            ended = 0
            holders: list[str] = []
            if perms != before:
                holders = await uow.roles.users_with(name)
                for user_id in holders:
                    ended += await uow.sessions.revoke_all(user_id)
                uow.on_commit(STAFF_CHANNEL, sessions_ended_notice(holders))
            await uow.audit.add(
                audit_entry(
                    now,
                    "role.updated",
                    actor=actor.user_id if actor else "cli",
                    target=name,
                    ip=ip,
                    added=sorted(p.value for p in perms - before),
                    removed=sorted(p.value for p in before - perms),
                    sessions_ended=ended,
                )
            )
            await uow.commit()
        if Perm.CHAT_HANDLE in before - perms and self._release_chats is not None:
            await self._release_chats(holders)
        return RoleDef(
            name=name,
            permissions=frozenset(p.value for p in perms),
            builtin=False,
            created_at=old.created_at,
            updated_at=now,
        )

    async def delete(self, actor: StaffPrincipal | None, name: str, ip: str | None = None) -> None:
        """Refused (``role_in_use``) while any user holds the role."""
        self._check_manager(actor)
        async with self._uow() as uow:
            role = await self._custom(uow, name)
            check_holds(actor, parse_perms(role.permissions), "take away")
            holders = await uow.roles.users_with(name)
            if holders:
                raise RoleInUse(
                    f"{len(holders)} user(s) still have this role; give them another first",
                    field="name",
                )
            await uow.roles.delete(name)
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "role.deleted",
                    actor=actor.user_id if actor else "cli",
                    target=name,
                    ip=ip,
                )
            )
            await uow.commit()

    @staticmethod
    async def _holds_role(uow: UnitOfWork, actor: StaffPrincipal, name: str) -> bool:
        user = await uow.users.get(actor.user_id)
        return user is not None and user.role == name


_BUILTIN_ORDER = ("owner", "admin", "supervisor", "agent")
