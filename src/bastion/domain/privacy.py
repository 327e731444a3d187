"""Visitors' rights: export everything stored about a person, or erase it.

A person is found by the e-mail address they gave (pre-chat field or verified identity),
through the keyed-hash look-up column; every visitor record with that address is theirs.

Erasure order, chosen so that a failure never un-erases anyone: the ledger entry is
written and fsynced first (beside the keys, outside the database), then the visitor's
data key and rows are deleted in one transaction, then the database files are scrubbed
(WAL checkpoint / VACUUM). If the transaction fails after the ledger entry, the person
is still there and the admin sees an error; a later restore would erase them, which is
what was asked. Audit entries carry counts, never content.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from bastion.domain.auth import audit_entry
from bastion.domain.errors import Forbidden, InvalidInput, NotFound
from bastion.domain.events import ERASURES_CHANNEL, STAFF_CHANNEL, iso, visitor_channel
from bastion.domain.models import Event
from bastion.domain.permissions import Perm, allowed
from bastion.domain.plaintext import check_plain
from bastion.domain.ports import Clock, ErasureLedger, Scrubber, UnitOfWork, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal

MAX_EMAIL_CHARS = 254
MAX_REASON_CHARS = 500
EXPORT_EVENTS_LIMIT = 1_000_000


@dataclass(frozen=True)
class PersonExport:
    filename: str
    data: bytes
    counts: dict[str, int]


def check_may(actor: StaffPrincipal | None) -> None:
    """``actor`` None is the local operator (CLI)."""
    if actor is not None and not allowed(actor, Perm.GDPR):
        raise Forbidden("your role cannot export or erase personal data")


def _encodable(value: str, field: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from JSON: not text we can store or hash
        raise InvalidInput(f"{field} is not valid text", field=field) from None


def check_email(email: str) -> str:
    _encodable(email, "email")
    cleaned = email.strip()
    if not 3 <= len(cleaned) <= MAX_EMAIL_CHARS or "@" not in cleaned:
        raise InvalidInput("email must be an e-mail address", field="email")
    return check_plain(cleaned, "email", "email")


def check_reason(reason: str) -> str:
    _encodable(reason, "reason")
    cleaned = reason.strip()
    if not cleaned:
        raise InvalidInput("a reason is required", field="reason")
    if len(cleaned) > MAX_REASON_CHARS:
        raise InvalidInput(f"reason is longer than {MAX_REASON_CHARS} characters", field="reason")
    return check_plain(cleaned, "reason", "reason")


def _event(e: Event) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "type": e.type.value,
        "author_kind": e.author_kind,
        "author_id": e.author_id,
        "author_name": e.author_name,
        "body": e.body,
        "data": e.data,
        "at": iso(e.created_at),
    }


class PrivacyService:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ledger: ErasureLedger, scrubber: Scrubber
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ledger = ledger
        self._scrubber = scrubber

    async def _collect(self, uow: UnitOfWork, visitor_id: str) -> dict[str, Any] | None:
        visitor = await uow.visitors.get(visitor_id)
        if visitor is None:
            return None
        conversations = []
        for conv in await uow.conversations.list_for_visitor(visitor_id):
            events = await uow.events.after(conv.id, 0, EXPORT_EVENTS_LIMIT)
            conversations.append(
                {
                    "id": conv.id,
                    "state": conv.state.value,
                    "created_at": iso(conv.created_at),
                    "accepted_at": iso(conv.accepted_at) if conv.accepted_at else None,
                    "closed_at": iso(conv.closed_at) if conv.closed_at else None,
                    "consent_version": conv.consent_version,
                    "events": [_event(e) for e in events],
                }
            )
        return {
            "visitor": {
                "id": visitor.id,
                "widget_id": visitor.widget_id,
                "name": visitor.name,
                "email": visitor.email,
                "fields": visitor.fields,
                "verified": visitor.verified,
                "external_id": visitor.external_id,
                "created_at": iso(visitor.created_at),
            },
            "pages": await uow.people.pages(visitor_id),
            "conversations": conversations,
            # Described here; their bytes are in the ZIP under files/<id>/<name>.
            "files": [
                {
                    "id": f.id,
                    "conversation": f.conversation_id,
                    "name": f.name,
                    "type": f.content_type,
                    "size": f.size,
                    "uploaded_by": f.uploader_kind,
                    "created_at": iso(f.created_at),
                }
                for f in await uow.files.list_for_visitor(visitor_id)
            ],
        }

    async def export_person(
        self, actor: StaffPrincipal | None, email: str, ip: str | None = None
    ) -> PersonExport:
        """A ZIP (``person.json``) of everything stored about the person with ``email``.

        Refused (``not_found``) when nothing is stored: an erased person exports nothing.
        """
        check_may(actor)
        email = check_email(email)
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            records = []
            attachments: list[tuple[str, bytes]] = []
            for visitor_id in await uow.people.ids_by_email(email):
                record = await self._collect(uow, visitor_id)
                if record is not None:
                    records.append(record)
                    for f in await uow.files.list_for_visitor(visitor_id):
                        attachments.append((f"files/{f.id}/{f.name}", await uow.files.content(f)))
        counts = {
            "visitors": len(records),
            "conversations": sum(len(r["conversations"]) for r in records),
            "events": sum(len(c["events"]) for r in records for c in r["conversations"]),
            "pages": sum(len(r["pages"]) for r in records),
            "files": len(attachments),
        }
        async with self._uow() as uow:
            await uow.audit.add(
                audit_entry(
                    now,
                    "gdpr.export",
                    actor=actor.user_id if actor else None,
                    ip=ip,
                    counts=counts,
                )
            )
            await uow.commit()
        if not records:
            raise NotFound("nothing is stored about this e-mail address")
        document = {
            "format": "bastion-person-export/1",
            "exported_at": iso(now),
            "email": email,
            "records": records,
        }
        buffer = io.BytesIO()
        stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            info = zipfile.ZipInfo("person.json", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, json.dumps(document, indent=2, ensure_ascii=False))
            for path, content in attachments:
                entry = zipfile.ZipInfo(path, date_time=stamp)
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, content)
        filename = f"person-export-{now.strftime('%Y%m%dT%H%M%SZ')}.zip"
        return PersonExport(filename=filename, data=buffer.getvalue(), counts=counts)

    async def erase_person(
        self, actor: StaffPrincipal | None, email: str, reason: str, ip: str | None = None
    ) -> dict[str, Any]:
        """Destroy the data keys and delete every row of the person with ``email``.

        The erasure is recorded in the ledger even when nothing is stored now, so that a
        restored backup holding the address is erased too.
        """
        check_may(actor)
        email = check_email(email)
        why = check_reason(reason)
        now = self._clock.now()
        totals: dict[str, int] = {}
        async with self._uow() as uow:
            ids = await uow.people.ids_by_email(email)
            self._ledger.record(email, ids, now, actor.user_id if actor else "operator")
            for visitor_id in ids:
                # Shared files first: their rows name the blobs, deleted after the commit.
                totals["files"] = totals.get("files", 0) + (
                    await uow.files.delete_for_visitor(visitor_id)
                )
                for kind, n in (await uow.people.erase(visitor_id)).items():
                    totals[kind] = totals.get(kind, 0) + n
                # Open sockets of this visitor, on any node, end after the commit, and
                # every node drops the visitor's data key from its key cache.
                uow.on_commit(visitor_channel(visitor_id), {"type": "erased"})
                uow.on_commit(ERASURES_CHANNEL, {"type": "erased", "visitor": visitor_id})
                # Consoles open on any node drop the person's chats from their lists.
                uow.on_commit(STAFF_CHANNEL, {"type": "visitor_erased", "visitor": visitor_id})
            await uow.audit.add(
                audit_entry(
                    now,
                    "gdpr.erase",
                    actor=actor.user_id if actor else None,
                    ip=ip,
                    reason=why,
                    counts=totals,
                )
            )
            await uow.commit()
        scrubbed = await self._scrubber.scrub()
        return {"visitors": len(ids), "counts": totals, "scrubbed": scrubbed}

    async def reapply_ledger(self) -> dict[str, int]:
        """Erase again everyone in the ledger (after a restore). Operator only (CLI)."""
        entries = self._ledger.entries()
        erased = 0
        async with self._uow() as uow:
            for entry in entries:
                ids = set(await uow.people.existing(list(entry.visitor_ids)))
                ids |= set(await uow.people.ids_by_email_hmac(entry.email_hmac))
                for visitor_id in sorted(ids):
                    await uow.files.delete_for_visitor(visitor_id)
                    await uow.people.erase(visitor_id)
                    erased += 1
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "gdpr.ledger_reapplied",
                    actor=None,
                    entries=len(entries),
                    visitors=erased,
                )
            )
            await uow.commit()
        await self._scrubber.scrub()
        return {"entries": len(entries), "visitors": erased}
