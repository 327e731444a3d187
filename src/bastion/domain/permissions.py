"""Role → permission matrix, and ``allowed``: THE permission check.

Built-in roles get their permissions from this module (an upgrade that adds a permission
reaches them without a data migration); custom roles are permission sets stored in the
``roles`` table and resolved to a principal's ``permissions`` when it authenticates
(``domain/roles.py``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from bastion.domain.models import Role


class Perm(StrEnum):
    CHAT_HANDLE = "chat.handle"  # see the queue, accept, reply, close own chats
    CHAT_VIEW_ALL = "chat.view_all"  # read any conversation (supervision; audited later)
    CHAT_MANAGE_ALL = "chat.manage_all"  # close or transfer anyone's conversation
    WIDGETS_MANAGE = "widgets.manage"
    USERS_MANAGE = "users.manage"
    TOKENS_MANAGE = "tokens.manage"  # create API tokens for integrations
    VISITORS_BAN = "visitors.ban"  # ban and unban visitors, IPs and ranges
    ROLES_MANAGE = "roles.manage"  # create, edit and delete custom roles
    CANNED_MANAGE = "canned.manage"  # create, edit and delete canned responses (all departments)
    GDPR = "privacy.gdpr"  # export and erase everything stored about a person


_AGENT = frozenset({Perm.CHAT_HANDLE, Perm.VISITORS_BAN})
_SUPERVISOR = _AGENT | {Perm.CHAT_VIEW_ALL, Perm.CHAT_MANAGE_ALL, Perm.CANNED_MANAGE}
_ADMIN = _SUPERVISOR | {
    Perm.WIDGETS_MANAGE,
    Perm.USERS_MANAGE,
    Perm.TOKENS_MANAGE,
    Perm.ROLES_MANAGE,
    Perm.GDPR,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: frozenset(_ADMIN),
}

BUILTIN_ROLES = frozenset(r.value for r in Role)


def builtin_permissions(role: str) -> frozenset[Perm]:
    """The permissions of a built-in role name; empty for any other name (fail closed)."""
    return ROLE_PERMISSIONS[Role(role)] if role in BUILTIN_ROLES else frozenset()


def parse_perms(values: frozenset[str] | set[str] | list[str]) -> frozenset[Perm]:
    """Known permissions among ``values``; unknown ones (from a newer version) are dropped."""
    known = {p.value for p in Perm}
    return frozenset(Perm(v) for v in values if v in known)


class _Actor(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def scopes(self) -> frozenset[str] | None: ...
    @property
    def permissions(self) -> frozenset[Perm] | None: ...


def permissions_of(actor: _Actor) -> frozenset[Perm]:
    """What the actor may do: its resolved permission set, narrowed by API-token scopes.

    A principal built without resolved permissions gets its built-in role's (a custom role
    name then resolves to nothing: fail closed).
    """
    perms = actor.permissions if actor.permissions is not None else builtin_permissions(actor.role)
    if actor.scopes is not None:
        perms = frozenset(p for p in perms if p.value in actor.scopes)
    return perms


def allowed(actor: _Actor, perm: Perm) -> bool:
    """The actor's role grants ``perm`` and, for an API token, its scopes include it."""
    return perm in permissions_of(actor)
