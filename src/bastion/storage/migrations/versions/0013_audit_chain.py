"""The audit log's hash chain: ``audit_log.seq`` and ``audit_log.mac``, and the chain's
head (``audit_head``, one row). Entries written before this revision keep NULL in both:
``bastion audit verify`` counts them as outside the chain (storage/auditchain.py).

With the key store at hand (``bastion migrate`` and ``serve`` pass it, as for 0011) the
audit data key is made here too, a ``staff_keys`` row named ``audit`` wrapped by the
KEK, so no running unit of work has to make it; without, the first audit entry makes it.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import context, op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("seq", sa.BigInteger))
    op.add_column("audit_log", sa.Column("mac", sa.String(64)))
    op.create_index("ux_audit_log_seq", "audit_log", ["seq"], unique=True)
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "mac": GENESIS}])
    keys = context.config.attributes.get("keys")
    staff_keys = sa.table(
        "staff_keys",
        sa.column("name", sa.String),
        sa.column("kek_id", sa.String),
        sa.column("wrapped", sa.LargeBinary),
    )
    conn = op.get_bind()
    made = conn.execute(sa.select(staff_keys.c.name).where(staff_keys.c.name == "audit")).first()
    if keys is not None and made is None:
        key = AESGCM.generate_key(bit_length=256)
        conn.execute(
            sa.insert(staff_keys).values(
                name="audit",
                kek_id=keys.kek_id,
                wrapped=keys.wrap(key, "audit"),
            )
        )


def downgrade() -> None:
    op.execute("DELETE FROM staff_keys WHERE name = 'audit'")
    op.drop_table("audit_head")
    op.drop_index("ux_audit_log_seq", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("mac")
        batch.drop_column("seq")
