"""Who is acting. Every domain entry point takes one and checks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bastion.domain.permissions import Perm


@dataclass(frozen=True)
class VisitorPrincipal:
    visitor_id: str
    widget_id: str

    @property
    def key(self) -> str:
        """Scope for command-id idempotency."""
        return f"v:{self.visitor_id}"


@dataclass(frozen=True)
class StaffPrincipal:
    user_id: str
    name: str
    role: str  # a built-in Role value or a custom role's name
    session_hash: str | None = None
    # An API token acts for its creator, narrowed to these permissions.
    scopes: frozenset[str] | None = None
    # The role's permissions, resolved at authentication (domain/roles.py). None: the
    # built-in role's, from code (a custom role name then grants nothing).
    permissions: frozenset[Perm] | None = None

    @property
    def key(self) -> str:
        return f"u:{self.user_id}"


Principal = VisitorPrincipal | StaffPrincipal
