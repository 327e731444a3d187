"""Role → permission matrix. The seam for custom roles and departments (issue: access control)."""

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
    GDPR = "privacy.gdpr"  # export and erase everything stored about a person


_AGENT = frozenset({Perm.CHAT_HANDLE, Perm.VISITORS_BAN})
_SUPERVISOR = _AGENT | {Perm.CHAT_VIEW_ALL, Perm.CHAT_MANAGE_ALL}
_ADMIN = _SUPERVISOR | {
    Perm.WIDGETS_MANAGE,
    Perm.USERS_MANAGE,
    Perm.TOKENS_MANAGE,
    Perm.GDPR,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: frozenset(_ADMIN),
}


def has_perm(role: Role, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS[role]


class _Actor(Protocol):
    @property
    def role(self) -> Role: ...
    @property
    def scopes(self) -> frozenset[str] | None: ...


def allowed(actor: _Actor, perm: Perm) -> bool:
    """The actor's role grants ``perm`` and, for an API token, its scopes include it."""
    return has_perm(actor.role, perm) and (actor.scopes is None or perm.value in actor.scopes)
