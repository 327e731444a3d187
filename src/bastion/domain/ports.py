"""The interfaces the domain talks to. Storage, bus and clock adapters implement them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from bastion.domain.models import (
    AgentStatus,
    ApiToken,
    AuditEntry,
    Ban,
    CannedResponse,
    Conversation,
    ConvState,
    Department,
    EmailCode,
    Event,
    OutgoingMail,
    Passkey,
    PasswordReset,
    RoleDef,
    SitePage,
    StaffSession,
    StoredFile,
    User,
    Visitor,
    VisitorToken,
    WebAuthnChallenge,
    Widget,
)

# Puts the named agents' active chats back in the queue when they may no longer hold them
# (ChatService.release_unheld); handed to the services that lock accounts and change roles.
ReleaseChats = Callable[[Sequence[str]], Awaitable[object]]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class KeyStore(Protocol):
    """Wraps data keys under a key-encryption key kept outside the database."""

    @property
    def kek_id(self) -> str:
        """Names the current key-encryption key (stored beside each wrapped key)."""
        ...

    def wrap(self, data_key: bytes, owner: str) -> bytes: ...
    def wrap_current(self, data_key: bytes, owner: str) -> tuple[str, bytes]:
        """(KEK id, wrapped key) under the current KEK (rotation may change it)."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, owner: str) -> bytes: ...
    def lookup_hmac(self, kind: str, value: str) -> str:
        """A keyed hash for equality look-ups on a sealed field (key kept outside the DB)."""
        ...


class Mailer(Protocol):
    """Sends e-mail (adapter: ``bastion.mail.smtp``). None in its place means mail is off."""

    async def send(self, mail: OutgoingMail) -> None:
        """Deliver one message; raises ``MailFailed`` when it cannot."""
        ...


class RateVerdict(Protocol):
    @property
    def allowed(self) -> bool: ...
    @property
    def retry_after(self) -> int: ...


class RateLimits(Protocol):
    """Named moving-window limits shared by every node (``security.ratelimit``)."""

    async def hit(self, rule: str, *key: str) -> RateVerdict: ...


class WidgetRepo(Protocol):
    async def get(self, widget_id: str) -> Widget | None: ...
    async def list_all(self) -> list[Widget]: ...
    async def add(self, widget: Widget) -> None: ...
    async def update(self, widget: Widget) -> None: ...


class VisitorRepo(Protocol):
    async def get(self, visitor_id: str) -> Visitor | None: ...
    async def name(self, visitor_id: str) -> str | None:
        """The visitor's name alone (one column to open, for every message they send)."""
        ...

    async def add(self, visitor: Visitor) -> None: ...
    async def update(self, visitor: Visitor) -> None: ...
    async def add_page(
        self, visitor_id: str, url: str, title: str | None, referrer: str | None, at: datetime
    ) -> None: ...
    async def last_page(self, visitor_id: str) -> tuple[str, str | None, datetime] | None:
        """(url, title, time) of the visitor's latest page view."""
        ...

    async def recent_pages(self, since: datetime, limit: int) -> list[SitePage]:
        """The latest page of each visitor seen since ``since``, newest first, at most
        ``limit`` visitors.
        """
        ...


class VisitorTokenRepo(Protocol):
    async def get(self, token_hash: str) -> VisitorToken | None: ...
    async def add(self, token: VisitorToken, created_at: datetime) -> None: ...
    async def revoke(self, token_hash: str) -> None: ...
    async def expire(self, token_hash: str, at: datetime) -> None: ...


class UserRepo(Protocol):
    """Staff accounts. A stored TOTP secret or pending secret that does not open reads
    as ``models.UNREADABLE_SECRET``, never as an error: the user still loads.
    """

    async def get(self, user_id: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def add(self, user: User) -> None: ...
    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...
    async def set_status(self, user_id: str, status: AgentStatus) -> None: ...
    async def count(self) -> int: ...
    async def list_all(self) -> list[User]: ...
    async def set_totp(self, user_id: str, *, secret: str | None, pending: str | None) -> None: ...
    async def set_email_otp(self, user_id: str, enabled: bool) -> None: ...
    async def claim_totp_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as used; False if it (or a later one) was used: replay."""
        ...

    async def set_role(self, user_id: str, role: str) -> None: ...
    async def set_disabled(self, user_id: str, disabled: bool) -> None: ...
    async def lock_for_assignment(self, user_id: str) -> User | None:
        """Read the user and hold its row lock until the transaction ends.

        Serialises chat assignment per agent across processes, so a count of the
        agent's active chats taken after it cannot be overtaken by another node.
        """
        ...


class RecoveryCodeRepo(Protocol):
    async def replace(self, user_id: str, code_hashes: list[str], at: datetime) -> None: ...
    async def use(self, user_id: str, code_hash: str, at: datetime) -> bool:
        """Mark an unused code used; False if unknown or already used."""
        ...

    async def count_unused(self, user_id: str) -> int: ...


class PasswordResetRepo(Protocol):
    async def add(self, reset: PasswordReset) -> None: ...
    async def get(self, token_hash: str) -> PasswordReset | None: ...
    async def claim(self, token_hash: str, at: datetime) -> bool:
        """Mark an unused, unexpired token used; False if it was not (single use)."""
        ...

    async def end_all(self, user_id: str, at: datetime) -> int:
        """Mark every unused token of the user used; returns how many."""
        ...


class EmailCodeRepo(Protocol):
    async def add(self, code: EmailCode) -> None: ...
    async def latest(self, user_id: str, purpose: str) -> EmailCode | None:
        """The newest unused code of the user for ``purpose``."""
        ...

    async def count_attempt(self, code_id: str) -> None: ...
    async def claim(self, code_id: str, at: datetime) -> bool:
        """Mark the code used; False if it already was (single use)."""
        ...

    async def end_all(self, user_id: str, purpose: str, at: datetime) -> None: ...


class LoginFailureRepo(Protocol):
    async def get(self, key: str) -> tuple[int, datetime, datetime | None] | None:
        """(count, last failure, locked until) for a throttling key."""
        ...

    async def put(
        self, key: str, count: int, at: datetime, locked_until: datetime | None
    ) -> None: ...
    async def clear(self, key: str) -> None: ...


class AuditRepo(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def recent(self, limit: int, action_prefix: str | None = None) -> list[AuditEntry]: ...
    async def verify(self) -> dict[str, Any]: ...


class SecuritySettingsRepo(Protocol):
    async def get(self, key: str) -> Any: ...
    async def put(self, key: str, value: Any) -> None: ...


class DepartmentRepo(Protocol):
    async def add(self, department: Department) -> None: ...
    async def list_all(self) -> list[Department]: ...
    async def get(self, department_id: str) -> Department | None: ...
    async def of_user(self, user_id: str) -> set[str]: ...
    async def set_for_user(self, user_id: str, department_ids: list[str]) -> None: ...
    async def set_retention(self, department_id: str, days: int | None) -> None: ...


class RoleRepo(Protocol):
    """Custom roles (rows of built-ins only reserve their names)."""

    async def get(self, name: str) -> RoleDef | None: ...
    async def list_all(self) -> list[RoleDef]: ...
    async def add(self, role: RoleDef) -> None: ...
    async def update(self, name: str, permissions: frozenset[str], at: datetime) -> None: ...
    async def delete(self, name: str) -> None: ...
    async def users_with(self, name: str) -> list[str]:
        """Ids of the users holding the role."""
        ...

    async def user_counts(self) -> dict[str, int]:
        """Role name → number of users holding it."""
        ...


class CannedRepo(Protocol):
    async def get(self, canned_id: str) -> CannedResponse | None: ...
    async def get_by_shortcut(self, shortcut: str) -> CannedResponse | None: ...
    async def list_for(self, department_ids: set[str] | None) -> list[CannedResponse]:
        """Global responses plus those of ``department_ids`` (None: every response)."""
        ...

    async def add(self, canned: CannedResponse) -> None: ...
    async def update(self, canned: CannedResponse) -> None: ...
    async def delete(self, canned_id: str) -> None: ...


class ApiTokenRepo(Protocol):
    async def add(self, token: ApiToken) -> None: ...
    async def get_by_hash(self, token_hash: str) -> ApiToken | None: ...
    async def list_all(self) -> list[ApiToken]: ...
    async def revoke(self, token_id: str) -> bool: ...
    async def touch(self, token_id: str, at: datetime) -> None: ...


class ConversationAccessRepo(Protocol):
    async def grant(self, conversation_id: str, user_id: str, until: datetime | None) -> None:
        """Give (or extend) a user's access; ``until`` None = while assigned."""
        ...

    async def end_open(self, conversation_id: str, until: datetime) -> None:
        """Bound every open-ended access of the conversation (on close or transfer)."""
        ...

    async def until(self, conversation_id: str, user_id: str) -> tuple[bool, datetime | None]:
        """(has a row, its end or None for open-ended)."""
        ...


class IdentityJtiRepo(Protocol):
    async def claim(self, widget_id: str, jti: str, expires_at: datetime) -> bool:
        """Record a token id; False if it was seen before (replay)."""
        ...


class SessionRepo(Protocol):
    async def get(self, id_hash: str) -> StaffSession | None: ...
    async def add(self, session: StaffSession) -> None: ...
    async def touch(self, id_hash: str, at: datetime) -> None: ...
    async def revoke(self, id_hash: str) -> None: ...
    async def list_for_user(self, user_id: str) -> list[StaffSession]: ...
    async def revoke_public(self, user_id: str, public_id: str) -> bool: ...
    async def revoke_all(self, user_id: str, *, except_hash: str | None = None) -> int: ...


class ConversationRepo(Protocol):
    async def get(self, conversation_id: str) -> Conversation | None: ...
    async def add(self, conversation: Conversation) -> None: ...
    async def next_seq(self, conversation_id: str) -> int:
        """Atomically increment and return the conversation's last seq (locks the row)."""
        ...

    async def transition(
        self,
        conversation_id: str,
        *,
        from_states: Sequence[ConvState],
        to_state: ConvState,
        agent_id: str | None,
        at: datetime,
        held_by: str | None = None,
    ) -> bool:
        """Compare-and-set the state; False when the current state is not in ``from_states``
        (or, with ``held_by``, the conversation is no longer that agent's).
        """
        ...

    async def set_agent(self, conversation_id: str, agent_id: str) -> None: ...
    async def list_for_visitor(self, visitor_id: str) -> list[Conversation]: ...
    async def list_for_staff(self, agent_id: str | None, *, all_active: bool) -> list[Conversation]:
        """Waiting conversations, plus active ones of ``agent_id`` (or all active ones)."""
        ...

    async def list_by_state(self, state: ConvState, limit: int) -> list[Conversation]: ...
    async def waiting_ahead(self, conversation: Conversation) -> int: ...
    async def count_active_for_agent(self, agent_id: str) -> int: ...
    async def recent_wait_seconds(self, limit: int) -> list[float]: ...
    async def set_rating(self, conversation_id: str, score: str, comment: str | None) -> None: ...
    async def last_activity(
        self, conversation_ids: Sequence[str] | None = None, limit: int = 500
    ) -> dict[str, datetime]:
        """Open conversations (of ``conversation_ids``, or the oldest ``limit``) → the time
        of their latest message from either side, acceptance or start, whichever is latest.
        """
        ...

    async def expired(
        self,
        before: datetime,
        limit: int,
        *,
        department_id: str | None = None,
        except_departments: Sequence[str] | None = None,
    ) -> list[str]:
        """Ids of conversations closed before ``before``, oldest first: those of
        ``department_id`` (None: without a department) or, given ``except_departments``,
        those without a department or of any department not listed.
        """
        ...

    async def purge(self, conversation_ids: Sequence[str]) -> dict[str, int]:
        """Delete the conversations and all that hangs off them; counts per kind."""
        ...


class EventRepo(Protocol):
    async def add(self, event: Event) -> None: ...
    async def after(self, conversation_id: str, after_seq: int, limit: int) -> list[Event]: ...
    async def last_message(self, conversation_id: str) -> Event | None: ...
    async def recent_bodies(
        self, conversation_id: str, author_id: str, since: datetime, limit: int
    ) -> list[tuple[datetime, str]]:
        """(time, body) of the author's latest messages since ``since``, newest first."""
        ...


class BanRepo(Protocol):
    async def add(self, ban: Ban) -> None: ...
    async def get(self, ban_id: str) -> Ban | None: ...
    async def lift(self, ban_id: str, by: str, at: datetime) -> None: ...
    async def list_active(self, now: datetime) -> list[Ban]: ...
    async def all_active(self, now: datetime) -> list[Ban]:
        """Every ban in force, unpaged (what a node keeps in memory to check against)."""
        ...


class CommandRepo(Protocol):
    async def get(self, principal_key: str, command_id: str) -> dict[str, Any] | None: ...
    async def add(
        self, principal_key: str, command_id: str, result: dict[str, Any], at: datetime
    ) -> None:
        """Record a command's result; raises DuplicateCommand if the id was taken meanwhile."""
        ...


class PasskeyRepo(Protocol):
    async def add(self, passkey: Passkey) -> None: ...
    async def get(self, passkey_id: str) -> Passkey | None: ...
    async def by_credential(self, credential_id: str) -> Passkey | None: ...
    async def list_for_user(self, user_id: str) -> list[Passkey]: ...
    async def count_for_user(self, user_id: str) -> int: ...
    async def rename(self, user_id: str, passkey_id: str, name: str) -> bool: ...
    async def delete(self, user_id: str, passkey_id: str) -> bool: ...
    async def record_use(
        self, passkey_id: str, old_count: int, new_count: int, at: datetime
    ) -> bool:
        """Compare-and-set the sign count; False when another use got there first."""
        ...


class WebAuthnChallengeRepo(Protocol):
    async def add(self, challenge: WebAuthnChallenge) -> None: ...
    async def take(self, id_hash: str) -> WebAuthnChallenge | None:
        """Remove and return the challenge: each one is answered at most once."""
        ...

    async def purge(self, before: datetime) -> None: ...


class PersonRepo(Protocol):
    """Everything stored about one visitor (GDPR export and erasure)."""

    async def ids_by_email(self, email: str) -> list[str]:
        """Ids of the visitors who gave this e-mail address (normalised; via the HMAC)."""
        ...

    async def ids_by_email_hmac(self, digest: str) -> list[str]: ...
    async def existing(self, visitor_ids: list[str]) -> list[str]: ...
    async def pages(self, visitor_id: str) -> list[dict[str, Any]]: ...
    async def erase(self, visitor_id: str) -> dict[str, int]:
        """Destroy the visitor's data key and delete their rows; counts per kind."""
        ...


class FileStore(Protocol):
    """Opaque blobs by key (the local data directory, or the database). Holds only
    ciphertext: the file repository seals before ``put`` and unseals after ``get``.
    """

    async def put(self, key: str, blob: bytes) -> None: ...
    async def get(self, key: str) -> bytes | None: ...
    async def delete(self, key: str) -> None: ...
    async def keys_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Keys of blobs written before ``cutoff``, at most ``limit`` (the orphan sweep)."""
        ...


class FileRepo(Protocol):
    async def add(self, file: StoredFile, content: bytes) -> None:
        """Seal ``content`` under the file's visitor's key, store it, insert the row."""
        ...

    async def get(self, file_id: str) -> StoredFile | None: ...
    async def content(self, file: StoredFile) -> bytes:
        """The file's plaintext (raises if its ciphertext was moved or tampered with)."""
        ...

    async def list_for_visitor(self, visitor_id: str) -> list[StoredFile]:
        """Every file sealed under the visitor's key (export and erasure)."""
        ...

    async def delete_for_visitor(self, visitor_id: str) -> int:
        """Delete the visitor's file rows and blobs; returns how many (erasure)."""
        ...

    async def delete_for_conversations(self, conversation_ids: Sequence[str]) -> int:
        """Delete the conversations' file rows, and their blobs after commit (retention)."""
        ...

    async def existing(self, file_ids: Sequence[str]) -> set[str]:
        """Which of ``file_ids`` have a file row."""
        ...


class ScanVerdict(Protocol):
    @property
    def clean(self) -> bool: ...
    @property
    def signature(self) -> str | None: ...


class Scanner(Protocol):
    """A malware scanner. Raises :class:`ScannerError` when it cannot give a verdict."""

    async def scan(self, data: bytes) -> ScanVerdict: ...
    async def ping(self) -> bool: ...


class ScannerError(Exception):
    """The scanner could not be reached or gave no verdict (the caller fails closed)."""


class UnitOfWork(Protocol):
    """One transaction. Messages queued with ``on_commit`` go to the bus after it commits."""

    widgets: WidgetRepo
    visitors: VisitorRepo
    visitor_tokens: VisitorTokenRepo
    users: UserRepo
    sessions: SessionRepo
    conversations: ConversationRepo
    events: EventRepo
    commands: CommandRepo
    recovery_codes: RecoveryCodeRepo
    login_failures: LoginFailureRepo
    audit: AuditRepo
    security: SecuritySettingsRepo
    identity_jtis: IdentityJtiRepo
    api_tokens: ApiTokenRepo
    access: ConversationAccessRepo
    departments: DepartmentRepo
    bans: BanRepo
    passkeys: PasskeyRepo
    webauthn_challenges: WebAuthnChallengeRepo
    roles: RoleRepo
    canned: CannedRepo
    people: PersonRepo
    password_resets: PasswordResetRepo
    email_codes: EmailCodeRepo

    files: FileRepo

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    def on_commit(self, channel: str, message: dict[str, Any]) -> None: ...
    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (never if it did not)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork: ...


BusHandler = Callable[[str, dict[str, Any]], Awaitable[None]]


class Bus(Protocol):
    """Says "something changed". It may drop messages: clients catch up from the database."""

    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...
    async def subscribe(self, channel: str, handler: BusHandler) -> None: ...
    async def unsubscribe(self, channel: str, handler: BusHandler) -> None: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class DuplicateCommand(Exception):
    """A command id was recorded by a concurrent transaction."""


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str | None, password: str) -> bool:
        """True only for a real hash that matches; costs the same for ``None``."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class ErasureEntry(Protocol):
    @property
    def email_hmac(self) -> str: ...
    @property
    def visitor_ids(self) -> tuple[str, ...]: ...


class ErasureLedger(Protocol):
    """Erasures, kept beside the keys (not in the database) so restores re-apply them."""

    def record(self, email: str, visitor_ids: list[str], at: datetime, actor: str) -> None:
        """Append and fsync an entry (the e-mail is stored only as its keyed hash)."""
        ...

    def entries(self) -> Sequence[ErasureEntry]: ...


class Scrubber(Protocol):
    async def scrub(self) -> bool:
        """Make deleted rows unrecoverable from the database files as far as the engine
        allows (SQLite: secure_delete is on, checkpoint and truncate the WAL;
        PostgreSQL: VACUUM the touched tables). False if SQLite readers kept the WAL busy.
        """
        ...
