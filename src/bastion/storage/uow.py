"""Unit of work: one transaction, with bus messages sent only after it commits."""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any, Self

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.domain import ports
from bastion.domain.ports import Bus, DuplicateCommand, UnitOfWork
from bastion.storage import repositories as r
from bastion.storage.auth_repos import SqlEmailCodeRepo, SqlPasswordResetRepo
from bastion.storage.bans import SqlBanRepo
from bastion.storage.canned import SqlCannedRepo
from bastion.storage.cipher import KeyCache, VisitorCipher
from bastion.storage.db import Database
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
        staff_cache: StaffKeyCache | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        self._keys = keys
        self._cache = cache
        self._staff_cache = staff_cache or StaffKeyCache()
        self._write = write
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        self._committed = False
        self._stack: contextlib.AsyncExitStack | None = None
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        self._stack = contextlib.AsyncExitStack()
        conn = await self._stack.enter_async_context(self._db.transaction(write=self._write))
        self._conn = conn
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
        self.password_resets = SqlPasswordResetRepo(conn)
        self.email_codes = SqlEmailCodeRepo(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._stack is not None and self._conn is not None
        try:
            if not self._committed and self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._stack.aclose()
        if self._committed:
            await self._flush_outbox()

    async def commit(self) -> None:
        assert self._conn is not None
        try:
            await self._conn.commit()
        except IntegrityError as err:
            if "commands" in str(err.orig):
                raise DuplicateCommand from None
            raise
        self._committed = True

    def on_commit(self, channel: str, message: dict[str, Any]) -> None:
        self._outbox.append((channel, message))

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

    def __init__(self, db: Database, bus: Bus, keys: ports.KeyStore) -> None:
        self._db = db
        self._bus = bus
        self._keys = keys
        self._cache = KeyCache()
        self._staff_cache = StaffKeyCache()

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self._db, self._bus, self._keys, self._cache, write=write, staff_cache=self._staff_cache
        )


def _conforms(u: SqlUnitOfWork) -> UnitOfWork:
    return u
