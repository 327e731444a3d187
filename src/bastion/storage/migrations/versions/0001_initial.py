"""Initial schema: staff, sessions, widgets, visitors, conversations, events, commands.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(300)),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_staff_sessions_user", "staff_sessions", ["user_id"])
    op.create_table(
        "widgets",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("allowed_origins", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "visitors",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("widget_id", sa.String(40), sa.ForeignKey("widgets.id"), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "visitor_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "visitor_id",
            sa.String(40),
            sa.ForeignKey("visitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("widget_id", sa.String(40), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_visitor_tokens_visitor", "visitor_tokens", ["visitor_id"])
    op.create_table(
        "visitor_pages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "visitor_id",
            sa.String(40),
            sa.ForeignKey("visitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("referrer", sa.Text),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_visitor_pages_visitor", "visitor_pages", ["visitor_id"])
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("widget_id", sa.String(40), sa.ForeignKey("widgets.id"), nullable=False),
        sa.Column(
            "visitor_id",
            sa.String(40),
            sa.ForeignKey("visitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("agent_id", sa.String(40), sa.ForeignKey("users.id")),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("accepted_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("consent_version", sa.String(40)),
        sa.Column("rating", sa.String(10)),
        sa.Column("rating_comment", sa.Text),
    )
    op.create_index("ix_conversations_state_created", "conversations", ["state", "created_at"])
    op.create_index("ix_conversations_visitor", "conversations", ["visitor_id"])
    op.create_index("ix_conversations_agent", "conversations", ["agent_id"])
    op.create_table(
        "events",
        sa.Column(
            "conversation_id",
            sa.String(40),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("author_kind", sa.String(10), nullable=False),
        sa.Column("author_id", sa.String(40)),
        sa.Column("author_name", sa.Text),
        sa.Column("body", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("public_id", sa.String(40)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "commands",
        sa.Column("principal", sa.String(48), primary_key=True),
        sa.Column("command_id", sa.String(64), primary_key=True),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "commands",
        "events",
        "conversations",
        "visitor_pages",
        "visitor_tokens",
        "visitors",
        "widgets",
        "staff_sessions",
        "users",
    ):
        op.drop_table(name)
