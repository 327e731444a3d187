"""Table definitions (SQLAlchemy Core). Migrations mirror these; they never import them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

TS = DateTime(timezone=True)

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("status", String(10), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    # Sealed under the staff data key, associated data naming the user (0011).
    Column("totp_secret", String(200)),
    Column("totp_pending", String(200)),
    Column("totp_last_step", BigInteger),
    Column("password_changed_at", TS),
    Column("max_chats", Integer),  # NULL: the deployment's default (0003)
    Column("email_otp_enabled", Boolean, nullable=False, server_default="0"),  # 0011
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("ip", String(64)),
    Column("user_agent", String(300)),
    Column("revoked", Boolean, nullable=False),
    Column("public_id", String(40)),
    Index("ix_staff_sessions_user", "user_id"),
    Index("ix_staff_sessions_public", "public_id", unique=True),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("used_at", TS),
    Index("ix_recovery_codes_user", "user_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(64), primary_key=True),  # hash of "acct:<email>" or "ip:<addr>"
    Column("count", Integer, nullable=False),
    Column("last_at", TS, nullable=False),
    Column("locked_until", TS),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("action", String(60), nullable=False),
    Column("actor", String(60)),
    Column("target", String(120)),
    Column("ip", String(64)),
    Column("details", Text, nullable=False),  # JSON object; never message text or secrets
    # The hash chain (0013, storage/auditchain.py): the entry's place and its HMAC over
    # its content and the previous entry's MAC. NULL on entries from before 0013.
    Column("seq", BigInteger),
    Column("mac", String(64)),
    Index("ix_audit_log_at", "at"),
    Index("ux_audit_log_seq", "seq", unique=True),
)

# The chain's head: one row (id 1), the last entry's seq and MAC; locked by each writer.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("mac", String(64), nullable=False),
)

security_settings = Table(
    "security_settings",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

identity_jtis = Table(
    "identity_jtis",
    metadata,
    Column("widget_id", String(40), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", TS, nullable=False),
)

widgets = Table(
    "widgets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("allowed_origins", Text, nullable=False),  # JSON list
    Column("config", Text, nullable=False),  # JSON object
    Column("created_at", TS, nullable=False),
    Column("department_id", String(40)),  # chats from this widget belong to it
)

visitors = Table(
    "visitors",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("widget_id", String(40), ForeignKey("widgets.id"), nullable=False),
    Column("name", Text),
    Column("email", Text),
    Column("fields", Text, nullable=False),  # JSON object
    Column("created_at", TS, nullable=False),
    Column("verified", Boolean, nullable=False, server_default="0"),
    Column("external_id", String(200)),
    # HMAC of the normalised e-mail under the look-up key kept beside the KEK (0008):
    # equality look-ups (GDPR export and erasure) without a plaintext column.
    Column("email_hmac", String(64)),
    Index("ix_visitors_email_hmac", "email_hmac"),
)

# One AES-256-GCM data key per visitor, wrapped by the KEK (never stored here). Deleting
# the row shreds everything sealed under it (0005).
visitor_keys = Table(
    "visitor_keys",
    metadata,
    Column(
        "visitor_id", String(40), ForeignKey("visitors.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("kek_id", String(16), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
)

visitor_tokens = Table(
    "visitor_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("visitor_id", String(40), ForeignKey("visitors.id", ondelete="CASCADE"), nullable=False),
    Column("widget_id", String(40), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Index("ix_visitor_tokens_visitor", "visitor_id"),
)

visitor_pages = Table(
    "visitor_pages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visitor_id", String(40), ForeignKey("visitors.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("referrer", Text),
    Column("created_at", TS, nullable=False),
    Index("ix_visitor_pages_visitor", "visitor_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("widget_id", String(40), ForeignKey("widgets.id"), nullable=False),
    Column("visitor_id", String(40), ForeignKey("visitors.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(10), nullable=False),
    Column("agent_id", String(40), ForeignKey("users.id")),
    Column("last_seq", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("accepted_at", TS),
    Column("closed_at", TS),
    Column("consent_version", String(40)),
    Column("rating", String(10)),
    Column("rating_comment", Text),
    Column("department_id", String(40)),  # NULL: every agent may take it
    Index("ix_conversations_state_created", "state", "created_at"),
    Index("ix_conversations_visitor", "visitor_id"),
    Index("ix_conversations_agent", "agent_id"),
)

events = Table(
    "events",
    metadata,
    Column(
        "conversation_id",
        String(40),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seq", Integer, primary_key=True),
    Column("type", String(20), nullable=False),
    Column("author_kind", String(10), nullable=False),
    Column("author_id", String(40)),
    Column("author_name", Text),
    Column("body", Text),
    Column("data", Text, nullable=False),  # JSON object
    Column("public_id", String(40)),
    Column("created_at", TS, nullable=False),
)

commands = Table(
    "commands",
    metadata,
    Column("principal", String(48), primary_key=True),
    Column("command_id", String(64), primary_key=True),
    Column("result", Text, nullable=False),  # JSON object
    Column("created_at", TS, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("scopes", Text, nullable=False),  # JSON list of permissions
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("last_used_at", TS),
    Column("revoked", Boolean, nullable=False),
)

# Who may read a conversation besides the queue: the assigned agent (until = NULL) and
# former assignees until a set time after the chat closed or moved away.
conversation_access = Table(
    "conversation_access",
    metadata,
    Column(
        "conversation_id",
        String(40),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("until", TS),
    Index("ix_conversation_access_user", "user_id"),
)

departments = Table(
    "departments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("created_at", TS, nullable=False),
    Column("retention_days", Integer),  # NULL: the deployment's default (0009)
)

user_departments = Table(
    "user_departments",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "department_id",
        String(40),
        ForeignKey("departments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

bans = Table(
    "bans",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(10), nullable=False),  # visitor | network
    Column("target", String(64), nullable=False),  # visitor id or normalised CIDR
    Column("reason", Text, nullable=False),
    Column("actor_id", String(40), nullable=False),  # who banned (kept if the user goes)
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("lifted_at", TS),
    Column("lifted_by", String(40)),
    Index("ix_bans_kind_target", "kind", "target"),
    Index("ix_bans_expires", "expires_at"),
)

passkeys = Table(
    "passkeys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # base64url of the authenticator's credential id (at most 1023 bytes by the spec).
    Column("credential_id", String(1400), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),  # COSE_Key; public, not a secret
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", Text, nullable=False),  # JSON list
    Column("name", String(60), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("last_used_at", TS),
    Index("ix_passkeys_user", "user_id"),
)

webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the ceremony token
    Column("kind", String(10), nullable=False),  # register | login
    Column("challenge", LargeBinary, nullable=False),
    Column("user_id", String(40)),
    Column("session_hash", String(64)),
    Column("user_verification", Boolean, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_webauthn_challenges_expires", "expires_at"),
)

roles = Table(
    "roles",
    metadata,
    Column("name", String(20), primary_key=True),
    # Sorted permission values, space-separated. Empty for built-ins: theirs are in code.
    Column("permissions", Text, nullable=False),
    Column("builtin", Boolean, nullable=False),
    Column("created_at", TS),
    Column("updated_at", TS),
)

canned_responses = Table(
    "canned_responses",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("shortcut", String(32), nullable=False, unique=True),
    Column("title", String(80), nullable=False),
    # Staff-written templates, not visitor data: stored in clear (docs/security.md).
    Column("body", Text, nullable=False),
    Column(
        "department_id",
        String(40),
        ForeignKey("departments.id", ondelete="CASCADE"),
    ),  # NULL: global
    Column("author_id", String(40), ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_canned_department", "department_id"),
)

# The last run of each periodic job, whichever node ran it (0009).
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
    Column("ok", Boolean),
    Column("error", String(80)),  # the exception's class name only, never its message
)

# Files shared in conversations (0010). The bytes are in the file store, sealed under the
# visitor's data key; ``name`` is sealed here. Only scanned, clean files get a row.
files = Table(
    "files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "conversation_id",
        String(40),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("visitor_id", String(40), ForeignKey("visitors.id", ondelete="CASCADE"), nullable=False),
    Column("uploader_kind", String(10), nullable=False),
    Column("uploader_id", String(40), nullable=False),
    Column("name", Text, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("state", String(10), nullable=False),
    Column("seq", Integer),
    Column("created_at", TS, nullable=False),
    Index("ix_files_conversation", "conversation_id"),
    Index("ix_files_visitor", "visitor_id"),
)

# The database file store's blobs (0012; BASTION_FILE_STORE): what the file repository
# hands it, already sealed. Keyed by file id, but with no foreign key: a blob is written
# in its own transaction before its ``files`` row and deleted after it.
file_blobs = Table(
    "file_blobs",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("blob", LargeBinary, nullable=False),
    Column("created_at", TS, nullable=False),
)

# Data keys for staff secrets (TOTP), wrapped by the KEK like visitor keys; one row,
# name "staff" (0011).
staff_keys = Table(
    "staff_keys",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("kek_id", String(16), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("used_at", TS),
    Index("ix_password_resets_user", "user_id"),
)

email_codes = Table(
    "email_codes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(10), nullable=False),  # login | enable
    Column("code_hash", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", TS),
    Index("ix_email_codes_user", "user_id", "purpose"),
)
