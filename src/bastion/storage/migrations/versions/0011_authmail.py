"""Account recovery and e-mailed codes; TOTP secrets sealed at rest.

Revision ID: 0011
Revises: 0010

Adds ``staff_keys`` (the staff data key, wrapped by the KEK), ``password_resets``,
``email_codes`` and ``users.email_otp_enabled``, widens the TOTP columns for sealed
values, and seals every plaintext TOTP secret already stored. Sealing needs the KEK:
``bastion migrate`` (and ``serve``) hand the key store in as ``config.attributes["keys"]``
(an object with ``kek_id``, ``wrap`` and ``unwrap``). The ciphertext format is written
out here rather than imported, so this revision keeps producing what it produced on the
day it shipped: ``"e1:" + base64(nonce ‖ AES-256-GCM ciphertext ‖ tag)`` with associated
data ``"bastion/v1\\0users:<id>:<column>"`` (``security/envelope.py``).
"""

import base64
import os

import sqlalchemy as sa
from alembic import context, op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PREFIX = "e1:"
COLUMNS = ("totp_secret", "totp_pending")

users = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("totp_secret", sa.String),
    sa.column("totp_pending", sa.String),
)
staff_keys = sa.table(
    "staff_keys",
    sa.column("name", sa.String),
    sa.column("kek_id", sa.String),
    sa.column("wrapped", sa.LargeBinary),
)


def _ad(user_id: str, column: str) -> bytes:
    return b"bastion/v1\0" + f"users:{user_id}:{column}".encode()


def _staff_key(conn: sa.Connection, keys: object) -> bytes:
    row = conn.execute(
        sa.select(staff_keys.c.kek_id, staff_keys.c.wrapped).where(staff_keys.c.name == "staff")
    ).first()
    if row is not None:
        return bytes(keys.unwrap(row.kek_id, bytes(row.wrapped), "staff"))  # type: ignore[attr-defined]
    key = AESGCM.generate_key(bit_length=256)
    conn.execute(
        sa.insert(staff_keys).values(
            name="staff",
            kek_id=keys.kek_id,  # type: ignore[attr-defined]
            wrapped=keys.wrap(key, "staff"),  # type: ignore[attr-defined]
        )
    )
    return key


def _plain() -> sa.ColumnElement[bool]:
    return sa.or_(
        *(sa.and_(users.c[col].is_not(None), ~users.c[col].startswith(PREFIX)) for col in COLUMNS)
    )


def upgrade() -> None:
    keys = context.config.attributes.get("keys")
    # Checked before any DDL: SQLite does not roll DDL back, so refusing half-way would
    # leave a schema between revisions.
    if keys is None and op.get_bind().execute(sa.select(users.c.id).where(_plain())).first():
        raise RuntimeError(
            "sealing the stored TOTP secrets needs the key-encryption key: run `bastion migrate`"
        )
    op.create_table(
        "staff_keys",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("kek_id", sa.String(16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(40),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_password_resets_user", "password_resets", ["user_id"])
    op.create_table(
        "email_codes",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(40),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_email_codes_user", "email_codes", ["user_id", "purpose"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_otp_enabled", sa.Boolean, nullable=False, server_default="0")
        )
        for column in COLUMNS:
            batch.alter_column(column, type_=sa.String(200), existing_type=sa.String(64))
    _seal_existing(keys)


def _seal_existing(keys: object) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(users).where(_plain())).all()
    if not rows:
        return
    aead = AESGCM(_staff_key(conn, keys))
    for row in rows:
        values = {}
        for column in COLUMNS:
            value = getattr(row, column)
            if value is not None and not value.startswith(PREFIX):
                nonce = os.urandom(12)
                blob = nonce + aead.encrypt(nonce, value.encode(), _ad(row.id, column))
                values[column] = PREFIX + base64.b64encode(blob).decode("ascii")
        conn.execute(sa.update(users).where(users.c.id == row.id).values(**values))


def _unseal_existing() -> None:
    conn = op.get_bind()
    sealed = sa.or_(*(users.c[col].startswith(PREFIX) for col in COLUMNS))
    rows = conn.execute(sa.select(users).where(sealed)).all()
    if not rows:
        return
    keys = context.config.attributes.get("keys")
    if keys is None:
        raise RuntimeError("unsealing the TOTP secrets needs the key-encryption key")
    aead = AESGCM(_staff_key(conn, keys))
    for row in rows:
        values = {}
        for column in COLUMNS:
            value = getattr(row, column)
            if value is not None and value.startswith(PREFIX):
                blob = base64.b64decode(value[len(PREFIX) :])
                values[column] = aead.decrypt(blob[:12], blob[12:], _ad(row.id, column)).decode()
        conn.execute(sa.update(users).where(users.c.id == row.id).values(**values))


def downgrade() -> None:
    _unseal_existing()
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_otp_enabled")
        for column in COLUMNS:
            batch.alter_column(column, type_=sa.String(64), existing_type=sa.String(200))
    op.drop_table("email_codes")
    op.drop_table("password_resets")
    op.drop_table("staff_keys")
