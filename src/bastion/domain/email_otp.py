"""E-mailed one-time codes: a second step at sign-in, for staff who turn it on.

A code is eight digits (about 27 bits), lives ``BASTION_EMAIL_OTP_TTL_S`` (10 minutes by
default), works once, and only the newest code of a user counts: asking again ends the
older ones. Five wrong guesses burn a code; wrong codes also count as failed logins, so
the account lock stops guessing across codes. Sends are limited per account and per
address. Codes are stored as a SHA-256 of the row id and the code: that keeps them out of
the database in readable form, but a short code's hash can be reversed by brute force, so
the short life and single use are what protect it — not the hash.

An administrator may forbid e-mailed codes altogether (policy ``allow_email_otp``, on by
default): then they are neither sent nor accepted, a user with no other second factor
signs in with the password alone, and roles that require two-step login make such users
set up an authenticator app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from bastion.domain.auth import AuthService, audit_entry
from bastion.domain.errors import (
    EmailOtpNotAllowed,
    Forbidden,
    InvalidOtp,
    MailUnavailable,
    NotFound,
    RateLimited,
)
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import EmailCode, OutgoingMail, User
from bastion.domain.ports import (
    Clock,
    Mailer,
    PasswordHasher,
    RateLimits,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bastion.domain.principals import StaffPrincipal
from bastion.domain.second_factor import (
    EMAIL,
    ENABLE,
    LOGIN,
    UNREADABLE_APP_HINT,
    code_hash,
    email_otp_allowed,
    leaves_no_factor,
    new_code,
    verify_code,
)


class EmailOtpService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        auth: AuthService,
        mailer: Mailer | None,
        limits: RateLimits,
        *,
        ttl_s: int,
        ids: IdFactory = new_id,
        codes: Callable[[], str] = new_code,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._auth = auth
        self._mailer = mailer
        self._limits = limits
        self._ttl = timedelta(seconds=ttl_s)
        self._ids = ids
        self._codes = codes

    async def request_login_code(self, email: str, password: str, ip: str | None) -> None:
        """Send a sign-in code to a user who gave the right password and turned e-mailed
        codes on. The password check is the login's own (same lock, same failures).
        """
        self._check_mail()
        user = (await self._auth.check_password(email, password, ip=ip)).user
        async with self._uow(write=False) as uow:
            allowed = await email_otp_allowed(uow)
        if not (allowed and user.email_otp_enabled):
            raise EmailOtpNotAllowed("e-mailed codes are not available for this account")
        await self._throttle(user.id, ip)
        await self._issue(user, LOGIN, ip)

    async def start_enable(self, actor: StaffPrincipal, password: str, ip: str | None) -> None:
        """Step one of turning e-mailed codes on: the password, then a code to the inbox
        (which proves mail reaches it before anyone relies on it).
        """
        self._check_mail()
        async with self._uow(write=False) as uow:
            user = await self._user(uow, actor)
            allowed = await email_otp_allowed(uow)
        if not allowed:
            raise EmailOtpNotAllowed("your organisation does not allow e-mailed codes")
        await self._auth.confirm_password(user, password, ip)
        await self._throttle(user.id, ip)
        await self._issue(user, ENABLE, ip)

    async def confirm_enable(self, actor: StaffPrincipal, code: str, ip: str | None) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            ok = await verify_code(uow, actor.user_id, ENABLE, code, now)
            if ok:
                await uow.users.set_email_otp(actor.user_id, True)
            action = "auth.email_otp_enabled" if ok else "auth.email_otp_confirm_failed"
            await uow.audit.add(audit_entry(now, action, actor=actor.user_id, ip=ip))
            await uow.commit()
        if not ok:
            raise InvalidOtp("that code is not valid; ask for a new one if it has expired")

    async def disable(self, actor: StaffPrincipal, password: str, ip: str | None) -> None:
        now = self._clock.now()
        async with self._uow(write=False) as uow:
            user = await self._user(uow, actor)
            last = await leaves_no_factor(uow, user, removing=EMAIL)
        await self._auth.confirm_password(user, password, ip)
        if last:
            raise Forbidden(
                "your role requires two-step login; set up an app or a passkey first"
                + (UNREADABLE_APP_HINT if user.totp_unreadable else "")
            )
        async with self._uow() as uow:
            await uow.users.set_email_otp(user.id, False)
            await uow.email_codes.end_all(user.id, LOGIN, now)
            await uow.audit.add(audit_entry(now, "auth.email_otp_disabled", actor=user.id, ip=ip))
            await uow.commit()

    def _check_mail(self) -> None:
        if self._mailer is None:
            raise MailUnavailable("e-mail is not set up on this server")

    async def _throttle(self, user_id: str, ip: str | None) -> None:
        checks = [("email_code_account", user_id)]
        if ip:
            checks.append(("mail_ip", ip))
        for rule, key in checks:
            verdict = await self._limits.hit(rule, key)
            if not verdict.allowed:
                raise RateLimited(
                    f"too many codes requested; try again in {verdict.retry_after} s",
                    retry_after=verdict.retry_after,
                )

    async def _issue(self, user: User, purpose: str, ip: str | None) -> None:
        assert self._mailer is not None
        now = self._clock.now()
        code = self._codes()
        record = EmailCode(
            id=self._ids("ec"),
            user_id=user.id,
            purpose=purpose,
            code_hash="",
            created_at=now,
            expires_at=now + self._ttl,
        )
        record = replace(record, code_hash=code_hash(record.id, code))
        async with self._uow() as uow:
            await uow.email_codes.end_all(user.id, purpose, now)
            await uow.email_codes.add(record)
            await uow.audit.add(
                audit_entry(now, "auth.email_code_sent", actor=user.id, ip=ip, purpose=purpose)
            )
            await uow.commit()
        minutes = int(self._ttl.total_seconds() // 60)
        what = "sign in to" if purpose == LOGIN else "turn on e-mailed codes for"
        # Both need the password first: a code nobody asked for means someone knows it.
        attempt = "sign in" if purpose == LOGIN else "turn on e-mailed sign-in codes"
        await self._mailer.send(
            OutgoingMail(
                to=user.email,
                # Not in the subject: subjects show on locked phone screens.
                subject="Your Bastion sign-in code" if purpose == LOGIN else "Confirm your e-mail",
                body=(
                    f"Your code to {what} Bastion is:\n\n    {code}\n\n"
                    f"It works once, for {minutes} minutes. Bastion staff will never ask you "
                    f"for it. If you did not just try to {attempt}, change your password: "
                    "someone knows it.\n"
                ),
            )
        )

    @staticmethod
    async def _user(uow: UnitOfWork, actor: StaffPrincipal) -> User:
        user = await uow.users.get(actor.user_id)
        if user is None:
            raise NotFound("no such user")
        return user
