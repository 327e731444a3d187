"""Scale-out: a per-agent cap on active chats.

Revision ID: 0003
Revises: 0002

``users.max_chats`` is nullable: NULL means the deployment's default
(``BASTION_AGENT_MAX_CHATS``), so existing rows need no backfill and old code that does
not know the column keeps working (expand only).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("max_chats", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("max_chats")
