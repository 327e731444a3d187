"""File bytes in the database: ``file_blobs`` holds the sealed blobs of the database
file store (``BASTION_FILE_STORE``), so every node of a cluster reads what any node wrote.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_blobs",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("blob", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("file_blobs")
