"""Passkeys (WebAuthn credentials of staff) and pending WebAuthn ceremonies.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(40),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("credential_id", sa.String(1400), nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("transports", sa.Text, nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
    )
    op.create_index("ix_passkeys_user", "passkeys", ["user_id"])
    op.create_table(
        "webauthn_challenges",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("challenge", sa.LargeBinary, nullable=False),
        sa.Column("user_id", sa.String(40)),
        sa.Column("session_hash", sa.String(64)),
        sa.Column("user_verification", sa.Boolean, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_webauthn_challenges_expires", "webauthn_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_webauthn_challenges_expires", table_name="webauthn_challenges")
    op.drop_table("webauthn_challenges")
    op.drop_index("ix_passkeys_user", table_name="passkeys")
    op.drop_table("passkeys")
