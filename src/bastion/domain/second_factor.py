"""The second step of staff sign-in: which factors a user has, and e-mailed codes.

Shared by ``auth`` (login) and ``email_otp`` (sending codes); imports neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from bastion.domain.models import User
from bastion.domain.ports import UnitOfWork

CODE_DIGITS = 8
MAX_ATTEMPTS = 5
SETTING_ALLOW_EMAIL_OTP = "allow_email_otp"
LOGIN = "login"
ENABLE = "enable"


# Added to a refusal to remove a factor while the app is on but its secret does not open:
# the user believes the app is still there, and the fix is to set it up again.
UNREADABLE_APP_HINT = (
    " (your authenticator app cannot be checked for this account: set it up again first)"
)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def normalise_code(code: str) -> str | None:
    """The code's digits, or None if it cannot be an e-mailed code (a TOTP code has six)."""
    cleaned = code.strip().replace(" ", "").replace("-", "")
    return cleaned if len(cleaned) == CODE_DIGITS and cleaned.isdigit() else None


def code_hash(code_id: str, code: str) -> str:
    return hashlib.sha256(f"{code_id}:{code}".encode()).hexdigest()


async def email_otp_allowed(uow: UnitOfWork) -> bool:
    value = await uow.security.get(SETTING_ALLOW_EMAIL_OTP)
    return True if value is None else bool(value)


def second_factor_on(user: User, allow_email: bool) -> bool:
    """Whether signing in takes a second step, and enrolment requirements are met."""
    return user.totp_enabled or (allow_email and user.email_otp_enabled)


async def verify_code(
    uow: UnitOfWork, user_id: str, purpose: str, code: str, now: datetime
) -> bool:
    """Check ``code`` against the user's newest unused code and use it up if it matches.

    Runs inside the caller's write transaction, which must commit either way: a wrong
    guess is counted.
    """
    digits = normalise_code(code)
    latest = await uow.email_codes.latest(user_id, purpose)
    if digits is None or latest is None:
        return False
    if latest.expires_at <= now or latest.attempts >= MAX_ATTEMPTS:
        return False
    # Constant-time compare: the code is a secret.
    if not hmac.compare_digest(latest.code_hash, code_hash(latest.id, digits)):
        await uow.email_codes.count_attempt(latest.id)
        return False
    return await uow.email_codes.claim(latest.id, now)
