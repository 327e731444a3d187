"""Domain records. Plain dataclasses: storage maps rows to them, transports render them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ConvState(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class EventType(StrEnum):
    MSG = "msg"
    NOTE = "note"
    STATE = "conv.state"
    RATING = "rating"
    FILE = "file"


# Event types a visitor never receives.
STAFF_ONLY_EVENTS = frozenset({EventType.NOTE})


@dataclass(frozen=True)
class Widget:
    id: str
    name: str
    allowed_origins: tuple[str, ...]
    config: dict[str, Any]
    created_at: datetime
    department_id: str | None = None


@dataclass(frozen=True)
class Visitor:
    id: str
    widget_id: str
    name: str | None
    email: str | None
    created_at: datetime
    fields: dict[str, str] = field(default_factory=dict)
    verified: bool = False
    external_id: str | None = None


@dataclass(frozen=True)
class SitePage:
    """A visitor's latest page view, for staff's "on the site now" list."""

    visitor_id: str
    url: str
    title: str | None
    at: datetime
    # The department of the widget the visitor came through (staff outside it do not see them).
    department_id: str | None


@dataclass(frozen=True)
class VisitorToken:
    token_hash: str
    visitor_id: str
    widget_id: str
    expires_at: datetime
    revoked: bool


# What a repository puts in ``User.totp_secret`` or ``totp_pending`` when the stored value
# does not open (altered, copied from another account's row, or its key is unreadable).
# The account keeps its second step and no code can match it: fail closed. It may be
# written back (``set_totp``), to keep a broken secret in place while a new one is set up.
UNREADABLE_SECRET = "!unreadable"  # noqa: S105 - a marker, never a real secret (not base32)


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    role: str  # a built-in ``Role`` value or the name of a custom role
    password_hash: str
    status: AgentStatus
    created_at: datetime
    disabled: bool = False
    totp_secret: str | None = None
    totp_pending: str | None = None
    totp_last_step: int | None = None
    # E-mailed one-time codes accepted as the second step (docs/security.md).
    email_otp_enabled: bool = False

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None

    @property
    def totp_unreadable(self) -> bool:
        """TOTP is on but its stored secret does not open: no app code can be checked."""
        return self.totp_secret == UNREADABLE_SECRET

    @property
    def totp_usable(self) -> bool:
        """TOTP is on and its secret opens: the app counts as a factor the user still has
        when another one is removed (an unreadable one leaves recovery codes only).
        """
        return self.totp_enabled and not self.totp_unreadable

    # Active chats this agent may hold; None means the deployment's default.
    max_chats: int | None = None


@dataclass(frozen=True)
class StaffSession:
    id_hash: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    revoked: bool = False
    public_id: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """A security event. ``details`` never holds message text, passwords or tokens."""

    at: datetime
    action: str
    actor: str | None
    target: str | None
    ip: str | None
    details: dict[str, Any] = field(default_factory=dict)
    # Its place in the hash chain, once stored (None before, and on entries from before it).
    seq: int | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    widget_id: str
    visitor_id: str
    state: ConvState
    agent_id: str | None
    last_seq: int
    created_at: datetime
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    consent_version: str | None = None
    department_id: str | None = None


@dataclass(frozen=True)
class Event:
    """One entry of a conversation's log; ``seq`` is gap-free per conversation."""

    conversation_id: str
    seq: int
    type: EventType
    author_kind: str
    author_id: str | None
    author_name: str | None
    body: str | None
    data: dict[str, Any]
    public_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class ApiToken:
    """An integration's credential: acts for ``user_id`` within ``scopes``."""

    id: str
    token_hash: str
    name: str
    user_id: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    created_at: datetime
    # Days a closed conversation is kept; None: the deployment's default, 0: forever.
    retention_days: int | None = None


class BanKind(StrEnum):
    VISITOR = "visitor"
    NETWORK = "network"  # one address (a /32 or /128) or a CIDR range


@dataclass(frozen=True)
class Ban:
    """A ban of a visitor id or a network; active until it expires or is lifted."""

    id: str
    kind: BanKind
    target: str
    reason: str
    actor_id: str
    created_at: datetime
    expires_at: datetime
    lifted_at: datetime | None = None
    lifted_by: str | None = None


@dataclass(frozen=True)
class Passkey:
    """A WebAuthn credential of a staff member. ``credential_id`` is base64url (no padding);
    ``public_key`` is the COSE key the authenticator gave at registration.
    """

    id: str
    user_id: str
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]
    name: str
    created_at: datetime
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class WebAuthnChallenge:
    """A pending ceremony: its random challenge, whom it is for, and until when.

    ``kind`` is "register" (bound to ``user_id`` and the session that asked) or "login"
    (``user_id`` set for a second step after the password, None for passwordless).
    """

    id_hash: str
    kind: str
    challenge: bytes
    expires_at: datetime
    user_id: str | None = None
    session_hash: str | None = None
    user_verification: bool = False


@dataclass(frozen=True)
class RoleDef:
    """A role: the four built-ins (permissions fixed in code) or a custom permission set."""

    name: str
    permissions: frozenset[str]
    builtin: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CannedResponse:
    """A reply template staff insert into the composer. ``department_id`` None: global."""

    id: str
    shortcut: str
    title: str
    body: str
    department_id: str | None
    author_id: str | None
    created_at: datetime
    updated_at: datetime


class FileState(StrEnum):
    # Only clean files are stored: infected ones and unscanned ones are refused at
    # upload. The column exists so a later asynchronous scan can add "pending".
    CLEAN = "clean"


@dataclass(frozen=True)
class StoredFile:
    """A file shared in a conversation. Its bytes live in the file store, sealed under
    the conversation's visitor's data key; ``name`` is sealed in the database.
    """

    id: str
    conversation_id: str
    visitor_id: str  # whose data key seals it (the conversation's visitor)
    uploader_kind: str  # visitor | agent
    uploader_id: str
    name: str
    content_type: str
    size: int
    state: FileState
    created_at: datetime
    seq: int | None = None  # the conversation event that announced it


@dataclass(frozen=True)
class OutgoingMail:
    """One plain-text e-mail. Bodies may hold a link or code: never log them."""

    to: str
    subject: str
    body: str = field(repr=False)


@dataclass(frozen=True)
class PasswordReset:
    """A reset link's token, kept only as its hash; single use, short-lived."""

    token_hash: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class EmailCode:
    """An e-mailed one-time code (sign-in, or confirming e-mail as a factor), hashed."""

    id: str
    user_id: str
    purpose: str  # "login" | "enable"
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None
