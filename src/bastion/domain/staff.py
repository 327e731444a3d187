"""Staff accounts and sessions: argon2id passwords, server-side revocable sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bastion.domain.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotAuthenticated,
)
from bastion.domain.events import STAFF_CHANNEL
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import AgentStatus, Role, StaffSession, User
from bastion.domain.permissions import Perm, has_perm
from bastion.domain.ports import Clock, PasswordHasher, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal
from bastion.security.passwords import MIN_PASSWORD_LENGTH
from bastion.security.tokens import hash_token, new_token


@dataclass(frozen=True)
class LoginResult:
    session_token: str
    user: User


def check_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or " " in email:
        raise InvalidInput("not an e-mail address", field="email")
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > 1024:
        raise InvalidInput("password is too long", field="password")
    return password


def user_summary(user: User) -> dict[str, str]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "status": user.status.value,
    }


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
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._idle = timedelta(seconds=idle_s)
        self._absolute = timedelta(seconds=absolute_s)
        self._ids = ids

    async def create_user(
        self,
        actor: StaffPrincipal | None,
        *,
        email: str,
        password: str,
        role: Role,
        name: str | None = None,
    ) -> User:
        """Create a staff account; ``actor`` None is the local operator (CLI, first start)."""
        if actor is not None:
            if not has_perm(actor.role, Perm.USERS_MANAGE):
                raise Forbidden("your role cannot manage users")
            if role is Role.OWNER and actor.role is not Role.OWNER:
                raise Forbidden("only an owner can create an owner")
        email = check_email(email)
        check_password(password)
        user = User(
            id=self._ids("u"),
            email=email,
            name=(name or email.split("@", 1)[0]).strip()[:80],
            role=role,
            password_hash=self._hasher.hash(password),
            status=AgentStatus.OFFLINE,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            if await uow.users.get_by_email(email) is not None:
                raise Conflict("a user with this e-mail exists", field="email")
            await uow.users.add(user)
            await uow.commit()
        return user

    async def has_users(self) -> bool:
        async with self._uow(write=False) as uow:
            return await uow.users.count() > 0

    async def login(
        self, email: str, password: str, *, ip: str | None, user_agent: str | None
    ) -> LoginResult:
        """One answer, one cost, for unknown accounts and wrong passwords."""
        async with self._uow(write=False) as uow:
            user = await uow.users.get_by_email(email.strip().lower()[:254])
        ok = self._hasher.verify(user.password_hash if user else None, password[:1024])
        if user is None or not ok or user.disabled:
            raise InvalidCredentials("wrong e-mail or password")
        now = self._clock.now()
        token = new_token("st")
        session = StaffSession(
            id_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._absolute,
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
        async with self._uow() as uow:
            await uow.sessions.add(session)
            if self._hasher.needs_rehash(user.password_hash):
                await uow.users.set_password_hash(user.id, self._hasher.hash(password))
            await uow.commit()
        return LoginResult(session_token=token, user=user)

    async def authenticate(self, session_token: str | None) -> tuple[StaffPrincipal, User]:
        """The principal behind a session cookie; idle and absolute timeouts apply."""
        if not session_token or len(session_token) > 200:
            raise NotAuthenticated("please log in")
        id_hash = hash_token(session_token)
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            session = await uow.sessions.get(id_hash)
            user = await uow.users.get(session.user_id) if session else None
        if (
            session is None
            or user is None
            or session.revoked
            or user.disabled
            or session.expires_at <= now
            or session.last_seen_at + self._idle <= now
        ):
            raise NotAuthenticated("please log in")
        # Touch at most once a minute: sliding idle timeout without a write per request.
        if now - session.last_seen_at > timedelta(seconds=60):
            async with self._uow() as uow:
                await uow.sessions.touch(id_hash, now)
                await uow.commit()
        principal = StaffPrincipal(
            user_id=user.id, name=user.name, role=user.role, session_hash=id_hash
        )
        return principal, user

    async def logout(self, session_token: str) -> None:
        async with self._uow() as uow:
            await uow.sessions.revoke(hash_token(session_token))
            await uow.commit()

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

    async def any_online(self) -> bool:
        async with self._uow(write=False) as uow:
            users = await uow.users.list_all()
        return any(u.status is AgentStatus.ONLINE and not u.disabled for u in users)
