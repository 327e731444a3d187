"""Passkeys (WebAuthn): register, list, rename and remove them; sign in with one.

A passkey signs in two ways: as the second step after the password (it then counts as
two-step login for ``require_2fa_roles``), or alone, passwordless, with a discoverable
credential and user verification (PIN or biometrics) required. Every ceremony has a
random challenge stored server-side, answered at most once, within ``CHALLENGE_TTL``.
Failures feed the same account and address locks as wrong passwords; every
registration, use, removal and failure is audited.

The WebAuthn checks themselves (challenge, origin, RP id hash, flags, signature) are
the ``WebAuthn`` port's, implemented over py_webauthn in ``bastion.security.webauthn``.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn, Protocol

from bastion.domain.auth import (
    SETTING_IP_ALLOWLIST,
    AuthService,
    LoginResult,
    audit_entry,
    ip_in,
    login_keys,
)
from bastion.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidState,
    IpNotAllowed,
    NotFound,
    PasskeyInvalid,
    PasskeysUnavailable,
)
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import Passkey, User, WebAuthnChallenge
from bastion.domain.ports import Clock, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal
from bastion.domain.second_factor import PASSKEY, UNREADABLE_APP_HINT, leaves_no_factor
from bastion.security.tokens import hash_token, new_token

CHALLENGE_TTL = timedelta(minutes=5)
MAX_PASSKEYS = 10
NAME_MAX = 60


# ---- the port --------------------------------------------------------------------------


class WebAuthnError(Exception):
    """A WebAuthn response failed verification. The text is a short reason for the audit
    log (an exception type name), never the response itself.
    """


@dataclass(frozen=True)
class NewCredential:
    credential_id: str  # base64url, no padding
    public_key: bytes  # COSE_Key
    sign_count: int
    transports: tuple[str, ...]


@dataclass(frozen=True)
class AssertionId:
    """Which credential an assertion claims to come from (not yet verified)."""

    credential_id: str
    user_handle: bytes | None


@dataclass(frozen=True)
class Assertion:
    credential_id: str
    sign_count: int
    user_verified: bool


class WebAuthn(Protocol):
    """A relying party: builds ceremony options and verifies the browser's answers."""

    rp_id: str

    def registration_options(
        self,
        *,
        challenge: bytes,
        user_handle: bytes,
        user_name: str,
        display_name: str,
        exclude: list[tuple[str, tuple[str, ...]]],
    ) -> dict[str, Any]: ...

    def verify_registration(
        self, credential: dict[str, Any], *, challenge: bytes
    ) -> NewCredential: ...

    def authentication_options(
        self,
        *,
        challenge: bytes,
        allow: list[tuple[str, tuple[str, ...]]],
        user_verification: bool,
    ) -> dict[str, Any]: ...

    def assertion_id(self, credential: dict[str, Any]) -> AssertionId: ...

    def verify_assertion(
        self,
        credential: dict[str, Any],
        *,
        challenge: bytes,
        public_key: bytes,
        require_user_verification: bool,
    ) -> Assertion: ...


# ---- helpers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ceremony:
    """What the browser needs to start a ceremony: an opaque token naming the stored
    challenge, and the ``publicKey`` options (JSON, binary values as base64url).
    """

    token: str
    public_key: dict[str, Any]


def user_handle(user_id: str) -> bytes:
    """The WebAuthn user handle: the random user id, never an e-mail address."""
    return user_id.encode("ascii")


def check_name(name: str) -> str:
    cleaned = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if not cleaned or len(cleaned) > NAME_MAX:
        raise InvalidInput(f"a passkey name has 1 to {NAME_MAX} characters", field="name")
    return cleaned


def passkey_summary(passkey: Passkey) -> dict[str, Any]:
    return {
        "id": passkey.id,
        "name": passkey.name,
        "created_at": passkey.created_at.isoformat(),
        "last_used_at": passkey.last_used_at.isoformat() if passkey.last_used_at else None,
        "transports": list(passkey.transports),
    }


def _allow(passkeys: list[Passkey]) -> list[tuple[str, tuple[str, ...]]]:
    return [(p.credential_id, p.transports) for p in passkeys]


class PasskeyService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        auth: AuthService,
        webauthn: WebAuthn | None,
        *,
        ids: IdFactory = new_id,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._auth = auth
        self._webauthn = webauthn
        self._ids = ids

    def _rp(self) -> WebAuthn:
        if self._webauthn is None:
            raise PasskeysUnavailable(
                "passkeys need the server's public address to be a domain name"
            )
        return self._webauthn

    async def _new_challenge(
        self, kind: str, *, user_id: str | None, session_hash: str | None, uv: bool
    ) -> tuple[str, bytes]:
        now = self._clock.now()
        token = new_token("wa")
        challenge = secrets.token_bytes(32)
        async with self._uow() as uow:
            await uow.webauthn_challenges.purge(now)
            await uow.webauthn_challenges.add(
                WebAuthnChallenge(
                    id_hash=hash_token(token),
                    kind=kind,
                    challenge=challenge,
                    expires_at=now + CHALLENGE_TTL,
                    user_id=user_id,
                    session_hash=session_hash,
                    user_verification=uv,
                )
            )
            await uow.commit()
        return token, challenge

    async def _take(self, token: str, kind: str) -> WebAuthnChallenge | None:
        """The stored challenge, consumed whatever happens next (single use)."""
        now = self._clock.now()
        async with self._uow() as uow:
            found = await uow.webauthn_challenges.take(hash_token(token[:200]))
            await uow.commit()
        if found is None or found.kind != kind or found.expires_at <= now:
            return None
        return found

    async def _audit(self, action: str, *, actor: str | None, ip: str | None, **kw: Any) -> None:
        async with self._uow() as uow:
            await uow.audit.add(audit_entry(self._clock.now(), action, actor=actor, ip=ip, **kw))
            await uow.commit()

    async def _user(self, actor: StaffPrincipal) -> User:
        async with self._uow(write=False) as uow:
            user = await uow.users.get(actor.user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    # ---- registration and management --------------------------------------------------

    async def registration_options(
        self, actor: StaffPrincipal, password: str, ip: str | None
    ) -> Ceremony:
        rp = self._rp()
        if actor.session_hash is None:
            raise Forbidden("passkeys are added from a console session")
        user = await self._user(actor)
        await self._auth.confirm_password(user, password, ip)
        async with self._uow(write=False) as uow:
            existing = await uow.passkeys.list_for_user(user.id)
        if len(existing) >= MAX_PASSKEYS:
            raise Conflict(f"at most {MAX_PASSKEYS} passkeys per account; remove one first")
        token, challenge = await self._new_challenge(
            "register", user_id=user.id, session_hash=actor.session_hash, uv=True
        )
        options = rp.registration_options(
            challenge=challenge,
            user_handle=user_handle(user.id),
            user_name=user.email,
            display_name=user.name,
            exclude=_allow(existing),
        )
        return Ceremony(token=token, public_key=options)

    async def register(
        self,
        actor: StaffPrincipal,
        ceremony: str,
        credential: dict[str, Any],
        name: str,
        ip: str | None,
    ) -> Passkey:
        rp = self._rp()
        name = check_name(name)
        found = await self._take(ceremony, "register")
        # Bound to the user and the very session that asked for it.
        if (
            found is None
            or found.user_id != actor.user_id
            or found.session_hash is None
            or found.session_hash != actor.session_hash
        ):
            await self._audit(
                "passkey.register_failed", actor=actor.user_id, ip=ip, reason="challenge"
            )
            raise PasskeyInvalid("this registration expired or was already used; start again")
        try:
            new = rp.verify_registration(credential, challenge=found.challenge)
        except WebAuthnError as err:
            await self._audit(
                "passkey.register_failed", actor=actor.user_id, ip=ip, reason=str(err)
            )
            raise PasskeyInvalid("the passkey could not be verified; try again") from None
        now = self._clock.now()
        passkey = Passkey(
            id=self._ids("pk"),
            user_id=actor.user_id,
            credential_id=new.credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            transports=new.transports,
            name=name,
            created_at=now,
        )
        async with self._uow() as uow:
            if await uow.passkeys.by_credential(new.credential_id) is not None:
                raise Conflict("this passkey is already registered")
            if await uow.passkeys.count_for_user(actor.user_id) >= MAX_PASSKEYS:
                raise Conflict(f"at most {MAX_PASSKEYS} passkeys per account; remove one first")
            await uow.passkeys.add(passkey)
            # The name is the user's own text: not in the audit log.
            await uow.audit.add(
                audit_entry(
                    now, "passkey.registered", actor=actor.user_id, target=passkey.id, ip=ip
                )
            )
            await uow.commit()
        return passkey

    async def of_user(self, actor: StaffPrincipal) -> list[Passkey]:
        async with self._uow(write=False) as uow:
            return await uow.passkeys.list_for_user(actor.user_id)

    async def rename(
        self, actor: StaffPrincipal, passkey_id: str, name: str, ip: str | None
    ) -> Passkey:
        name = check_name(name)
        async with self._uow() as uow:
            if not await uow.passkeys.rename(actor.user_id, passkey_id, name):
                raise NotFound("no such passkey")
            await uow.audit.add(
                audit_entry(
                    self._clock.now(),
                    "passkey.renamed",
                    actor=actor.user_id,
                    target=passkey_id,
                    ip=ip,
                )
            )
            passkey = await uow.passkeys.get(passkey_id)
            await uow.commit()
        assert passkey is not None
        return passkey

    async def delete(
        self, actor: StaffPrincipal, passkey_id: str, password: str, ip: str | None
    ) -> None:
        """Refused for the last second factor of a user whose role requires one."""
        user = await self._user(actor)
        async with self._uow(write=False) as uow:
            mine = {p.id for p in await uow.passkeys.list_for_user(user.id)}
        if passkey_id not in mine:
            raise NotFound("no such passkey")
        await self._auth.confirm_password(user, password, ip)
        async with self._uow() as uow:
            # Counted in the write transaction that removes it (domain/second_factor.py).
            last = await leaves_no_factor(uow, user, removing=PASSKEY)
            if not last and not await uow.passkeys.delete(user.id, passkey_id):
                raise NotFound("no such passkey")
            action = "passkey.delete_refused" if last else "passkey.deleted"
            await uow.audit.add(
                audit_entry(self._clock.now(), action, actor=user.id, target=passkey_id, ip=ip)
            )
            await uow.commit()
        if last:
            raise Forbidden(
                "your role requires two-step login: add another passkey or an "
                "authenticator app before removing this one"
                + (UNREADABLE_APP_HINT if user.totp_unreadable else "")
            )

    # ---- login ------------------------------------------------------------------------

    async def login_options(
        self, email: str | None, password: str | None, ip: str | None
    ) -> Ceremony:
        """With e-mail and password: the second step for that account (its passkeys
        only). Without: passwordless, any discoverable passkey, user verification required.
        """
        rp = self._rp()
        if email or password:
            if not email or not password:
                raise InvalidInput("give both e-mail and password, or neither", field="password")
            step = await self._auth.check_password(email, password, ip=ip)
            async with self._uow(write=False) as uow:
                passkeys = await uow.passkeys.list_for_user(step.user.id)
            if not passkeys:
                raise InvalidState("this account has no passkey")
            user_id: str | None = step.user.id
            allow, uv = _allow(passkeys), False
        else:
            async with self._uow(write=False) as uow:
                await AuthService.check_unlocked(uow, login_keys(None, ip), self._clock.now())
            user_id, allow, uv = None, [], True
        token, challenge = await self._new_challenge(
            "login", user_id=user_id, session_hash=None, uv=uv
        )
        options = rp.authentication_options(challenge=challenge, allow=allow, user_verification=uv)
        return Ceremony(token=token, public_key=options)

    async def login(
        self,
        ceremony: str,
        credential: dict[str, Any],
        *,
        ip: str | None,
        user_agent: str | None,
    ) -> LoginResult:
        rp = self._rp()
        now = self._clock.now()
        keys = login_keys(None, ip)
        async with self._uow(write=False) as uow:
            await AuthService.check_unlocked(uow, keys, now)
        found = await self._take(ceremony, "login")
        if found is None:
            await self._refuse(keys, ip, None, "challenge")
        expected = None
        if found.user_id is not None:
            async with self._uow(write=False) as uow:
                expected = await uow.users.get(found.user_id)
            keys = login_keys(expected.email if expected else None, ip)
        try:
            claimed = rp.assertion_id(credential)
        except WebAuthnError:
            await self._refuse(keys, ip, expected, "passkey_malformed")
        async with self._uow(write=False) as uow:
            passkey = await uow.passkeys.by_credential(claimed.credential_id)
            user = await uow.users.get(passkey.user_id) if passkey else None
            allowlist = await uow.security.get(SETTING_IP_ALLOWLIST) or []
        if passkey is None or user is None:
            await self._refuse(keys, ip, expected, "passkey_unknown")
        if expected is not None and user.id != expected.id:
            # Another account's passkey after this account's password: never a login.
            await self._refuse(keys, ip, expected, "passkey_other_user")
        keys = login_keys(user.email, ip)
        async with self._uow(write=False) as uow:
            await AuthService.check_unlocked(uow, keys, now)
        if user.disabled or (
            claimed.user_handle is not None and claimed.user_handle != user_handle(user.id)
        ):
            await self._refuse(keys, ip, user, "passkey_user")
        try:
            verified = rp.verify_assertion(
                credential,
                challenge=found.challenge,
                public_key=passkey.public_key,
                require_user_verification=found.user_verification,
            )
        except WebAuthnError as err:
            await self._refuse(keys, ip, user, f"passkey_invalid:{err}")
        # A counter that does not grow (when either side counts) means two copies of
        # the key exist: refused, and put on record for an administrator.
        stored, presented = passkey.sign_count, verified.sign_count
        if (stored or presented) and presented <= stored:
            await self._audit(
                "passkey.sign_count_regression",
                actor=None,
                ip=ip,
                target=user.id,
                passkey=passkey.id,
                stored=stored,
                presented=presented,
            )
            await self._refuse(keys, ip, user, "passkey_sign_count")
        if not ip_in(ip, allowlist):
            await self._audit("auth.ip_refused", actor=user.id, ip=ip)
            raise IpNotAllowed("staff access is not allowed from this address")
        passwordless = found.user_id is None
        async with self._uow() as uow:
            won = await uow.passkeys.record_use(passkey.id, stored, presented, now)
            if won:
                await uow.audit.add(
                    audit_entry(
                        now,
                        "passkey.used",
                        actor=user.id,
                        target=passkey.id,
                        ip=ip,
                        passwordless=passwordless,
                    )
                )
                await uow.commit()
        if not won:
            await self._refuse(keys, ip, user, "passkey_replay")
        return await self._auth.open_session(
            user,
            keys,
            ip=ip,
            user_agent=user_agent,
            method="passkey" if passwordless else "password+passkey",
        )

    async def _refuse(
        self,
        keys: list[tuple[str, int]],
        ip: str | None,
        user: User | None,
        reason: str,
    ) -> NoReturn:
        await self._auth.record_failure(keys, self._clock.now(), ip, user, reason)
        raise PasskeyInvalid("that passkey could not sign you in")

    async def has_any(self, user_id: str) -> bool:
        async with self._uow(write=False) as uow:
            return await uow.passkeys.count_for_user(user_id) > 0
