"""The erasure ledger: one JSON line per erasure, in a file beside the KEK.

It lives with the keys, not in the database, so that restoring a backup made before an
erasure can erase the person again (``bastion backup restore``). It holds no plaintext:
the e-mail address only as its keyed hash (the look-up key is beside it) and the erased
visitors' ids. Each entry is fsynced before the rows are deleted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bastion.security.envelope import FileKeyStore, fsync_dir, normalise_email


class LedgerError(Exception):
    """The ledger cannot be read or written; the message names the problem, not content."""


@dataclass(frozen=True)
class LedgerEntry:
    at: str
    actor: str
    email_hmac: str
    visitor_ids: tuple[str, ...]


def ledger_path(kek_path: Path) -> Path:
    return kek_path.with_name("erasure-ledger.jsonl")


class FileErasureLedger:
    def __init__(self, path: Path, keys: FileKeyStore) -> None:
        self._path = path
        self._keys = keys

    @property
    def path(self) -> Path:
        return self._path

    def record(self, email: str, visitor_ids: list[str], at: datetime, actor: str) -> None:
        line = json.dumps(
            {
                "at": at.isoformat(),
                "actor": actor,
                "email_hmac": self._keys.lookup_hmac("email", normalise_email(email)),
                "visitors": sorted(visitor_ids),
            },
            sort_keys=True,
        )
        created = not self._path.exists()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                fsync_dir(self._path.parent)
        except OSError as err:
            raise LedgerError(f"cannot write the erasure ledger: {err.strerror}") from None

    def entries(self) -> list[LedgerEntry]:
        try:
            text = self._path.read_text()
        except FileNotFoundError:
            return []
        except OSError as err:
            raise LedgerError(f"cannot read the erasure ledger: {err.strerror}") from None
        out = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                out.append(
                    LedgerEntry(
                        at=str(raw["at"]),
                        actor=str(raw["actor"]),
                        email_hmac=str(raw["email_hmac"]),
                        visitor_ids=tuple(str(v) for v in raw["visitors"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                raise LedgerError(f"the erasure ledger is malformed at line {number}") from None
        return out
