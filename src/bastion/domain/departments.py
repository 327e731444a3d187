"""Departments: agents see the queue, visitors and chats of their departments only."""

from __future__ import annotations

from dataclasses import replace

from bastion.domain.auth import audit_entry
from bastion.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from bastion.domain.events import STAFF_CHANNEL
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import Department
from bastion.domain.permissions import Perm, allowed
from bastion.domain.plaintext import check_plain
from bastion.domain.ports import Clock, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal
from bastion.domain.retention import MAX_RETENTION_DAYS


class DepartmentService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdFactory = new_id) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    @staticmethod
    def _check_admin(actor: StaffPrincipal | None) -> None:
        """``actor`` None is the local operator (CLI)."""
        if actor is not None and not allowed(actor, Perm.USERS_MANAGE):
            raise Forbidden("your role cannot manage departments")

    async def create(self, actor: StaffPrincipal | None, name: str) -> Department:
        self._check_admin(actor)
        name = name.strip()
        if not 1 <= len(name) <= 80:
            raise InvalidInput("name the department (1 to 80 characters)", field="name")
        check_plain(name, "the department's name", "name")
        department = Department(id=self._ids("d"), name=name, created_at=self._clock.now())
        async with self._uow() as uow:
            if any(d.name.lower() == name.lower() for d in await uow.departments.list_all()):
                raise Conflict("a department with this name exists", field="name")
            await uow.departments.add(department)
            await uow.audit.add(
                audit_entry(
                    department.created_at,
                    "department.created",
                    actor=actor.user_id if actor else "cli",
                    target=department.id,
                )
            )
            await uow.commit()
        return department

    async def list_all(self, actor: StaffPrincipal | None) -> list[Department]:
        if actor is not None and not allowed(actor, Perm.CHAT_HANDLE):
            raise Forbidden("your role cannot see departments")
        async with self._uow(write=False) as uow:
            return await uow.departments.list_all()

    async def memberships(self, actor: StaffPrincipal | None) -> dict[str, list[str]]:
        """User id → sorted department ids, for the admin's user editor."""
        self._check_admin(actor)
        async with self._uow(write=False) as uow:
            users = await uow.users.list_all()
            out = {u.id: sorted(await uow.departments.of_user(u.id)) for u in users}
        return {k: v for k, v in out.items() if v}

    async def of_user(self, user_id: str) -> set[str]:
        async with self._uow(write=False) as uow:
            return await uow.departments.of_user(user_id)

    async def set_user_departments(
        self, actor: StaffPrincipal | None, user_id: str, department_ids: list[str]
    ) -> list[str]:
        self._check_admin(actor)
        wanted = sorted(set(department_ids))
        async with self._uow() as uow:
            if await uow.users.get(user_id) is None:
                raise NotFound("no such user")
            for dep in wanted:
                if await uow.departments.get(dep) is None:
                    raise NotFound("no such department", field="departments")
            await uow.departments.set_for_user(user_id, wanted)
            # The user's open consoles re-read their departments (page views and canned
            # changes are filtered by them): no reload needed after a move.
            uow.on_commit(STAFF_CHANNEL, {"type": "departments", "user": user_id})
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "user.departments_changed",
                    actor=actor.user_id if actor else "cli",
                    target=user_id,
                    departments=wanted,
                )
            )
            await uow.commit()
        return wanted

    async def set_retention(
        self, actor: StaffPrincipal | None, department_id: str, days: int | None
    ) -> Department:
        """Keep the department's closed chats ``days`` days (0: forever; None: the default)."""
        self._check_admin(actor)
        if days is not None and not 0 <= days <= MAX_RETENTION_DAYS:
            raise InvalidInput(
                f"retention is 0 (keep) to {MAX_RETENTION_DAYS} days", field="retention_days"
            )
        async with self._uow() as uow:
            department = await uow.departments.get(department_id)
            if department is None:
                raise NotFound("no such department")
            await uow.departments.set_retention(department_id, days)
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "department.retention_changed",
                    actor=actor.user_id if actor else "cli",
                    target=department_id,
                    days=days,
                )
            )
            await uow.commit()
        return replace(department, retention_days=days)

    async def find(self, actor: StaffPrincipal | None, id_or_name: str) -> Department:
        """A department by id or (case-insensitive) name, for the CLI."""
        for d in await self.list_all(actor):
            if d.id == id_or_name or d.name.lower() == id_or_name.strip().lower():
                return d
        raise NotFound("no such department")
