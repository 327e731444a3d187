"""Table definitions (SQLAlchemy Core). Migrations mirror these; they never import them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
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
    Index("ix_staff_sessions_user", "user_id"),
)

widgets = Table(
    "widgets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("allowed_origins", Text, nullable=False),  # JSON list
    Column("config", Text, nullable=False),  # JSON object
    Column("created_at", TS, nullable=False),
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
