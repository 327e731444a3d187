"""Retention: closed conversations are deleted a set number of days after closing.

Each department may set its own number of days (``Department.retention_days``; 0 keeps
its chats forever); conversations without a department, and departments without their
own number, follow the deployment's default (0: keep forever). The purge runs as a
periodic job (app.py) in bounded batches; each batch deletes and writes its
``retention.purge`` audit entry in one transaction, so the log says exactly what went,
by count, never by content. Running it on several nodes at once is safe: the job runner
lets one node run it, and even two purges racing would each delete and count only the
rows they removed.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from bastion.domain.auth import audit_entry
from bastion.domain.errors import Forbidden
from bastion.domain.permissions import Perm, allowed
from bastion.domain.ports import Clock, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal

MAX_RETENTION_DAYS = 36500


class RetentionService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        default_days: int,
        batch: int = 200,
        max_batches: int = 50,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._default_days = default_days
        self._batch = batch
        self._max_batches = max_batches

    def default_days(self, actor: StaffPrincipal) -> int:
        """The deployment's default (``BASTION_RETENTION_DAYS``; 0 keeps forever), for the
        admins who set departments' own numbers against it.
        """
        if not allowed(actor, Perm.USERS_MANAGE):
            raise Forbidden("your role cannot manage departments")
        return self._default_days

    async def _groups(self) -> list[tuple[int, str | None, list[str] | None]]:
        """(days, department, departments the default excludes) for each policy in force."""
        async with self._uow(write=False) as uow:
            departments = await uow.departments.list_all()
        own = {d.id: d.retention_days for d in departments if d.retention_days is not None}
        groups: list[tuple[int, str | None, list[str] | None]] = [
            (days, dep, None) for dep, days in own.items() if days > 0
        ]
        if self._default_days > 0:
            groups.append((self._default_days, None, sorted(own)))
        return groups

    async def purge(self) -> dict[str, int]:
        """Delete what is past its retention; the totals (also in the audit log)."""
        now = self._clock.now()
        totals: Counter[str] = Counter()
        for days, department, others in await self._groups():
            before = now - timedelta(days=days)
            for _ in range(self._max_batches):
                async with self._uow() as uow:
                    ids = await uow.conversations.expired(
                        before, self._batch, department_id=department, except_departments=others
                    )
                    if not ids:
                        break
                    # Files first: their blobs are deleted after commit, their rows here.
                    files = await uow.files.delete_for_conversations(ids)
                    counts = await uow.conversations.purge(ids)
                    if files:
                        counts["files"] = files
                    if not counts["conversations"]:
                        break  # another purge took them meanwhile: nothing to record
                    details: dict[str, Any] = {"days": days, **counts}
                    await uow.audit.add(
                        audit_entry(
                            now,
                            "retention.purge",
                            actor="system",
                            target=department or "default",
                            **details,
                        )
                    )
                    await uow.commit()
                totals.update(counts)
                if len(ids) < self._batch:
                    break
        return dict(totals)
