"""Access control: 2FA, recovery codes, lockout, session ids, audit log, security
settings, verified visitor identity.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as b:
        b.add_column(sa.Column("totp_secret", sa.String(64)))
        b.add_column(sa.Column("totp_pending", sa.String(64)))
        b.add_column(sa.Column("totp_last_step", sa.BigInteger))
        b.add_column(sa.Column("password_changed_at", TS))
    with op.batch_alter_table("staff_sessions") as b:
        b.add_column(sa.Column("public_id", sa.String(40)))
    op.create_index("ix_staff_sessions_public", "staff_sessions", ["public_id"], unique=True)
    op.create_table(
        "recovery_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("used_at", TS),
    )
    op.create_index("ix_recovery_codes_user", "recovery_codes", ["user_id"])
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("locked_until", TS),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("actor", sa.String(60)),
        sa.Column("target", sa.String(120)),
        sa.Column("ip", sa.String(64)),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "security_settings",
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    with op.batch_alter_table("visitors") as b:
        b.add_column(sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("external_id", sa.String(200)))
    op.create_table(
        "departments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "user_departments",
        sa.Column(
            "user_id",
            sa.String(40),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "department_id",
            sa.String(40),
            sa.ForeignKey("departments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    with op.batch_alter_table("widgets") as b:
        b.add_column(sa.Column("department_id", sa.String(40)))
    with op.batch_alter_table("conversations") as b:
        b.add_column(sa.Column("department_id", sa.String(40)))
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column(
            "user_id", sa.String(40), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "conversation_access",
        sa.Column(
            "conversation_id",
            sa.String(40),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.String(40),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("until", TS),
    )
    op.create_index("ix_conversation_access_user", "conversation_access", ["user_id"])
    op.create_table(
        "identity_jtis",
        sa.Column("widget_id", sa.String(40), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("identity_jtis")
    op.drop_table("conversation_access")
    op.drop_table("api_tokens")
    with op.batch_alter_table("conversations") as b:
        b.drop_column("department_id")
    with op.batch_alter_table("widgets") as b:
        b.drop_column("department_id")
    op.drop_table("user_departments")
    op.drop_table("departments")
    with op.batch_alter_table("visitors") as b:
        b.drop_column("external_id")
        b.drop_column("verified")
    op.drop_table("security_settings")
    op.drop_table("audit_log")
    op.drop_table("login_failures")
    op.drop_table("recovery_codes")
    op.drop_index("ix_staff_sessions_public", "staff_sessions")
    with op.batch_alter_table("staff_sessions") as b:
        b.drop_column("public_id")
    with op.batch_alter_table("users") as b:
        b.drop_column("password_changed_at")
        b.drop_column("totp_last_step")
        b.drop_column("totp_pending")
        b.drop_column("totp_secret")
