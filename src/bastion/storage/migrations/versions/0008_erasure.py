"""Erasure: an HMAC look-up column for visitors' e-mail addresses.

Revision ID: 0008
Revises: 0007

Expand only. The column cannot be filled here: its key lives beside the KEK, outside
the database, and migrations never import app code. ``storage/backfill.py`` fills it
for existing rows at every ``bastion migrate`` and server start (and look-ups still
decrypt any row left without it), see docs/security.md "Erasure".
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visitors") as batch:
        batch.add_column(sa.Column("email_hmac", sa.String(64)))
    op.create_index("ix_visitors_email_hmac", "visitors", ["email_hmac"])


def downgrade() -> None:
    op.drop_index("ix_visitors_email_hmac", table_name="visitors")
    with op.batch_alter_table("visitors") as batch:
        batch.drop_column("email_hmac")
