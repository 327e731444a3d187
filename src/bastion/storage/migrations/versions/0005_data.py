"""Data protection: wrapped per-visitor data keys.

Revision ID: 0005
Revises: 0004

Expand only: new rows are sealed by the repositories; rows written before this revision
stay readable as plaintext (values without the ``e1:`` prefix) until they are rewritten.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visitor_keys",
        sa.Column(
            "visitor_id",
            sa.String(40),
            sa.ForeignKey("visitors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kek_id", sa.String(16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("visitor_keys")
