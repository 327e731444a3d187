"""Staff login and account security: throttling, two-step login, sessions, policies.

Every security event is written to the audit log in the same transaction as the change
it records (or, for failures, in its own), with actor, time, address and target.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bastion.domain.errors import (
    DomainError,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    InvalidOtp,
    IpNotAllowed,
    NotFound,
    OtpRequired,
    PasskeyRequired,
    SecondFactorUnavailable,
    TooManyAttempts,
    WeakPassword,
)
from bastion.domain.events import STAFF_CHANNEL, sessions_ended_notice
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import UNREADABLE_SECRET, AuditEntry, Role, StaffSession, User
from bastion.domain.permissions import Perm, allowed
from bastion.domain.ports import Clock, PasswordHasher, UnitOfWork, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal
from bastion.domain.second_factor import (
    APP,
    LOGIN,
    SETTING_ALLOW_EMAIL_OTP,
    SETTING_REQUIRE_2FA,
    email_otp_allowed,
    leaves_no_factor,
    must_enrol,
    normalise_code,
    second_factor_on,
    verify_code,
)
from bastion.security import totp
from bastion.security.envelope import DecryptionFailed
from bastion.security.passwords import password_weakness
from bastion.security.tokens import hash_token, new_token

# Failures before an account (or address) is locked, and how the lock grows.
ACCOUNT_FAILURES_BEFORE_LOCK = 5
IP_FAILURES_BEFORE_LOCK = 20
FIRST_LOCK = timedelta(minutes=1)
MAX_LOCK = timedelta(hours=1)
# A quiet period after which old failures are forgotten.
FAILURE_MEMORY = timedelta(hours=24)

SETTING_IP_ALLOWLIST = "staff_ip_allowlist"

STAFF_KEY_UNREADABLE = (
    "two-step login cannot be set up on this server right now; an operator must check its "
    "key-encryption key"
)
UNREADABLE_TOTP = (
    "codes from your authenticator app cannot be checked for this account; sign in with "
    "a recovery code (or an e-mailed code), then set up the app again"
)


@dataclass(frozen=True)
class LoginResult:
    session_token: str
    user: User


@dataclass(frozen=True)
class PasswordStep:
    """A right password: the user, the lock keys to clear, and how many passkeys they have."""

    user: User
    keys: list[tuple[str, int]]
    passkeys: int
    allow_email: bool = True  # policy: e-mailed codes count as a second step


def audit_entry(
    at: datetime,
    action: str,
    *,
    actor: str | None,
    target: str | None = None,
    ip: str | None = None,
    **details: Any,
) -> AuditEntry:
    return AuditEntry(at=at, action=action, actor=actor, target=target, ip=ip, details=details)


def parse_networks(ranges: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for raw in ranges:
        try:
            nets.append(ipaddress.ip_network(raw.strip(), strict=False))
        except ValueError:
            raise InvalidInput(f"not an address range: {raw[:60]!r}", field="ranges") from None
    return nets


def ip_in(ip: str | None, ranges: list[str]) -> bool:
    """True when the list is empty (no restriction) or ``ip`` falls in one of the ranges."""
    if not ranges:
        return True
    if ip is None:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in parse_networks(ranges))


def _throttle_key(kind: str, value: str) -> str:
    # Hashed so the table never holds e-mail addresses of people who mistyped them.
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def login_keys(email: str | None, ip: str | None) -> list[tuple[str, int]]:
    """The lock counters a login attempt feeds: the typed account's and the address's."""
    keys = []
    if email:
        keys.append(
            (_throttle_key("acct", email.strip().lower()[:254]), ACCOUNT_FAILURES_BEFORE_LOCK)
        )
    if ip:
        keys.append((_throttle_key("ip", ip), IP_FAILURES_BEFORE_LOCK))
    return keys


class _Refused(Exception):
    """A part of a policy save that may not be saved: the setting, a short reason for the
    audit log, and the error the caller gets.
    """

    def __init__(self, setting: str, reason: str, error: DomainError) -> None:
        super().__init__(reason)
        self.setting = setting
        self.reason = reason
        self.error = error


async def _read_policy(uow: UnitOfWork) -> dict[str, list[str] | bool]:
    """The policy's settings by setting key, unset ones at their defaults."""
    return {
        SETTING_REQUIRE_2FA: await uow.security.get(SETTING_REQUIRE_2FA) or [],
        SETTING_IP_ALLOWLIST: await uow.security.get(SETTING_IP_ALLOWLIST) or [],
        SETTING_ALLOW_EMAIL_OTP: await email_otp_allowed(uow),
    }


def _public_policy(settings: dict[str, list[str] | bool]) -> dict[str, Any]:
    """The policy as the API and the CLI name it."""
    return {
        "require_2fa_roles": settings[SETTING_REQUIRE_2FA],
        "ip_allowlist": settings[SETTING_IP_ALLOWLIST],
        "allow_email_otp": settings[SETTING_ALLOW_EMAIL_OTP],
    }


class AuthService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        *,
        absolute_s: int,
        ids: IdFactory = new_id,
        mail: bool = False,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        # Whether this server can send e-mail: without it, no e-mailed code is offered.
        self._mail = mail
        self._absolute = timedelta(seconds=absolute_s)
        self._ids = ids

    # ---- login ------------------------------------------------------------------------

    async def login(
        self,
        email: str,
        password: str,
        otp: str | None,
        *,
        ip: str | None,
        user_agent: str | None,
    ) -> LoginResult:
        """One answer and one cost for unknown accounts and wrong passwords; the lock
        applies to the typed address whether or not an account has it.
        """
        step = await self.check_password(email, password, ip=ip)
        user, now = step.user, self._clock.now()
        # Codes typed into the form: TOTP (and its recovery codes), or an e-mailed code
        # while the policy allows them (domain/second_factor.py).
        typed = second_factor_on(user, step.allow_email)
        if typed or step.passkeys:
            if not otp or not typed:
                # A passkey answers through its own route (domain/passkeys.py).
                if not typed:
                    raise PasskeyRequired("use your passkey to finish signing in")
                email_code = self._mail and step.allow_email and user.email_otp_enabled
                raise OtpRequired(
                    "enter the code from your authenticator app"
                    + (" or e-mail" if email_code else "")
                    + (", or use your passkey" if step.passkeys else ""),
                    email_code=email_code,
                )
            verdict = await self._check_second_factor(user, otp, now, step.allow_email)
            if verdict != "ok":
                await self.record_failure(step.keys, now, ip, user, "otp")
                if verdict == "used":
                    # A right code, already spent (two sign-ins within one step, or a
                    # replay): say so, or the person retypes it and blames their phone.
                    raise InvalidOtp("that code has already been used; wait for the next one")
                raise InvalidOtp("that code is not valid")
        return await self.open_session(
            user, step.keys, ip=ip, user_agent=user_agent, method="password", password=password
        )

    async def check_password(self, email: str, password: str, *, ip: str | None) -> PasswordStep:
        """The first step of a login: locks, the password, the staff allow-list.

        Failures count towards the account's and the address's lock.
        """
        email = email.strip().lower()[:254]
        now = self._clock.now()
        keys = login_keys(email, ip)
        async with self._uow(write=False) as uow:
            await self.check_unlocked(uow, keys, now)
            user = await uow.users.get_by_email(email)
            allowlist = await uow.security.get(SETTING_IP_ALLOWLIST) or []
            passkeys = await uow.passkeys.count_for_user(user.id) if user else 0
            allow_email = await email_otp_allowed(uow)
        ok = self._hasher.verify(user.password_hash if user else None, password[:1024])
        if user is None or not ok or user.disabled:
            await self.record_failure(keys, now, ip, user, "password")
            raise InvalidCredentials("wrong e-mail or password")
        if not ip_in(ip, allowlist):
            await self._record(audit_entry(now, "auth.ip_refused", actor=user.id, ip=ip))
            raise IpNotAllowed("staff access is not allowed from this address")
        return PasswordStep(user=user, keys=keys, passkeys=passkeys, allow_email=allow_email)

    @staticmethod
    async def check_unlocked(uow: UnitOfWork, keys: list[tuple[str, int]], now: datetime) -> None:
        for key, _limit in keys:
            state = await uow.login_failures.get(key)
            if state and state[2] and state[2] > now:
                retry = int((state[2] - now).total_seconds()) + 1
                raise TooManyAttempts(
                    "too many failed attempts; try again later", retry_after_s=retry
                )

    async def open_session(
        self,
        user: User,
        keys: list[tuple[str, int]],
        *,
        ip: str | None,
        user_agent: str | None,
        method: str,
        password: str | None = None,
    ) -> LoginResult:
        """Every factor has been checked: a new session (a new id on every login)."""
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
            public_id=self._ids("s"),
        )
        async with self._uow() as uow:
            for key, _limit in keys:
                await uow.login_failures.clear(key)
            await uow.sessions.add(session)
            if password is not None and self._hasher.needs_rehash(user.password_hash):
                await uow.users.set_password_hash(user.id, self._hasher.hash(password))
            details = {} if method == "password" else {"method": method}
            await uow.audit.add(audit_entry(now, "auth.login", actor=user.id, ip=ip, **details))
            await uow.commit()
        return LoginResult(session_token=token, user=user)

    async def _check_second_factor(
        self, user: User, code: str, now: datetime, allow_email: bool
    ) -> str:
        """``"ok"`` when ``code`` is a valid second step, ``"used"`` for an app code of a
        step already used, else ``"wrong"``; raises ``SecondFactorUnavailable`` for an app
        code when the stored secret does not open (fail closed, audited, not counted as a
        failure: nothing was guessed).
        """
        secret = None if user.totp_unreadable else user.totp_secret
        step = totp.matching_step(secret, code, now) if secret else None
        unavailable = replayed = False
        async with self._uow() as uow:
            if allow_email and user.email_otp_enabled and normalise_code(code) is not None:
                ok = await verify_code(uow, user.id, LOGIN, code, now)
                action = "auth.email_otp_used" if ok else "auth.otp_failed"
            elif step is not None:
                ok = await uow.users.claim_totp_step(user.id, step)
                replayed = not ok
                action = "auth.totp_used" if ok else "auth.totp_replay"
            elif user.totp_unreadable and totp.normalise_code(code) is not None:
                ok, unavailable = False, True
                action = "auth.second_factor_unavailable"
            else:
                recovery = totp.normalise_recovery_code(code) if user.totp_enabled else None
                ok = recovery is not None and await uow.recovery_codes.use(
                    user.id, hash_token(recovery), now
                )
                action = "auth.recovery_code_used" if ok else "auth.otp_failed"
            details = {"factor": "totp"} if unavailable else {}
            await uow.audit.add(audit_entry(now, action, actor=user.id, **details))
            await uow.commit()
        if unavailable:
            raise SecondFactorUnavailable(UNREADABLE_TOTP)
        return "ok" if ok else "used" if replayed else "wrong"

    async def record_failure(
        self,
        keys: list[tuple[str, int]],
        now: datetime,
        ip: str | None,
        user: User | None,
        reason: str,
    ) -> None:
        async with self._uow() as uow:
            for key, limit in keys:
                state = await uow.login_failures.get(key)
                count = 1
                if state and now - state[1] < FAILURE_MEMORY:
                    count = state[0] + 1
                locked_until = None
                if count >= limit:
                    # 1, 2, 4, … minutes, at most an hour: slows guessing to a crawl
                    # while a legitimate user who mistyped waits briefly.
                    lock = min(FIRST_LOCK * 2 ** (count - limit), MAX_LOCK)
                    locked_until = now + lock
                    await uow.audit.add(
                        audit_entry(
                            now,
                            "auth.locked",
                            actor=None,
                            target=user.id if user else None,
                            ip=ip,
                            seconds=int(lock.total_seconds()),
                        )
                    )
                await uow.login_failures.put(key, count, now, locked_until)
            await uow.audit.add(
                audit_entry(
                    now,
                    "auth.login_failed",
                    actor=None,
                    target=user.id if user else None,
                    ip=ip,
                    reason=reason,
                )
            )
            await uow.commit()

    async def confirm_password(
        self, user: User, password: str, ip: str | None, *, field: str = "password"
    ) -> None:
        """Re-entering the password guards changes to sign-in methods (and the password
        itself) against a stolen session; wrong guesses count towards the account's lock
        like failed logins, so a session cannot be used to guess the password.
        """
        now = self._clock.now()
        keys = login_keys(user.email, ip)
        async with self._uow(write=False) as uow:
            await self.check_unlocked(uow, keys, now)
        if not self._hasher.verify(user.password_hash, password[:1024]):
            await self.record_failure(keys, now, ip, user, "password_confirm")
            raise InvalidCredentials("wrong password", field=field)

    async def _record(self, entry: AuditEntry) -> None:
        async with self._uow() as uow:
            await uow.audit.add(entry)
            await uow.commit()

    async def unlock(self, email: str) -> None:
        """Operator action (CLI): forget an account's failures and lift its lock."""
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.login_failures.clear(_throttle_key("acct", email.strip().lower()))
            await uow.audit.add(audit_entry(now, "auth.unlocked", actor=None, target=email))
            await uow.commit()

    # ---- two-step login ---------------------------------------------------------------

    async def totp_setup(
        self, actor: StaffPrincipal, password: str, ip: str | None
    ) -> dict[str, str]:
        """Start enrolment: a new secret, pending until confirmed with a code.

        Needs the current password (``confirm_password``), as adding a passkey does: the
        secret is shown here, and whoever has it can confirm it, so a stolen session
        alone must neither see a secret nor bind its own app and take recovery codes.

        Also allowed while TOTP is on with an unreadable secret (set the app up again):
        the broken secret stays until the new one is confirmed, so the account never
        drops to the password alone.
        """
        async with self._uow(write=False) as uow:
            user = await self._user(uow, actor)
        await self.confirm_password(user, password, ip)
        secret = totp.new_secret()
        async with self._uow() as uow:
            user = await self._user(uow, actor)
            if user.totp_enabled and not user.totp_unreadable:
                raise Forbidden("two-step login is already on; turn it off first")
            kept = UNREADABLE_SECRET if user.totp_unreadable else None
            try:
                await uow.users.set_totp(user.id, secret=kept, pending=secret)
            except DecryptionFailed:
                raise SecondFactorUnavailable(STAFF_KEY_UNREADABLE) from None
            await uow.commit()
        uri = totp.provisioning_uri(secret, user.email)
        return {"secret": secret, "otpauth_uri": uri, "qr_svg_data_uri": totp.qr_svg_data_uri(uri)}

    async def totp_confirm(self, actor: StaffPrincipal, code: str, ip: str | None) -> list[str]:
        now = self._clock.now()
        codes = totp.new_recovery_codes()
        async with self._uow() as uow:
            user = await self._user(uow, actor)
            if user.totp_pending is None:
                raise Forbidden("start the set-up first")
            if user.totp_pending == UNREADABLE_SECRET:
                # Nothing to check the code against; a new set-up writes a new secret.
                await uow.audit.add(
                    audit_entry(
                        now,
                        "auth.second_factor_unavailable",
                        actor=user.id,
                        ip=ip,
                        factor="totp_pending",
                    )
                )
                await uow.commit()
                raise SecondFactorUnavailable("the set-up could not be read back; start it again")
            step = totp.matching_step(user.totp_pending, code, now)
            if step is None:
                raise InvalidOtp("that code is not valid; check your phone's clock")
            try:
                await uow.users.set_totp(user.id, secret=user.totp_pending, pending=None)
            except DecryptionFailed:
                raise SecondFactorUnavailable(STAFF_KEY_UNREADABLE) from None
            await uow.users.claim_totp_step(user.id, step)
            await uow.recovery_codes.replace(user.id, [hash_token(c) for c in codes], now)
            details = {"replaced": "unreadable"} if user.totp_unreadable else {}
            await uow.audit.add(
                audit_entry(now, "auth.totp_enabled", actor=user.id, ip=ip, **details)
            )
            await uow.commit()
        return codes

    async def totp_disable(self, actor: StaffPrincipal, password: str, ip: str | None) -> None:
        """Refused when the app is the last second factor of a role that requires one
        (passkeys and allowed e-mailed codes are what would be left).
        """
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            user = await self._user(uow, actor)
            last = await leaves_no_factor(uow, user, removing=APP)
        await self.confirm_password(user, password, ip)
        if last:
            raise Forbidden("your role requires two-step login; add a passkey first")
        async with self._uow() as uow:
            await uow.users.set_totp(user.id, secret=None, pending=None)
            await uow.recovery_codes.replace(user.id, [], now)
            await uow.audit.add(audit_entry(now, "auth.totp_disabled", actor=user.id, ip=ip))
            await uow.commit()

    @staticmethod
    async def _user(uow: UnitOfWork, actor: StaffPrincipal) -> User:
        user = await uow.users.get(actor.user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    # ---- password and sessions --------------------------------------------------------

    async def change_password(
        self, actor: StaffPrincipal, current: str, new: str, ip: str | None
    ) -> None:
        """Ends every other session of the user: whoever knew the old password is out."""
        async with self._uow(write=False) as uow:
            user = await self._user(uow, actor)
        await self.confirm_password(user, current, ip, field="current_password")
        weakness = password_weakness(new, [user.email, user.name])
        if weakness:
            raise WeakPassword(weakness, field="new_password")
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.users.set_password_hash(user.id, self._hasher.hash(new))
            ended = await uow.sessions.revoke_all(user.id, except_hash=actor.session_hash)
            # Sockets of the ended sessions close too; this session's stay (they check).
            uow.on_commit(STAFF_CHANNEL, sessions_ended_notice([user.id]))
            await uow.audit.add(
                audit_entry(
                    now, "auth.password_changed", actor=user.id, ip=ip, sessions_ended=ended
                )
            )
            await uow.commit()

    async def sessions(self, actor: StaffPrincipal) -> list[dict[str, Any]]:
        async with self._uow(write=False) as uow:
            sessions = await uow.sessions.list_for_user(actor.user_id)
        now = self._clock.now()
        return [
            {
                "id": s.public_id,
                "created_at": s.created_at.isoformat(),
                "last_seen_at": s.last_seen_at.isoformat(),
                "ip": s.ip,
                "user_agent": s.user_agent,
                "current": s.id_hash == actor.session_hash,
            }
            for s in sessions
            if s.expires_at > now and s.public_id
        ]

    async def end_session(self, actor: StaffPrincipal, public_id: str, ip: str | None) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.sessions.revoke_public(actor.user_id, public_id):
                raise NotFound("no such session")
            # A session ended from another device (a stolen one) takes its sockets with it.
            uow.on_commit(STAFF_CHANNEL, sessions_ended_notice([actor.user_id]))
            await uow.audit.add(
                audit_entry(now, "auth.session_ended", actor=actor.user_id, target=public_id, ip=ip)
            )
            await uow.commit()

    async def end_other_sessions(self, actor: StaffPrincipal, ip: str | None) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            ended = await uow.sessions.revoke_all(actor.user_id, except_hash=actor.session_hash)
            uow.on_commit(STAFF_CHANNEL, sessions_ended_notice([actor.user_id]))
            await uow.audit.add(
                audit_entry(now, "auth.sessions_ended", actor=actor.user_id, ip=ip, count=ended)
            )
            await uow.commit()
        return ended

    async def end_user_sessions(
        self, actor: StaffPrincipal | None, user_id: str, ip: str | None
    ) -> int:
        """Admin (or operator) action: log a user out everywhere."""
        if actor is not None and not allowed(actor, Perm.USERS_MANAGE):
            raise Forbidden("your role cannot manage users")
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.users.get(user_id) is None:
                raise NotFound("no such user")
            ended = await uow.sessions.revoke_all(user_id)
            uow.on_commit(STAFF_CHANNEL, sessions_ended_notice([user_id]))
            await uow.audit.add(
                audit_entry(
                    now,
                    "auth.sessions_ended",
                    actor=actor.user_id if actor else "cli",
                    target=user_id,
                    ip=ip,
                    count=ended,
                )
            )
            await uow.commit()
        return ended

    # ---- policies ---------------------------------------------------------------------

    async def enrollment_required(self, user: User) -> bool:
        """The user's role requires a second factor (TOTP, a passkey, or e-mailed codes
        while the policy allows them) they do not have.
        """
        async with self._uow(write=False) as uow:
            return await must_enrol(uow, user)

    async def policy(self) -> dict[str, Any]:
        async with self._uow(write=False) as uow:
            return _public_policy(await _read_policy(uow))

    async def set_policy(
        self,
        actor: StaffPrincipal | None,
        ip: str | None,
        *,
        require_2fa_roles: list[str] | None = None,
        ip_allowlist: list[str] | None = None,
        allow_email_otp: bool | None = None,
    ) -> dict[str, Any]:
        """Save any of the policy's settings (``None`` leaves one as it is), all or nothing.

        Every part is checked before any is written, and all are written in one
        transaction; only settings whose value changes are written and audited. A refused
        save changes nothing and is audited as ``policy.refused`` (the setting and a
        reason, never the submitted value). Returns the policy as saved.
        """
        self._check_admin(actor)
        now = self._clock.now()
        by = actor.user_id if actor else "cli"
        try:
            async with self._uow() as uow:
                wanted = await self._check_policy(
                    uow, actor, ip, require_2fa_roles, ip_allowlist, allow_email_otp
                )
                current = await _read_policy(uow)
                for key, value in wanted.items():
                    if value == current[key]:
                        continue  # the console sends every field: only changes are news
                    await uow.security.put(key, value)
                    await uow.audit.add(
                        audit_entry(now, f"policy.{key}", actor=by, ip=ip, value=value)
                    )
                await uow.commit()
        except _Refused as refused:
            # In its own transaction: the save's own was rolled back.
            await self._record(
                audit_entry(
                    now,
                    "policy.refused",
                    actor=by,
                    ip=ip,
                    setting=refused.setting,
                    reason=refused.reason,
                )
            )
            raise refused.error from None
        return _public_policy(current | wanted)

    async def set_require_2fa(
        self, actor: StaffPrincipal | None, roles: list[str], ip: str | None
    ) -> list[str]:
        """``set_policy`` of this setting alone (built-in or custom role names)."""
        saved = await self.set_policy(actor, ip, require_2fa_roles=roles)
        return list(saved["require_2fa_roles"])

    async def set_allow_email_otp(
        self, actor: StaffPrincipal | None, allow: bool, ip: str | None
    ) -> bool:
        """Whether e-mailed codes count as a second step (off: authenticator apps only)."""
        saved = await self.set_policy(actor, ip, allow_email_otp=allow)
        return bool(saved["allow_email_otp"])

    async def set_ip_allowlist(
        self, actor: StaffPrincipal | None, ranges: list[str], ip: str | None
    ) -> list[str]:
        """``set_policy`` of the staff allow-list alone (CIDR ranges; empty: anywhere)."""
        saved = await self.set_policy(actor, ip, ip_allowlist=ranges)
        return list(saved["ip_allowlist"])

    @staticmethod
    def _check_admin(actor: StaffPrincipal | None) -> None:
        if actor is not None and not allowed(actor, Perm.USERS_MANAGE):
            raise Forbidden("your role cannot change security settings")

    @staticmethod
    async def _check_policy(
        uow: UnitOfWork,
        actor: StaffPrincipal | None,
        ip: str | None,
        roles: list[str] | None,
        ranges: list[str] | None,
        allow_email: bool | None,
    ) -> dict[str, list[str] | bool]:
        """The cleaned new value of each setting asked for, by setting key; raises
        ``_Refused`` for the first part that may not be saved.

        An allow-list that leaves out the caller's own address is refused: they would be
        locked out. The operator (``actor`` None: the CLI) may save one, which is how a
        locked-out admin gets back in.
        """
        wanted: dict[str, list[str] | bool] = {}
        if roles is not None:
            cleaned = sorted(set(roles))
            # Built-in or custom roles (a custom role is a row of the roles table).
            known = {r.name for r in await uow.roles.list_all()} | {r.value for r in Role}
            if not set(cleaned) <= known:
                unknown = InvalidInput("unknown role", field="roles")
                raise _Refused(SETTING_REQUIRE_2FA, "unknown_role", unknown)
            wanted[SETTING_REQUIRE_2FA] = cleaned
        if ranges is not None:
            try:
                nets = [str(n) for n in parse_networks(ranges)]
            except InvalidInput as err:
                raise _Refused(SETTING_IP_ALLOWLIST, "invalid_range", err) from None
            if actor is not None and not ip_in(ip, nets):
                locked_out = Forbidden(
                    "your own address is not in the new list; you would be locked out"
                )
                raise _Refused(SETTING_IP_ALLOWLIST, "excludes_own_address", locked_out)
            wanted[SETTING_IP_ALLOWLIST] = nets
        if allow_email is not None:
            wanted[SETTING_ALLOW_EMAIL_OTP] = allow_email
        return wanted

    async def audit(
        self, actor: StaffPrincipal, limit: int, action_prefix: str | None
    ) -> list[AuditEntry]:
        self._check_admin(actor)
        async with self._uow(write=False) as uow:
            return await uow.audit.recent(limit, action_prefix)

    async def verify_audit(self, actor: StaffPrincipal) -> dict[str, Any]:
        """Check the audit log's hash chain (as ``bastion audit verify``): ``ok``, the
        number of entries, the head, and the first problems by entry number.
        """
        self._check_admin(actor)
        async with self._uow(write=False) as uow:
            return await uow.audit.verify()

    async def staff_names(self, actor: StaffPrincipal, ids: set[str]) -> dict[str, str]:
        """The names of the staff among ``ids`` (audit entries' actors and targets), so a
        reader of the log sees who did what to whom. Visitors stay ids: their names are
        personal data sealed per visitor, and an erased visitor has none.
        """
        self._check_admin(actor)
        async with self._uow(write=False) as uow:
            return {u.id: u.name for u in await uow.users.list_all() if u.id in ids}
