"""The audit log as a hash chain: an edit, a deletion or a reordering shows.

Each entry carries its place (``seq``, 1, 2, 3, … without gaps) and a MAC: HMAC-SHA-256,
under the audit data key, over the previous entry's MAC and the entry's own content
(time, action, actor, target, address, details, exactly as stored). The key is a random
data key kept in ``staff_keys`` (name ``audit``) wrapped by the KEK, so someone holding
only the database — a database administrator, a stolen dump — cannot write a MAC that
verifies: changing one entry breaks it, and every later one, since each names the one
before. ``audit_head`` (one row) holds the last seq and MAC; writers lock it, so the
chain is one line across every node, and cutting entries off the end leaves a head that
no longer matches. Someone who also holds the KEK file could rebuild the whole chain;
what defends against that is the head's MAC kept outside Bastion (the
``audit.checkpoint`` job logs it, ``bastion audit verify`` prints it): a rebuilt chain
ends in a different one.

Entries are sealed when their unit of work commits (``SqlAuditRepo.flush``), as the
last statements before the commit: the head's lock is then the last lock a transaction
takes, and is held only for the commit itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.domain.models import AuditEntry
from bastion.domain.ports import KeyStore
from bastion.security.envelope import DecryptionFailed
from bastion.storage import tables as t
from bastion.storage.db import Database
from bastion.storage.repositories import _utc
from bastion.storage.staff_cipher import StaffKeyCache, WrappedKey

KEY_NAME = "audit"
GENESIS = "0" * 64
_DOMAIN = b"bastion/audit/v1\0"


def _at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_mac(
    key: bytes,
    prev: str,
    seq: int,
    at: datetime,
    action: str,
    actor: str | None,
    target: str | None,
    ip: str | None,
    details: str,
) -> str:
    """The MAC of one entry; ``details`` is the stored JSON text."""
    body = json.dumps([seq, _at(at), action, actor, target, ip, details], separators=(",", ":"))
    message = _DOMAIN + prev.encode() + b"\0" + body.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def audit_key(conn: AsyncConnection, keys: KeyStore, cache: StaffKeyCache) -> WrappedKey:
    return WrappedKey(conn, keys, cache, KEY_NAME)


class SqlAuditRepo:
    """``add`` collects; ``flush`` (called by the unit of work's commit) chains and writes."""

    def __init__(self, conn: AsyncConnection, key: WrappedKey) -> None:
        self._c = conn
        self._key = key
        self._pending: list[AuditEntry] = []

    async def add(self, entry: AuditEntry) -> None:
        self._pending.append(entry)

    async def flush(self) -> None:
        if not self._pending:
            return
        key = await self._key.get()
        head = (
            await self._c.execute(
                select(t.audit_head.c.seq, t.audit_head.c.mac)
                .where(t.audit_head.c.id == 1)
                .with_for_update()
            )
        ).one()
        seq, prev = int(head.seq), str(head.mac)
        for entry in self._pending:
            seq += 1
            details = json.dumps(entry.details, sort_keys=True)
            mac = entry_mac(
                key, prev, seq, entry.at, entry.action, entry.actor, entry.target, entry.ip, details
            )
            await self._c.execute(
                insert(t.audit_log).values(
                    at=entry.at,
                    action=entry.action,
                    actor=entry.actor,
                    target=entry.target,
                    ip=entry.ip,
                    details=details,
                    seq=seq,
                    mac=mac,
                )
            )
            prev = mac
        await self._c.execute(
            update(t.audit_head).where(t.audit_head.c.id == 1).values(seq=seq, mac=prev)
        )
        self._pending.clear()

    async def verify(self) -> dict[str, Any]:
        return (await verify_in(self._c, self._key)).as_dict()

    async def recent(self, limit: int, action_prefix: str | None = None) -> list[AuditEntry]:
        c = t.audit_log.c
        query = select(t.audit_log).order_by(c.id.desc()).limit(limit)
        if action_prefix:
            query = query.where(c.action.startswith(action_prefix, autoescape=True))
        rows = await self._c.execute(query)
        return [
            AuditEntry(
                at=_utc(r.at),
                action=r.action,
                actor=r.actor,
                target=r.target,
                ip=r.ip,
                details=json.loads(r.details),
                seq=r.seq,
            )
            for r in rows
        ]


@dataclass
class ChainReport:
    """What ``verify`` found. ``ok`` only when every chained entry checks out."""

    entries: int = 0
    # Entries written before the chain existed (migration 0013): not covered.
    unchained: int = 0
    head_seq: int = 0
    head_mac: str = GENESIS
    # The first problem, by seq, in words without any entry's content.
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "unchained": self.unchained,
            "head": {"seq": self.head_seq, "mac": self.head_mac},
            "problems": self.problems,
        }


async def _chained(conn: AsyncConnection, batch: int) -> AsyncIterator[Any]:
    c = t.audit_log.c
    after = 0
    while True:
        rows = (
            await conn.execute(
                select(t.audit_log).where(c.seq > after).order_by(c.seq).limit(batch)
            )
        ).all()
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = int(rows[-1].seq)


async def verify(db: Database, keys: KeyStore, *, batch: int = 1000) -> ChainReport:
    """Walk the chain from the first entry to the head and check every link (the CLI)."""
    async with db.transaction(write=False) as conn:
        return await verify_in(conn, audit_key(conn, keys, StaffKeyCache()), batch=batch)


async def verify_in(
    conn: AsyncConnection, wrapped: WrappedKey, *, batch: int = 1000
) -> ChainReport:
    """``verify`` on an open connection (a unit of work's, for the admins' REST check).

    Stops listing problems after the first few: one altered entry is enough to know, and
    the seq it names is where to look (``bastion audit export`` has the rows).
    """
    report = ChainReport()
    try:
        key = await wrapped.existing()
    except DecryptionFailed:
        report.problems.append(
            "the audit key does not open with the key-encryption key (its row was "
            "altered, or the key file is not the one that wrapped it)"
        )
        return report
    head = (await conn.execute(select(t.audit_head).where(t.audit_head.c.id == 1))).first()
    report.unchained = int(
        (
            await conn.execute(
                select(func.count()).select_from(t.audit_log).where(t.audit_log.c.seq.is_(None))
            )
        ).scalar_one()
    )
    if head is None:
        report.problems.append("the chain's head row is missing")
        return report
    report.head_seq, report.head_mac = int(head.seq), str(head.mac)
    if key is None:
        if report.head_seq != 0:
            report.problems.append("the audit key is missing but the chain has entries")
        return report
    expected, prev = 1, GENESIS
    async for row in _chained(conn, batch):
        if len(report.problems) >= 5:
            break
        seq = int(row.seq)
        if seq != expected:
            gone = f"entry {expected}" if seq == expected + 1 else f"entries {expected}–{seq - 1}"
            report.problems.append(f"{gone} missing")
        mac = entry_mac(
            key, prev, seq, _utc(row.at), row.action, row.actor, row.target, row.ip, row.details
        )
        if not hmac.compare_digest(mac, str(row.mac)):
            report.problems.append(f"entry {seq} does not match its MAC (altered or moved)")
        report.entries += 1
        expected, prev = seq + 1, str(row.mac)
    if not report.problems and (expected - 1 != report.head_seq or prev != report.head_mac):
        report.problems.append(
            f"the chain ends at entry {expected - 1} but its head says "
            f"{report.head_seq} (entries cut off the end, or the head was altered)"
        )
    return report


async def head(db: Database) -> dict[str, Any]:
    """The chain's head, for the ``audit.checkpoint`` job to log: kept in the logs, away
    from the database, it shows a chain rebuilt since.
    """
    async with db.transaction(write=False) as conn:
        row = (await conn.execute(select(t.audit_head).where(t.audit_head.c.id == 1))).one()
    return {"seq": int(row.seq), "mac": str(row.mac)}


async def export(db: Database, batch: int = 1000) -> AsyncIterator[dict[str, Any]]:
    """Every entry in chain order (unchained ones first, by id), for incident evidence."""
    async with db.transaction(write=False) as conn:
        c = t.audit_log.c
        old = await conn.execute(select(t.audit_log).where(c.seq.is_(None)).order_by(c.id))
        for row in old:
            yield _row(row)
        async for row in _chained(conn, batch):
            yield _row(row)


def _row(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": _at(_utc(row.at)),
        "action": row.action,
        "actor": row.actor,
        "target": row.target,
        "ip": row.ip,
        "details": json.loads(row.details),
        "mac": row.mac,
    }
