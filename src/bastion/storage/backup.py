"""Encrypted backups: a consistent snapshot of the live database, sealed with the backup key.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent
  snapshot while the server keeps writing; PostgreSQL: ``pg_dump --format=custom``
  (one transaction, so consistent too).
- The snapshot is encrypted with AES-256-GCM in authenticated chunks
  (``security/sealedstream.py``) under the backup key — a file beside the KEK, or
  ``BASTION_BACKUP_KEY_FILE``. Values inside are still sealed under the visitors' data
  keys, which the KEK wraps: a backup needs the backup key *and* the KEK to be read.
- Restoring re-applies the erasure ledger, so a person erased after the backup was made
  stays erased.

``create_backup(settings, clock)`` is the one entry point a scheduled job calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from bastion import __version__
from bastion.domain.ports import Clock
from bastion.security.envelope import KeyFileError, read_key_file, read_or_create_key_file
from bastion.security.sealedstream import SealedWriter, StreamError, decrypt, read_header
from bastion.settings import Settings
from bastion.storage.db import sqlite_path

READ_BLOCK = 256 * 1024


class BackupError(Exception):
    """A backup cannot be made, checked or restored; the message is one line for the CLI."""


# ---- the server lock: restore refuses while a server runs on this data dir --------------


def server_lock_path(settings: Settings) -> Path:
    return settings.data_dir / "server.lock"


def hold_server_lock(settings: Settings) -> int:
    """Taken (shared) by ``serve`` for its lifetime; returns the fd to keep open."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(server_lock_path(settings), os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


@contextlib.contextmanager
def no_server_running(settings: Settings) -> Iterator[None]:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(server_lock_path(settings), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                "a server is running on this data directory: stop it (every node) first"
            ) from None
        yield
    finally:
        os.close(fd)


# ---- keys and files ---------------------------------------------------------------------


def _backup_key(settings: Settings, *, create: bool) -> bytes:
    path = settings.resolved_backup_key_file
    try:
        if create:
            return read_or_create_key_file(path, "backup key")
        return read_key_file(path, "backup key")
    except KeyFileError as err:
        raise BackupError(str(err)) from None


def _private_temp(directory: Path, suffix: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".bastion-", suffix=suffix)
    os.close(fd)
    os.chmod(name, 0o600)
    return Path(name)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection flags for pg_dump/pg_restore/psql; the password goes in the environment."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    if parts.username:
        args += ["-U", unquote(parts.username)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return [*args, "-d", parts.path.lstrip("/")], env


# ---- create -----------------------------------------------------------------------------


def _sqlite_snapshot(db_file: Path, into: Path) -> None:
    if not db_file.exists():
        raise BackupError("there is no database to back up yet")
    src = sqlite3.connect(db_file, timeout=30)
    dst = sqlite3.connect(into)
    try:
        src.backup(dst)  # all pages in one step: a consistent snapshot under a read lock
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _copy_into(src: IO[bytes], writer: SealedWriter) -> None:
    while block := src.read(READ_BLOCK):
        writer.write(block)


def _create(settings: Settings, header: dict[str, Any], out: Path) -> None:
    key = _backup_key(settings, create=True)
    partial = out.with_name(out.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as sink:
            writer = SealedWriter(sink, key, header)
            if settings.is_sqlite:
                snapshot = _private_temp(out.parent, ".db")
                try:
                    _sqlite_snapshot(sqlite_path(settings.resolved_database_url), snapshot)
                    with snapshot.open("rb") as src:
                        _copy_into(src, writer)
                finally:
                    snapshot.unlink(missing_ok=True)
            else:
                args, env = _pg_args(settings.resolved_database_url)
                with subprocess.Popen(  # noqa: S603 - fixed program, arguments from settings
                    ["pg_dump", "--format=custom", "--no-owner", *args],  # noqa: S607
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                ) as proc:
                    assert proc.stdout is not None and proc.stderr is not None
                    _copy_into(proc.stdout, writer)
                    err = proc.stderr.read().decode(errors="replace").strip()
                if proc.returncode != 0:
                    last = err.splitlines()[-1] if err else f"exit {proc.returncode}"
                    raise BackupError(f"pg_dump failed: {last[:200]}")
            writer.close()
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


async def create_backup(settings: Settings, clock: Clock, out: Path | None = None) -> Path:
    """Make an encrypted, consistent backup of the running deployment; returns its path.

    Without ``out`` it goes to ``BASTION_BACKUP_DIR`` (``<data dir>/backups``) as
    ``bastion-<UTC time>.bbk``. Never overwrites an existing file.
    """
    now = clock.now()
    if out is None:
        directory = settings.resolved_backup_dir
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        out = directory / f"bastion-{now.strftime('%Y%m%dT%H%M%S')}Z.bbk"
    if out.exists():
        raise BackupError(f"{out} exists already")
    header = {
        "format": "bastion-backup/1",
        "kind": "sqlite" if settings.is_sqlite else "postgres",
        "created_at": now.isoformat(),
        "bastion": __version__,
    }
    try:
        await asyncio.to_thread(_create, settings, header, out)
    except OSError as err:
        raise BackupError(
            f"cannot write the backup: {err.strerror or type(err).__name__}"
        ) from None
    except sqlite3.Error as err:
        raise BackupError(f"cannot read the database: {err}") from None
    return out


# ---- verify and restore -----------------------------------------------------------------


def _decrypt_to(settings: Settings, path: Path, into: Path) -> dict[str, Any]:
    key = _backup_key(settings, create=False)
    try:
        with path.open("rb") as src, into.open("wb") as sink:
            header, _raw = read_header(src)
            src.seek(0)
            for chunk in decrypt(src, key):
                sink.write(chunk)
            sink.flush()
            os.fsync(sink.fileno())
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except StreamError as err:
        raise BackupError(f"{path}: {err}") from None
    return header


def _check_sqlite(file: Path) -> dict[str, int]:
    conn = sqlite3.connect(file)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError("the backed-up database fails SQLite's integrity check")
        counts = {}
        for table in ("visitors", "conversations", "events", "users"):
            counts[table] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names
        return counts
    except sqlite3.DatabaseError as err:
        raise BackupError(f"the backup does not hold a usable SQLite database: {err}") from None
    finally:
        conn.close()


def _check_pg_dump(file: Path) -> dict[str, int]:
    proc = subprocess.run(  # noqa: S603 - fixed program
        ["pg_restore", "--list", str(file)],  # noqa: S607
        capture_output=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise BackupError("the backup does not hold a usable pg_dump archive")
    return {"objects": proc.stdout.count(b"\n")}


def verify_backup_sync(settings: Settings, path: Path) -> dict[str, Any]:
    work = _private_temp(settings.data_dir, ".verify")
    try:
        header = _decrypt_to(settings, path, work)
        kind = header.get("kind")
        contents = _check_sqlite(work) if kind == "sqlite" else _check_pg_dump(work)
    finally:
        work.unlink(missing_ok=True)
    return {"file": str(path), "kind": kind, "created_at": header.get("created_at"), **contents}


async def verify_backup(settings: Settings, path: Path) -> dict[str, Any]:
    """Decrypt and authenticate every chunk, then check the database inside it."""
    return await asyncio.to_thread(verify_backup_sync, settings, path)


def _restore_files(settings: Settings, path: Path) -> dict[str, Any]:
    work = _private_temp(settings.data_dir, ".restore")
    try:
        header = _decrypt_to(settings, path, work)
        kind = header.get("kind")
        if (kind == "sqlite") != settings.is_sqlite:
            raise BackupError(f"this is a {kind} backup; the configured database is not")
        if settings.is_sqlite:
            _check_sqlite(work)
            db_file = sqlite_path(settings.resolved_database_url)
            for suffix in ("-wal", "-shm"):
                Path(str(db_file) + suffix).unlink(missing_ok=True)
            os.replace(work, db_file)
        else:
            args, env = _pg_args(settings.resolved_database_url)
            proc = subprocess.run(  # noqa: S603 - fixed program
                [  # noqa: S607
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    *args,
                    str(work),
                ],
                capture_output=True,
                env=env,
                timeout=3600,
            )
            if proc.returncode != 0:
                err = proc.stderr.decode(errors="replace").strip().splitlines()
                raise BackupError(f"pg_restore failed: {(err[-1] if err else '')[:200]}")
    finally:
        work.unlink(missing_ok=True)
    return header


async def restore_backup(
    settings: Settings, path: Path, reapply: Callable[[], Awaitable[dict[str, int]]]
) -> dict[str, Any]:
    """Replace the database with the backup's (the server must be stopped), bring its
    schema up to date, then run ``reapply`` — erase again everyone in the erasure ledger —
    before the lock is released, so no server can start in between.
    """
    from bastion.storage.migrate import migrate

    with no_server_running(settings):
        header = await asyncio.to_thread(_restore_files, settings, path)
        await migrate(settings.resolved_database_url)
        reapplied = await reapply()
        unreadable = await _keys_without_kek(settings)
    return {
        "kind": header.get("kind"),
        "created_at": header.get("created_at"),
        "ledger": reapplied,
        "unreadable_keys": unreadable,
    }


async def _keys_without_kek(settings: Settings) -> int:
    """Data keys wrapped by a KEK not in the key directory (a backup older than a rotation)."""
    from sqlalchemy import func, select

    from bastion.security.envelope import FileKeyStore
    from bastion.storage import tables as t
    from bastion.storage.db import Database

    keys = FileKeyStore(settings.resolved_kek_file).load()
    db = Database(settings.resolved_database_url)
    try:
        async with db.transaction(write=False) as conn:
            rows = await conn.execute(
                select(t.visitor_keys.c.kek_id, func.count()).group_by(t.visitor_keys.c.kek_id)
            )
            return sum(int(n) for kek_id, n in rows.all() if not keys.known(kek_id))
    finally:
        await db.dispose()
