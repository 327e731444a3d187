"""Forgotten passwords: a single-use link by e-mail, then a new password.

- Asking answers the same whether or not the address has an account, after the same
  work (a token made and hashed, one write transaction, one audit entry); the e-mail
  goes out in the background, so neither the answer nor its timing tells.
- The link carries a 256-bit random token in its fragment (``#token=``): browsers send
  fragments neither to servers nor in ``Referer``, so it stays out of access logs. Only
  the token's SHA-256 is stored. It lives ``BASTION_PASSWORD_RESET_TTL_S`` (30 minutes).
- Using it checks the new password with the usual policy, sets it, ends every session
  of the user and every other outstanding link, and is audited. It does not touch
  two-step login: the next sign-in still asks for the second factor.
- Requests are limited per address (known or not, keyed by its hash) and per IP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bastion.domain.auth import _throttle_key, audit_entry
from bastion.domain.errors import MailUnavailable, RateLimited, ResetTokenInvalid, WeakPassword
from bastion.domain.events import STAFF_CHANNEL, sessions_ended_notice
from bastion.domain.models import OutgoingMail, PasswordReset
from bastion.domain.ports import Clock, Mailer, PasswordHasher, RateLimits, UnitOfWorkFactory
from bastion.security.passwords import password_weakness
from bastion.security.tokens import hash_token, new_token

RESET_PATH = "/console/reset-password"


def reset_token() -> str:
    return new_token("pr")


class PasswordResetService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        mailer: Mailer | None,
        limits: RateLimits,
        *,
        ttl_s: int,
        base_url: str,
        tokens: Callable[[], str] = reset_token,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._mailer = mailer
        self._limits = limits
        self._ttl = timedelta(seconds=ttl_s)
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens

    async def request(self, email: str, ip: str | None) -> None:
        """Send a reset link if ``email`` belongs to an active account; the caller learns
        nothing either way. The mailer given here should deliver in the background.
        """
        if self._mailer is None:
            raise MailUnavailable("e-mail is not set up on this server; ask an administrator")
        address = email.strip().lower()[:254]
        if ip:
            verdict = await self._limits.hit("mail_ip", ip)
            if not verdict.allowed:
                raise RateLimited(
                    f"too many requests; try again in {verdict.retry_after} s",
                    retry_after=verdict.retry_after,
                )
        # Counted for unknown addresses too: the limit itself must not tell them apart.
        # Over it, the answer stays the same and no mail goes out (no mail-bombing).
        within = (await self._limits.hit("reset_account", _throttle_key("reset", address))).allowed
        token = self._tokens()
        now = self._clock.now()
        reset_hash = hash_token(token)
        async with self._uow() as uow:
            user = await uow.users.get_by_email(address)
            send = user is not None and not user.disabled and within
            if send:
                assert user is not None
                await uow.password_resets.add(
                    PasswordReset(
                        token_hash=reset_hash,
                        user_id=user.id,
                        created_at=now,
                        expires_at=now + self._ttl,
                    )
                )
            await uow.audit.add(
                audit_entry(
                    now,
                    "auth.password_reset_requested",
                    actor=None,
                    target=user.id if user else None,
                    ip=ip,
                    sent=send,
                )
            )
            await uow.commit()
        if send:
            assert user is not None
            await self._mailer.send(self._mail(user.email, token))

    def _mail(self, to: str, token: str) -> OutgoingMail:
        minutes = int(self._ttl.total_seconds() // 60)
        link = f"{self._base_url}{RESET_PATH}#token={token}"
        return OutgoingMail(
            to=to,
            subject="Reset your Bastion password",
            body=(
                "Someone, hopefully you, asked to reset the password of your Bastion "
                f"account.\n\nTo choose a new password, open this link within {minutes} "
                f"minutes:\n\n{link}\n\nThe link works once. Your two-step login stays on: "
                "you will still need your code to sign in.\n\nIf you did not ask for this, "
                "ignore this e-mail; your password stays as it is.\n"
            ),
        )

    async def confirm(self, token: str, new_password: str, ip: str | None) -> None:
        """Set a new password with a reset token; ends all the user's sessions and links."""
        now = self._clock.now()
        token_hash = hash_token(token.strip()[:200])
        async with self._uow(write=False) as uow:
            reset = await uow.password_resets.get(token_hash)
            user = await uow.users.get(reset.user_id) if reset else None
        if (
            reset is None
            or user is None
            or user.disabled
            or reset.used_at is not None
            or reset.expires_at <= now
        ):
            raise ResetTokenInvalid("this reset link is not valid any more; ask for a new one")
        weakness = password_weakness(new_password, [user.email, user.name])
        if weakness:
            raise WeakPassword(weakness, field="new_password")
        password_hash = self._hasher.hash(new_password)
        async with self._uow() as uow:
            # Compare-and-set: of two requests racing with one link, one wins.
            if not await uow.password_resets.claim(token_hash, now):
                raise ResetTokenInvalid("this reset link is not valid any more; ask for a new one")
            await uow.users.set_password_hash(user.id, password_hash)
            others = await uow.password_resets.end_all(user.id, now)
            ended = await uow.sessions.revoke_all(user.id)
            uow.on_commit(STAFF_CHANNEL, sessions_ended_notice([user.id]))
            # The person proved they read the account's mail: a lock from failed guesses
            # at the old password is lifted. The second factor is still asked at login.
            await uow.login_failures.clear(_throttle_key("acct", user.email))
            await uow.audit.add(
                audit_entry(
                    now,
                    "auth.password_reset",
                    actor=user.id,
                    ip=ip,
                    sessions_ended=ended,
                    links_ended=others,
                )
            )
            await uow.commit()
