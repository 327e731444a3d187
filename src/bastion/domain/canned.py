"""Canned responses: reply templates staff insert into the composer.

Department scoping: a responder (``chat.handle``) lists the global responses and those
of their own departments only; ``canned.manage`` (supervisors, admins) sees and manages
all. A body is inserted into the composer and sent by the agent as an ordinary message
(redaction and every message rule still apply then). Every change is announced to the
consoles concerned after its commit (``canned_notice``), so open consoles read the list
again without a reload.
"""

from __future__ import annotations

import re

from bastion.domain.auth import audit_entry
from bastion.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from bastion.domain.events import STAFF_CHANNEL, canned_notice
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import CannedResponse
from bastion.domain.permissions import Perm, allowed
from bastion.domain.plaintext import check_plain
from bastion.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
TITLE_MAX = 80
BODY_MAX = 2000


def canned_summary(c: CannedResponse) -> dict[str, str | None]:
    return {
        "id": c.id,
        "shortcut": c.shortcut,
        "title": c.title,
        "body": c.body,
        "department": c.department_id,
        "author": c.author_id,
        "updated_at": c.updated_at.isoformat(),
    }


def check_canned(shortcut: str, title: str, body: str) -> tuple[str, str, str]:
    shortcut = shortcut.strip().lstrip("/").lower()
    if not SHORTCUT.match(shortcut):
        raise InvalidInput("a shortcut is 1 to 32 characters: a-z, 0-9, - and _", field="shortcut")
    title = title.strip()
    if not 1 <= len(title) <= TITLE_MAX:
        raise InvalidInput(f"give a title (1 to {TITLE_MAX} characters)", field="title")
    body = body.replace("\r\n", "\n").strip()
    if not 1 <= len(body) <= BODY_MAX:
        raise InvalidInput(f"write the text (1 to {BODY_MAX} characters)", field="body")
    # The text becomes an agent's message, held to the messages' rule (plaintext.py): a
    # response a message would refuse could be saved but never sent.
    check_plain(title, "the title", "title")
    check_plain(body, "the text", "body", allow="\n\t")
    return shortcut, title, body


class CannedService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdFactory = new_id) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    @staticmethod
    def _check_manager(actor: StaffPrincipal) -> None:
        if not allowed(actor, Perm.CANNED_MANAGE):
            raise Forbidden("your role cannot manage canned responses")

    async def list_for(self, actor: StaffPrincipal) -> list[CannedResponse]:
        """Global responses plus those of the actor's departments (all, for managers)."""
        if allowed(actor, Perm.CANNED_MANAGE):
            scope: set[str] | None = None
        elif allowed(actor, Perm.CHAT_HANDLE):
            async with self._uow(write=False) as uow:
                scope = await uow.departments.of_user(actor.user_id)
        else:
            raise Forbidden("your role cannot use canned responses")
        async with self._uow(write=False) as uow:
            return await uow.canned.list_for(scope)

    async def _check_unique(self, uow: UnitOfWork, shortcut: str, own_id: str | None) -> None:
        existing = await uow.canned.get_by_shortcut(shortcut)
        if existing is not None and existing.id != own_id:
            raise Conflict("this shortcut is taken", field="shortcut")

    @staticmethod
    async def _check_department(uow: UnitOfWork, department_id: str | None) -> None:
        if department_id is not None and await uow.departments.get(department_id) is None:
            raise NotFound("no such department", field="department")

    async def create(
        self,
        actor: StaffPrincipal,
        *,
        shortcut: str,
        title: str,
        body: str,
        department_id: str | None,
        ip: str | None = None,
    ) -> CannedResponse:
        self._check_manager(actor)
        shortcut, title, body = check_canned(shortcut, title, body)
        now = self._clock.now()
        canned = CannedResponse(
            id=self._ids("cr"),
            shortcut=shortcut,
            title=title,
            body=body,
            department_id=department_id,
            author_id=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            await self._check_department(uow, department_id)
            await self._check_unique(uow, shortcut, None)
            await uow.canned.add(canned)
            uow.on_commit(STAFF_CHANNEL, canned_notice([department_id]))
            # The audit names the response, never its text.
            await uow.audit.add(
                audit_entry(
                    now,
                    "canned.created",
                    actor=actor.user_id,
                    target=canned.id,
                    ip=ip,
                    department=department_id,
                )
            )
            await uow.commit()
        return canned

    async def update(
        self,
        actor: StaffPrincipal,
        canned_id: str,
        *,
        shortcut: str,
        title: str,
        body: str,
        department_id: str | None,
        ip: str | None = None,
    ) -> CannedResponse:
        self._check_manager(actor)
        shortcut, title, body = check_canned(shortcut, title, body)
        now = self._clock.now()
        async with self._uow() as uow:
            old = await uow.canned.get(canned_id)
            if old is None:
                raise NotFound("no such canned response")
            await self._check_department(uow, department_id)
            await self._check_unique(uow, shortcut, canned_id)
            canned = CannedResponse(
                id=old.id,
                shortcut=shortcut,
                title=title,
                body=body,
                department_id=department_id,
                author_id=old.author_id,
                created_at=old.created_at,
                updated_at=now,
            )
            await uow.canned.update(canned)
            # Both departments: consoles that lose the response must drop it too.
            uow.on_commit(STAFF_CHANNEL, canned_notice([old.department_id, department_id]))
            await uow.audit.add(
                audit_entry(
                    now,
                    "canned.updated",
                    actor=actor.user_id,
                    target=canned_id,
                    ip=ip,
                    department=department_id,
                )
            )
            await uow.commit()
        return canned

    async def delete(self, actor: StaffPrincipal, canned_id: str, ip: str | None = None) -> None:
        self._check_manager(actor)
        async with self._uow() as uow:
            old = await uow.canned.get(canned_id)
            if old is None:
                raise NotFound("no such canned response")
            await uow.canned.delete(canned_id)
            uow.on_commit(STAFF_CHANNEL, canned_notice([old.department_id]))
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "canned.deleted",
                    actor=actor.user_id,
                    target=canned_id,
                    ip=ip,
                )
            )
            await uow.commit()
