"""Fill ``visitors.email_hmac`` for rows written before migration 0008.

Alembic revisions never import app code and the look-up key lives outside the database,
so the back-fill runs from the application: at every ``bastion migrate`` and server
start, in small transactions. It is idempotent (only rows with an e-mail and no hash),
and look-ups still open any row it has not reached (``storage/people.py``).
"""

from __future__ import annotations

from sqlalchemy import select, update

from bastion.domain.ports import KeyStore
from bastion.security.envelope import DecryptionFailed
from bastion.storage import tables as t
from bastion.storage.cipher import KeyCache, VisitorCipher
from bastion.storage.db import Database
from bastion.storage.repositories import email_hmac

BATCH = 200


async def backfill_email_hmac(db: Database, keys: KeyStore, batch: int = BATCH) -> int:
    """Hash the e-mail of every visitor row that lacks it; returns how many were filled."""
    filled = 0
    after = ""
    cache = KeyCache(size=batch)
    c = t.visitors.c
    while True:
        async with db.transaction(write=True) as conn:
            rows = (
                await conn.execute(
                    select(c.id, c.email)
                    .where(c.email.is_not(None), c.email_hmac.is_(None), c.id > after)
                    .order_by(c.id)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return filled
            cipher = VisitorCipher(conn, keys, cache)
            for row in rows:
                after = row.id
                try:
                    plain = await cipher.unseal(row.id, row.email, f"visitors:{row.id}:email")
                except DecryptionFailed:
                    continue  # erased or unreadable: nothing to look up
                digest = email_hmac(cipher, plain)
                if digest is not None:
                    await conn.execute(
                        update(t.visitors).where(c.id == row.id).values(email_hmac=digest)
                    )
                    filled += 1
            await conn.commit()
