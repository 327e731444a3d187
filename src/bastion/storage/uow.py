"""Unit of work: one transaction, with bus messages sent only after it commits."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, overload

import structlog
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.domain import ports
from bastion.domain.events import ERASURES_CHANNEL
from bastion.domain.ports import Bus, DuplicateCommand, UnitOfWork
from bastion.storage import repositories as r
from bastion.storage.auditchain import SqlAuditRepo, audit_key
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

T = TypeVar("T")


class _Lazy(Generic[T]):
    """A repository built on first use in a unit, then kept in the unit's ``__dict__``.

    A chat message's unit uses five of the twenty-five repositories; the others are not
    built for it.
    """

    __slots__ = ("_build", "_name")

    def __init__(self, build: Callable[[SqlUnitOfWork], T]) -> None:
        self._build = build
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Self: ...
    @overload
    def __get__(self, uow: SqlUnitOfWork, owner: type | None = None) -> T: ...
    def __get__(self, uow: SqlUnitOfWork | None, owner: type | None = None) -> T | Self:
        if uow is None:
            return self
        if uow._unit is None:
            raise RuntimeError("a unit of work's repositories are used inside its block")
        value = self._build(uow)
        uow.__dict__[self._name] = value
        return value


class SqlUnitOfWork:
    _keys: ports.KeyStore
    _cache: KeyCache
    _staff_cache: StaffKeyCache
    _audit_cache: StaffKeyCache
    # Each repository is built from the unit's connection (and cipher) on first use.
    _cipher = _Lazy[VisitorCipher](lambda u: VisitorCipher(u._conn, u._keys, u._cache))
    widgets = _Lazy[ports.WidgetRepo](lambda u: r.SqlWidgetRepo(u._conn))
    visitors = _Lazy[ports.VisitorRepo](lambda u: r.SqlVisitorRepo(u._conn, u._cipher))
    visitor_tokens = _Lazy[ports.VisitorTokenRepo](lambda u: r.SqlVisitorTokenRepo(u._conn))
    users = _Lazy[ports.UserRepo](
        lambda u: r.SqlUserRepo(u._conn, StaffCipher(u._conn, u._keys, u._staff_cache))
    )
    sessions = _Lazy[ports.SessionRepo](lambda u: r.SqlSessionRepo(u._conn))
    conversations = _Lazy[ports.ConversationRepo](
        lambda u: r.SqlConversationRepo(u._conn, u._cipher)
    )
    events = _Lazy[ports.EventRepo](lambda u: r.SqlEventRepo(u._conn, u._cipher))
    commands = _Lazy[ports.CommandRepo](lambda u: r.SqlCommandRepo(u._conn))
    recovery_codes = _Lazy[ports.RecoveryCodeRepo](lambda u: r.SqlRecoveryCodeRepo(u._conn))
    login_failures = _Lazy[ports.LoginFailureRepo](lambda u: r.SqlLoginFailureRepo(u._conn))
    audit = _Lazy[ports.AuditRepo](
        lambda u: SqlAuditRepo(u._conn, audit_key(u._conn, u._keys, u._audit_cache))
    )
    security = _Lazy[ports.SecuritySettingsRepo](lambda u: r.SqlSecuritySettingsRepo(u._conn))
    identity_jtis = _Lazy[ports.IdentityJtiRepo](lambda u: r.SqlIdentityJtiRepo(u._conn))
    api_tokens = _Lazy[ports.ApiTokenRepo](lambda u: r.SqlApiTokenRepo(u._conn))
    access = _Lazy[ports.ConversationAccessRepo](lambda u: r.SqlConversationAccessRepo(u._conn))
    departments = _Lazy[ports.DepartmentRepo](lambda u: r.SqlDepartmentRepo(u._conn))
    bans = _Lazy[ports.BanRepo](lambda u: SqlBanRepo(u._conn))
    passkeys = _Lazy[ports.PasskeyRepo](lambda u: SqlPasskeyRepo(u._conn))
    webauthn_challenges = _Lazy[ports.WebAuthnChallengeRepo](
        lambda u: SqlWebAuthnChallengeRepo(u._conn)
    )
    roles = _Lazy[ports.RoleRepo](lambda u: SqlRoleRepo(u._conn))
    canned = _Lazy[ports.CannedRepo](lambda u: SqlCannedRepo(u._conn))
    people = _Lazy[ports.PersonRepo](lambda u: SqlPersonRepo(u._conn, u._cipher))
    files = _Lazy[ports.FileRepo](lambda u: u._file_repo())
    password_resets = _Lazy[ports.PasswordResetRepo](lambda u: SqlPasswordResetRepo(u._conn))
    email_codes = _Lazy[ports.EmailCodeRepo](lambda u: SqlEmailCodeRepo(u._conn))

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
        audit_cache: StaffKeyCache | None = None,
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
        self._audit_cache = audit_cache or StaffKeyCache()
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
        return self

    @property
    def _conn(self) -> AsyncConnection:
        assert self._unit is not None
        return self._unit.conn

    def _file_repo(self) -> SqlFileRepo:
        if self._store is None:
            raise AttributeError("files are not available in this unit of work")
        return SqlFileRepo(
            self._conn,
            self._cipher,
            self._store,
            written=self._blobs_written.append,
            doomed=self._blobs_doomed.append,
        )

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
        # Audit entries join the chain last: the head's lock is held only for the commit.
        audit = self.__dict__.get("audit")
        if isinstance(audit, SqlAuditRepo):
            await audit.flush()
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
        self._audit_cache = StaffKeyCache()

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
            audit_cache=self._audit_cache,
        )


def _conforms(u: SqlUnitOfWork) -> UnitOfWork:
    return u
