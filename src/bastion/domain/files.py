"""Files shared in conversations: upload (check, strip, scan, seal, announce) and download.

Who may reach a file is decided by the conversation's own rule
(:meth:`ChatService.load_visible`): there is no second rule for files. An upload passes,
in order, the access check (nobody else gets to use the scanner), the size cap, the
type check by content, metadata stripping, and the malware scan; only then are the bytes
sealed and a ``file`` event added with the conversation's next seq. Fail closed: without
a scanner's clean verdict nothing is stored, so nothing unscanned can be downloaded.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from bastion.domain.auth import audit_entry
from bastion.domain.conversations import ChatService
from bastion.domain.errors import (
    FileEmpty,
    FileInfected,
    FileTooLarge,
    FileTypeRefused,
    NotFound,
    ScannerUnavailable,
)
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import EventType, FileState, StoredFile
from bastion.domain.ports import Clock, FileStore, Scanner, ScannerError, UnitOfWorkFactory
from bastion.domain.principals import Principal, StaffPrincipal
from bastion.security.envelope import DecryptionFailed
from bastion.security.filetypes import ALLOWED, allowed_type, clean_name, sniff
from bastion.security.imagemeta import ImageError, strip_metadata

FILE_ID = re.compile(r"f_[A-Za-z0-9_-]{1,64}")
# A blob without a row is an orphan only once its upload cannot still be committing.
ORPHAN_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True)
class Download:
    file: StoredFile
    content: bytes


def check_size(size: int, limits: FileLimits) -> None:
    if size > limits.max_bytes:
        raise FileTooLarge(f"files may be at most {limits.max_bytes} bytes", field="file")
    if size == 0:
        raise FileEmpty("the file is empty", field="file")


def file_info(f: StoredFile) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "size": f.size, "type": f.content_type}


class FileService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        chat: ChatService,
        scanner: Scanner | None,
        *,
        limits: FileLimits | None = None,
        ids: IdFactory = new_id,
        store: FileStore | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._chat = chat
        self._scanner = scanner
        self._limits = limits or FileLimits()
        self._ids = ids
        self._blobs = store

    @property
    def enabled(self) -> bool:
        """Uploads are accepted only with a scanner configured (fail closed)."""
        return self._scanner is not None

    @property
    def limits(self) -> FileLimits:
        return self._limits

    @staticmethod
    def allowed_types() -> list[str]:
        return sorted(ALLOWED)

    async def sweep_orphans(
        self, older_than: timedelta = ORPHAN_AGE, limit: int = 1000
    ) -> dict[str, int]:
        """Delete sealed blobs that no file row refers to (a periodic job).

        A unit of work removes the blobs of a transaction that did not commit, and those
        whose rows it deleted once it has; a delete that failed then (a full disk, a lost
        connection) leaves a blob behind, and this removes it. Only blobs older than
        ``older_than``: an upload writes its blob a moment before its row commits.
        """
        if self._blobs is None:
            return {"removed": 0}
        keys = await self._blobs.keys_before(self._clock.now() - older_than, limit)
        if not keys:
            return {"removed": 0}
        async with self._uow(write=False) as uow:
            kept = await uow.files.existing(keys)
        orphans = [key for key in keys if key not in kept]
        for key in orphans:
            await self._blobs.delete(key)
        return {"removed": len(orphans)}

    async def check_may_upload(self, actor: Principal, conversation_id: str) -> None:
        """Raise unless ``actor`` may post a file to the conversation now (checked before
        the body is read, and again when the file is stored).
        """
        if self._scanner is None:
            raise ScannerUnavailable("file sharing is off: no malware scanner is configured")
        async with self._uow(write=False) as uow:
            conv = await self._chat.load_visible(uow, actor, conversation_id)
            self._chat.check_may_post(actor, conv)

    async def upload(
        self, actor: Principal, conversation_id: str, name: str, data: bytes
    ) -> dict[str, Any]:
        """Check, strip, scan, seal and announce a file; returns its description and seq."""
        check_size(len(data), self._limits)
        await self.check_may_upload(actor, conversation_id)
        mime = await asyncio.to_thread(sniff, data)
        if not allowed_type(mime):
            raise FileTypeRefused(
                "this kind of file cannot be shared (images, PDF, text and office documents can)",
                field="file",
            )
        try:
            data = strip_metadata(data, mime)
        except ImageError:
            raise FileTypeRefused("the image could not be read", field="file") from None
        await self._scan(actor, conversation_id, data)
        return await self._store(actor, conversation_id, clean_name(name, mime), mime, data)

    async def _scan(self, actor: Principal, conversation_id: str, data: bytes) -> None:
        assert self._scanner is not None
        try:
            verdict = await self._scanner.scan(data)
        except ScannerError:
            raise ScannerUnavailable(
                "the file could not be checked for malware; try again later"
            ) from None
        if verdict.clean:
            return
        # Not stored: nothing infected is kept where a download could reach it. The
        # audit entry is the evidence (who, where, which signature), never the bytes.
        async with self._uow() as uow:
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "file.infected",
                    actor=_actor_id(actor),
                    target=conversation_id,
                    signature=verdict.signature,
                    size=len(data),
                )
            )
            await uow.commit()
        raise FileInfected("the file contains malware and was refused", field="file")

    async def _store(
        self, actor: Principal, conversation_id: str, name: str, mime: str, data: bytes
    ) -> dict[str, Any]:
        async with self._uow() as uow:
            # Checked again in the writing transaction: the chat may have closed or moved
            # to another agent while the file was scanned.
            conv = await self._chat.load_visible(uow, actor, conversation_id)
            self._chat.check_may_post(actor, conv)
            author_name: str | None
            if isinstance(actor, StaffPrincipal):
                kind, author_id, author_name = "agent", actor.user_id, actor.name
            else:
                visitor = await uow.visitors.get(actor.visitor_id)
                kind, author_id = "visitor", actor.visitor_id
                author_name = visitor.name if visitor else None
            stored = StoredFile(
                id=self._ids("f"),
                conversation_id=conv.id,
                visitor_id=conv.visitor_id,
                uploader_kind=kind,
                uploader_id=author_id,
                name=name,
                content_type=mime,
                size=len(data),
                state=FileState.CLEAN,
                created_at=self._clock.now(),
            )
            event = await self._chat.append_event(
                uow,
                conv,
                EventType.FILE,
                author_kind=kind,
                author_id=author_id,
                author_name=author_name,
                data={"file": file_info(stored)},
            )
            await uow.files.add(replace(stored, seq=event.seq), content=data)
            await uow.commit()
        return {"file": file_info(stored), "conversation": conv.id, "seq": event.seq}

    async def download(self, actor: Principal, file_id: str) -> Download:
        """A clean file of a conversation ``actor`` may see; staff downloads are audited."""
        if not FILE_ID.fullmatch(file_id):
            raise NotFound("no such file")
        async with self._uow(write=False) as uow:
            f = await uow.files.get(file_id)
            if f is None or f.state is not FileState.CLEAN:
                raise NotFound("no such file")
            try:
                await self._chat.load_visible(uow, actor, f.conversation_id)
            except NotFound:
                # The same answer as for a missing file: ids are not an oracle.
                raise NotFound("no such file") from None
            try:
                content = await uow.files.content(f)
            except (DecryptionFailed, FileNotFoundError):
                # Bytes missing, moved from another file, or tampered with: never served.
                raise NotFound("the file is not available") from None
        if isinstance(actor, StaffPrincipal):
            async with self._uow() as uow:
                await uow.audit.add(
                    audit_entry(
                        self._clock.now(),
                        "file.download",
                        actor=actor.user_id,
                        target=f.id,
                        conversation=f.conversation_id,
                    )
                )
                await uow.commit()
        return Download(file=f, content=content)


def _actor_id(actor: Principal) -> str:
    return actor.user_id if isinstance(actor, StaffPrincipal) else actor.visitor_id
