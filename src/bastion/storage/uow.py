"""Unit of work: one transaction, with bus messages sent only after it commits."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import structlog
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bastion.domain import ports
from bastion.domain.events import ERASURES_CHANNEL
from bastion.domain.ports import Bus, DuplicateCommand, UnitOfWork
from bastion.storage import repositories as r
from bastion.storage.auth_repos import SqlEmailCodeRepo, SqlPasswordResetRepo
from bastion.storage.bans import SqlBanRepo
from bastion.storage.canned import SqlCannedRepo
from bastion.storage.cipher import KeyCache, VisitorCipher
from bastion.storage.db import Database, WriteUnit
from bastion.storage.files import SqlFileRepo
from bastion.storage.passkeys import SqlPasskeyRepo, SqlWebAuthnChallengeRepo
from bastion.storage.people import SqlPersonRepo
from bastion.storage.roles import SqlRoleRepo
from bastion.storage.staff_cipher import StaffCipher, StaffKeyCache

log = structlog.get_logger(__name__)


class SqlUnitOfWork:
    widgets: ports.WidgetRepo
    visitors: ports.VisitorRepo
    visitor_tokens: ports.VisitorTokenRepo
    users: ports.UserRepo
    sessions: ports.SessionRepo
    conversations: ports.ConversationRepo
    events: ports.EventRepo
    commands: ports.CommandRepo
    recovery_codes: ports.RecoveryCodeRepo
    login_failures: ports.LoginFailureRepo
    audit: ports.AuditRepo
    security: ports.SecuritySettingsRepo
    identity_jtis: ports.IdentityJtiRepo
    api_tokens: ports.ApiTokenRepo
    access: ports.ConversationAccessRepo
    departments: ports.DepartmentRepo
    bans: ports.BanRepo
    passkeys: ports.PasskeyRepo
    webauthn_challenges: ports.WebAuthnChallengeRepo
    roles: ports.RoleRepo
    canned: ports.CannedRepo
    people: ports.PersonRepo
    files: ports.FileRepo
    password_resets: ports.PasswordResetRepo
    email_codes: ports.EmailCodeRepo

    def __init__(
        self,
        db: Database,
        bus: Bus,
        keys: ports.KeyStore,
        cache: KeyCache,
        *,
        write: bool,
        store: ports.FileStore | None = None,
        staff_cache: StaffKeyCache | None = None,
    ) -> None:
        self._db = db
        self._store = store
        # File blobs written by this transaction (removed if it does not commit) and
        # those whose rows it deleted (removed once it has committed).
        self._blobs_written: list[str] = []
        self._blobs_doomed: list[str] = []
        self._bus = bus
        self._keys = keys
        self._cache = cache
        self._staff_cache = staff_cache or StaffKeyCache()
        self._write = write
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        self._after: list[Callable[[], None]] = []
        self._committed = False
        self._stack: contextlib.AsyncExitStack | None = None
        self._unit: WriteUnit | None = None

    async def __aenter__(self) -> Self:
        self._stack = contextlib.AsyncExitStack()
        # On SQLite a write unit is part of a group commit (ADR 0006): leaving the stack
        # after commit() waits until the group is durable, before the outbox is sent.
        self._unit = await self._stack.enter_async_context(self._db.unit(write=self._write))
        conn = self._unit.conn
        cipher = VisitorCipher(conn, self._keys, self._cache)
        self.widgets = r.SqlWidgetRepo(conn)
        self.visitors = r.SqlVisitorRepo(conn, cipher)
        self.visitor_tokens = r.SqlVisitorTokenRepo(conn)
        self.users = r.SqlUserRepo(conn, StaffCipher(conn, self._keys, self._staff_cache))
        self.sessions = r.SqlSessionRepo(conn)
        self.conversations = r.SqlConversationRepo(conn, cipher)
        self.events = r.SqlEventRepo(conn, cipher)
        self.commands = r.SqlCommandRepo(conn)
        self.recovery_codes = r.SqlRecoveryCodeRepo(conn)
        self.login_failures = r.SqlLoginFailureRepo(conn)
        self.audit = r.SqlAuditRepo(conn)
        self.security = r.SqlSecuritySettingsRepo(conn)
        self.identity_jtis = r.SqlIdentityJtiRepo(conn)
        self.api_tokens = r.SqlApiTokenRepo(conn)
        self.access = r.SqlConversationAccessRepo(conn)
        self.departments = r.SqlDepartmentRepo(conn)
        self.bans = SqlBanRepo(conn)
        self.passkeys = SqlPasskeyRepo(conn)
        self.webauthn_challenges = SqlWebAuthnChallengeRepo(conn)
        self.roles = SqlRoleRepo(conn)
        self.canned = SqlCannedRepo(conn)
        self.people = SqlPersonRepo(conn, cipher)
        if self._store is not None:
            self.files = SqlFileRepo(
                conn,
                cipher,
                self._store,
                written=self._blobs_written.append,
                doomed=self._blobs_doomed.append,
            )
        self.password_resets = SqlPasswordResetRepo(conn)
        self.email_codes = SqlEmailCodeRepo(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._stack is not None
        # Not committed: the unit is undone when the stack closes.
        await self._stack.aclose()
        await self._settle_blobs()
        if self._committed:
            for callback in self._after:
                callback()
            await self._flush_outbox()

    async def commit(self) -> None:
        assert self._unit is not None
        try:
            await self._unit.commit()
        except IntegrityError as err:
            if "commands" in str(err.orig):
                raise DuplicateCommand from None
            raise
        self._committed = True

    def on_commit(self, channel: str, message: dict[str, Any]) -> None:
        self._outbox.append((channel, message))

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after.append(callback)

    async def _settle_blobs(self) -> None:
        if self._store is None:
            return
        gone = self._blobs_doomed if self._committed else self._blobs_written
        for key in gone:
            try:
                await self._store.delete(key)
            except (OSError, SQLAlchemyError):  # the directory or the database store
                # Sealed bytes without a row: unreadable without the row's binding, and
                # shredded with the visitor's key. Logged for a clean-up, never raised.
                log.warning("file_blob_delete_failed")
        self._blobs_written.clear()
        self._blobs_doomed.clear()

    async def _flush_outbox(self) -> None:
        # The database is the truth: a failed publish only delays delivery until the
        # client catches up by seq, so it is logged, never raised to the sender.
        for channel, message in self._outbox:
            try:
                await self._bus.publish(channel, message)
            except Exception:  # noqa: BLE001 - see above
                log.warning("bus_publish_failed", channel=channel.split(":", 1)[0])
        self._outbox.clear()


class SqlUnitOfWorkFactory:
    """Units of work over ``db``; ``keys`` (the KEK holder) seals visitors' data at rest."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        keys: ports.KeyStore,
        *,
        store: ports.FileStore | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        self._keys = keys
        self._cache = KeyCache()
        self._store = store
        self._staff_cache = StaffKeyCache()

    async def listen(self) -> None:
        """Follow erasures announced by any node (call once the bus is started)."""
        await self._bus.subscribe(ERASURES_CHANNEL, self._on_erasure)

    async def _on_erasure(self, _channel: str, message: dict[str, Any]) -> None:
        if message.get("type") == "erased":
            self._cache.forget(str(message.get("visitor")))
        elif message.get("type") == "resync":
            # The bus was down and may have lost an erasure: keep no key from before.
            self._cache.clear()

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self._db,
            self._bus,
            self._keys,
            self._cache,
            write=write,
            store=self._store,
            staff_cache=self._staff_cache,
        )


def _conforms(u: SqlUnitOfWork) -> UnitOfWork:
    return u
