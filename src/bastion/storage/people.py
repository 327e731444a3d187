"""Everything stored about one visitor, found by e-mail, read for export, or erased.

Look-ups use ``visitors.email_hmac`` (a keyed hash; the key lives beside the KEK). Rows
that do not have it yet (written before 0008 and not back-filled) are opened and compared
one by one, so a person is never missed because an index lagged behind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.security.envelope import DecryptionFailed, normalise_email
from bastion.storage import tables as t
from bastion.storage.cipher import VisitorCipher
from bastion.storage.repositories import email_hmac, utc


class SqlPersonRepo:
    def __init__(self, conn: AsyncConnection, cipher: VisitorCipher) -> None:
        self._c = conn
        self._cipher = cipher

    async def ids_by_email(self, email: str) -> list[str]:
        wanted = normalise_email(email)
        digest = email_hmac(self._cipher, wanted)
        if digest is None:
            return []
        found = await self.ids_by_email_hmac(digest)
        c = t.visitors.c
        rows = await self._c.execute(
            select(c.id, c.email).where(c.email.is_not(None), c.email_hmac.is_(None))
        )
        for row in rows.all():
            try:
                plain = await self._cipher.unseal(row.id, row.email, f"visitors:{row.id}:email")
            except DecryptionFailed:
                continue  # its key is gone: nothing readable is left of it
            if plain is not None and normalise_email(plain) == wanted:
                found.append(row.id)
        return sorted(set(found))

    async def ids_by_email_hmac(self, digest: str) -> list[str]:
        c = t.visitors.c
        rows = await self._c.execute(select(c.id).where(c.email_hmac == digest).order_by(c.id))
        return [r.id for r in rows]

    async def existing(self, visitor_ids: list[str]) -> list[str]:
        if not visitor_ids:
            return []
        c = t.visitors.c
        rows = await self._c.execute(select(c.id).where(c.id.in_(visitor_ids)).order_by(c.id))
        return [r.id for r in rows]

    async def pages(self, visitor_id: str) -> list[dict[str, Any]]:
        c = t.visitor_pages.c
        rows = await self._c.execute(
            select(c.url, c.title, c.referrer, c.created_at)
            .where(c.visitor_id == visitor_id)
            .order_by(c.id)
        )
        ad = f"visitor_pages:{visitor_id}"
        out = []
        for r in rows.all():
            at: datetime | None = utc(r.created_at)
            out.append(
                {
                    "url": await self._cipher.unseal(visitor_id, r.url, ad + ":url"),
                    "title": await self._cipher.unseal(visitor_id, r.title, ad + ":title"),
                    "referrer": await self._cipher.unseal(visitor_id, r.referrer, ad + ":referrer"),
                    "at": at.isoformat() if at else None,
                }
            )
        return out

    async def erase(self, visitor_id: str) -> dict[str, int]:
        """Delete the visitor's data key first (crypto-shredding), then every row of theirs.

        Counts per kind are returned for the audit log. Conversations have exactly one
        visitor, so all of the visitor's conversations go, with their events and access
        grants. Idempotency records of the visitor's commands go too (they can hold a
        redacted ack body).
        """
        self._cipher.forget(visitor_id)
        conv_ids = select(t.conversations.c.id).where(t.conversations.c.visitor_id == visitor_id)
        counts: dict[str, int] = {}

        async def gone(name: str, statement: Any) -> None:
            result = await self._c.execute(statement)
            counts[name] = int(result.rowcount or 0)

        await gone(
            "data_keys",
            delete(t.visitor_keys).where(t.visitor_keys.c.visitor_id == visitor_id),
        )
        events = await self._c.execute(
            select(func.count())
            .select_from(t.events)
            .where(t.events.c.conversation_id.in_(conv_ids))
        )
        counts["events"] = int(events.scalar_one())
        await self._c.execute(delete(t.events).where(t.events.c.conversation_id.in_(conv_ids)))
        await self._c.execute(
            delete(t.conversation_access).where(
                t.conversation_access.c.conversation_id.in_(conv_ids)
            )
        )
        await gone(
            "conversations",
            delete(t.conversations).where(t.conversations.c.visitor_id == visitor_id),
        )
        await gone(
            "pages", delete(t.visitor_pages).where(t.visitor_pages.c.visitor_id == visitor_id)
        )
        await gone(
            "tokens", delete(t.visitor_tokens).where(t.visitor_tokens.c.visitor_id == visitor_id)
        )
        await gone(
            "commands", delete(t.commands).where(t.commands.c.principal == f"v:{visitor_id}")
        )
        await gone("visitors", delete(t.visitors).where(t.visitors.c.id == visitor_id))
        return counts
