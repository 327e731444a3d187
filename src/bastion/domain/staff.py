"""Staff accounts and sessions: argon2id passwords, server-side revocable sessions."""

from __future__ import annotations

from datetime import timedelta

from bastion.domain.auth import SETTING_IP_ALLOWLIST, audit_entry, ip_in
from bastion.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    IpNotAllowed,
    NotAuthenticated,
    NotFound,
    TwoFactorRequired,
    WeakPassword,
)
from bastion.domain.events import STAFF_CHANNEL, sessions_ended_notice
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import AgentStatus, Role, User
from bastion.domain.permissions import Perm, allowed
from bastion.domain.plaintext import check_plain
from bastion.domain.ports import Clock, PasswordHasher, ReleaseChats, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal
from bastion.domain.roles import check_holds, check_role_exists, resolve_permissions
from bastion.domain.second_factor import must_enrol
from bastion.security.passwords import password_weakness
from bastion.security.tokens import hash_token


def check_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or " " in email:
        raise InvalidInput("not an e-mail address", field="email")
    return email


def check_password(password: str, user_inputs: list[str]) -> str:
    weakness = password_weakness(password, user_inputs)
    if weakness:
        raise WeakPassword(weakness, field="password")
    return password


def user_summary(user: User) -> dict[str, str]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "status": user.status.value,
    }


def responder_summary(user: User) -> dict[str, str]:
    """What a colleague may know of another responder: id, name and chosen availability."""
    return {"id": user.id, "name": user.name, "status": user.status.value}


class StaffService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        *,
        idle_s: int,
        absolute_s: int,
        ids: IdFactory = new_id,
        release_chats: ReleaseChats | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._idle = timedelta(seconds=idle_s)
        self._absolute = timedelta(seconds=absolute_s)
        self._ids = ids
        self._release_chats = release_chats

    async def _release(self, user_id: str) -> None:
        """After a lock or a role change: the user's chats go back to the queue if they
        may no longer hold them (a no-op otherwise).
        """
        if self._release_chats is not None:
            await self._release_chats([user_id])

    async def create_user(
        self,
        actor: StaffPrincipal | None,
        *,
        email: str,
        password: str,
        role: str,
        name: str | None = None,
    ) -> User:
        """Create a staff account; ``actor`` None is the local operator (CLI, first start).
        ``role`` is a built-in role or a custom one; the actor must hold all its permissions.
        """
        role = str(role)
        if actor is not None:
            if not allowed(actor, Perm.USERS_MANAGE):
                raise Forbidden("your role cannot manage users")
            if role == Role.OWNER and actor.role != Role.OWNER:
                raise Forbidden("only an owner can create an owner")
        email = check_email(email)
        display = (name or email.split("@", 1)[0]).strip()[:80]
        # Shown to visitors and in their transcripts: a line break or an override would
        # let the name forge lines or read as something else.
        check_plain(display, "the name", "name")
        check_password(password, [email, display])
        user = User(
            id=self._ids("u"),
            email=email,
            name=display,
            role=role,
            password_hash=self._hasher.hash(password),
            status=AgentStatus.OFFLINE,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await check_role_exists(uow, role)
            check_holds(actor, await resolve_permissions(uow, role), "grant")
            if await uow.users.get_by_email(email) is not None:
                raise Conflict("a user with this e-mail exists", field="email")
            await uow.users.add(user)
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "user.created",
                    actor=actor.user_id if actor else "cli",
                    target=user.id,
                    role=role,
                )
            )
            await uow.commit()
        return user

    async def has_users(self) -> bool:
        async with self._uow(write=False) as uow:
            return await uow.users.count() > 0

    async def authenticate(
        self,
        session_token: str | None,
        *,
        ip: str | None = None,
        allow_unenrolled: bool = False,
    ) -> tuple[StaffPrincipal, User]:
        """The principal behind a session cookie. Idle and absolute timeouts, the staff
        IP allow-list and the two-step requirement of the user's role all apply here, so
        every transport enforces them alike. ``allow_unenrolled`` admits a user who must
        still enrol (only for the enrolment and account routes).
        """
        if not session_token or len(session_token) > 200:
            raise NotAuthenticated("please log in")
        id_hash = hash_token(session_token)
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            session = await uow.sessions.get(id_hash)
            user = await uow.users.get(session.user_id) if session else None
            allowlist = await uow.security.get(SETTING_IP_ALLOWLIST) or []
            # An app, a passkey, or e-mailed codes the policy allows (domain/second_factor.py).
            enrolled = user is not None and not await must_enrol(uow, user)
            # Resolved per request, not cached: a role edit on another node applies at once.
            permissions = await resolve_permissions(uow, user.role) if user else frozenset()
        if (
            session is None
            or user is None
            or session.revoked
            or user.disabled
            or session.expires_at <= now
            or session.last_seen_at + self._idle <= now
        ):
            raise NotAuthenticated("please log in")
        if not ip_in(ip, allowlist):
            raise IpNotAllowed("staff access is not allowed from this address")
        if not enrolled and not allow_unenrolled:
            raise TwoFactorRequired("set up two-step login before continuing")
        # Touch at most once a minute: sliding idle timeout without a write per request.
        if now - session.last_seen_at > timedelta(seconds=60):
            async with self._uow() as uow:
                await uow.sessions.touch(id_hash, now)
                await uow.commit()
        principal = StaffPrincipal(
            user_id=user.id,
            name=user.name,
            role=user.role,
            session_hash=id_hash,
            permissions=permissions,
        )
        return principal, user

    async def logout(self, session_token: str, ip: str | None = None) -> None:
        async with self._uow() as uow:
            session = await uow.sessions.get(hash_token(session_token))
            await uow.sessions.revoke(hash_token(session_token))
            if session is not None:
                # The session's open sockets end with it (they check their session again).
                uow.on_commit(STAFF_CHANNEL, sessions_ended_notice([session.user_id]))
                await uow.audit.add(
                    audit_entry(self._clock.now(), "auth.logout", actor=session.user_id, ip=ip)
                )
            await uow.commit()

    async def find(self, email: str) -> User:
        """Operator look-up by e-mail (CLI)."""
        async with self._uow(write=False) as uow:
            user = await uow.users.get_by_email(email.strip().lower())
        if user is None:
            raise NotFound("no such user")
        return user

    async def list_users(self, actor: StaffPrincipal) -> list[User]:
        if not allowed(actor, Perm.USERS_MANAGE):
            raise Forbidden("your role cannot manage users")
        async with self._uow(write=False) as uow:
            return await uow.users.list_all()

    async def list_responders(self, actor: StaffPrincipal) -> list[User]:
        """Active staff whose role may handle chats, by name: whom a responder may transfer to.

        Any responder may read it (``chat.handle``); callers show only ids, names and
        availability (``responder_summary``), nothing an admin's user list has beyond that.
        """
        if not allowed(actor, Perm.CHAT_HANDLE):
            raise Forbidden("your role cannot handle chats")
        async with self._uow(write=False) as uow:
            users = await uow.users.list_all()
            perms = {role: await resolve_permissions(uow, role) for role in {u.role for u in users}}
        found = [u for u in users if not u.disabled and Perm.CHAT_HANDLE in perms[u.role]]
        return sorted(found, key=lambda u: (u.name.casefold(), u.id))

    async def set_role(
        self, actor: StaffPrincipal | None, user_id: str, role: str, ip: str | None = None
    ) -> None:
        """Change a role (built-in or custom). The user's sessions end, so the next login
        gets a new session id with the new privileges (no session outlives a privilege
        change). The actor must hold every permission of both the old and the new role.
        """
        role = str(role)
        if actor is not None:
            if not allowed(actor, Perm.USERS_MANAGE):
                raise Forbidden("your role cannot manage users")
            if role == Role.OWNER and actor.role != Role.OWNER:
                raise Forbidden("only an owner can make an owner")
            if actor.user_id == user_id:
                raise Forbidden("ask another admin to change your own role")
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound("no such user")
            if user.role == Role.OWNER and actor is not None and actor.role != Role.OWNER:
                raise Forbidden("only an owner can change an owner")
            await check_role_exists(uow, role)
            check_holds(actor, await resolve_permissions(uow, role), "grant")
            check_holds(actor, await resolve_permissions(uow, user.role), "take away")
            await uow.users.set_role(user_id, role)
            ended = await uow.sessions.revoke_all(user_id)
            uow.on_commit(STAFF_CHANNEL, sessions_ended_notice([user_id]))
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "user.role_changed",
                    actor=actor.user_id if actor else "cli",
                    target=user_id,
                    ip=ip,
                    old=user.role,
                    new=role,
                    sessions_ended=ended,
                )
            )
            await uow.commit()
        await self._release(user_id)

    async def set_status(self, actor: StaffPrincipal, status: AgentStatus) -> dict[str, str]:
        async with self._uow() as uow:
            await uow.users.set_status(actor.user_id, status)
            uow.on_commit(
                STAFF_CHANNEL,
                {
                    "type": "presence",
                    "agent": {"id": actor.user_id, "name": actor.name},
                    "status": status.value,
                },
            )
            await uow.commit()
        return {"status": status.value}

    async def set_disabled(
        self, actor: StaffPrincipal | None, user_id: str, disabled: bool, ip: str | None = None
    ) -> int:
        """Lock (``disabled``) or unlock an account. Locking ends every session of the
        user; returns how many ended. The same owner and permission rules as a role change.
        """
        if actor is not None:
            if not allowed(actor, Perm.USERS_MANAGE):
                raise Forbidden("your role cannot manage users")
            if actor.user_id == user_id:
                raise Forbidden("you cannot lock your own account")
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound("no such user")
            if user.role == Role.OWNER and actor is not None and actor.role != Role.OWNER:
                raise Forbidden("only an owner can lock an owner")
            check_holds(actor, await resolve_permissions(uow, user.role), "take away")
            await uow.users.set_disabled(user_id, disabled)
            ended = await uow.sessions.revoke_all(user_id) if disabled else 0
            if disabled:
                uow.on_commit(STAFF_CHANNEL, sessions_ended_notice([user_id]))
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "user.locked" if disabled else "user.unlocked",
                    actor=actor.user_id if actor else "cli",
                    target=user_id,
                    ip=ip,
                    sessions_ended=ended,
                )
            )
            await uow.commit()
        if disabled:
            await self._release(user_id)
        return ended
