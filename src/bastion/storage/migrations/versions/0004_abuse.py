"""Bans of visitors, addresses and ranges (abuse resistance).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor_id", sa.String(40), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("lifted_at", TS),
        sa.Column("lifted_by", sa.String(40)),
    )
    op.create_index("ix_bans_kind_target", "bans", ["kind", "target"])
    op.create_index("ix_bans_expires", "bans", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_bans_expires", table_name="bans")
    op.drop_index("ix_bans_kind_target", table_name="bans")
    op.drop_table("bans")
