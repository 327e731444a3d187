"""Periodic jobs and retention: the last run of each job, and retention per department.

Revision ID: 0009
Revises: 0008

``job_runs`` holds one row per job name: when it last started (any node), so a node that
restarts does not run a job again before it is due. ``departments.retention_days`` is
nullable: NULL means the deployment's default (``BASTION_RETENTION_DAYS``), so existing
rows need no backfill (expand only).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("ok", sa.Boolean),
        sa.Column("error", sa.String(80)),
    )
    op.add_column("departments", sa.Column("retention_days", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("retention_days")
    op.drop_table("job_runs")
