"""Custom roles and canned responses.

Revision ID: 0007
Revises: 0006

Expand only. The four built-in roles get rows that reserve their names; their
permissions live in code (domain/permissions.py), so the column stays empty for them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    roles = op.create_table(
        "roles",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("permissions", sa.Text, nullable=False),
        sa.Column("builtin", sa.Boolean, nullable=False),
        sa.Column("created_at", TS),
        sa.Column("updated_at", TS),
    )
    op.bulk_insert(
        roles,
        [
            {"name": n, "permissions": "", "builtin": True}
            for n in ("owner", "admin", "supervisor", "agent")
        ],
    )
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("shortcut", sa.String(32), nullable=False, unique=True),
        sa.Column("title", sa.String(80), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column(
            "department_id",
            sa.String(40),
            sa.ForeignKey("departments.id", ondelete="CASCADE"),
        ),
        sa.Column("author_id", sa.String(40), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_canned_department", "canned_responses", ["department_id"])


def downgrade() -> None:
    op.drop_index("ix_canned_department", "canned_responses")
    op.drop_table("canned_responses")
    op.drop_table("roles")
