"""The second step of staff sign-in: which factors a user has, and e-mailed codes.

Shared by ``auth`` (login), ``email_otp`` (sending codes), ``passkeys`` and ``staff``;
imports none of them. Two questions are answered here, once each:

- *Must the user enrol?* (``must_enrol``) — their role requires two-step login and
  signing in takes no second step.
- *May a factor go?* (``leaves_no_factor``) — removing it would not leave such a user
  without a factor they can still pass (``factors``).
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
SETTING_REQUIRE_2FA = "require_2fa_roles"
LOGIN = "login"
ENABLE = "enable"

# The kinds of second factor that ``factors`` lists.
APP = "app"
EMAIL = "email"
PASSKEY = "passkey"


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
    digits = len(cleaned) == CODE_DIGITS and cleaned.isascii() and cleaned.isdigit()
    return cleaned if digits else None


def code_hash(code_id: str, code: str) -> str:
    return hashlib.sha256(f"{code_id}:{code}".encode()).hexdigest()


async def email_otp_allowed(uow: UnitOfWork) -> bool:
    value = await uow.security.get(SETTING_ALLOW_EMAIL_OTP)
    return True if value is None else bool(value)


def second_factor_on(user: User, allow_email: bool) -> bool:
    """Whether signing in with the password asks for a typed code (app, recovery or
    e-mailed), which also meets a role's enrolment requirement.

    An app whose secret does not open still counts here, unlike in ``factors``: its code
    is still asked for (and refused, fail closed) and recovery codes still answer.
    Counting it as missing would send every app user of such a role to the enrolment
    screen, where setting up fails too, whenever the staff key does not unwrap.
    """
    return user.totp_enabled or (allow_email and user.email_otp_enabled)


def factors(user: User, *, passkeys: int, allow_email: bool) -> list[str]:
    """The second factors ``user`` can still pass, one entry per passkey.

    An authenticator app counts only while its secret opens (``User.totp_usable``: an
    unreadable one leaves recovery codes alone, which run out); e-mailed codes only
    while the user has them on and the policy allows them (``email_otp_allowed``).
    """
    kinds = [PASSKEY] * passkeys
    if user.totp_usable:
        kinds.append(APP)
    if allow_email and user.email_otp_enabled:
        kinds.append(EMAIL)
    return kinds


async def leaves_no_factor(uow: UnitOfWork, user: User, *, removing: str) -> bool:
    """Whether removing one ``removing`` factor (``APP``, ``EMAIL`` or ``PASSKEY``) would
    leave ``user``, whose role requires two-step login, with none of ``factors``: the
    removal must be refused. Always False for roles that do not require it.
    """
    required = await uow.security.get(SETTING_REQUIRE_2FA) or []
    if user.role not in required:
        return False
    left = factors(
        user,
        passkeys=await uow.passkeys.count_for_user(user.id),
        allow_email=await email_otp_allowed(uow),
    )
    if removing in left:  # an unreadable app, or codes the policy forbids, are not in it
        left.remove(removing)
    return not left


async def must_enrol(uow: UnitOfWork, user: User) -> bool:
    """Whether ``user``'s role requires two-step login and signing in takes no second
    step: no app (``second_factor_on``), no e-mailed codes the policy allows, no passkey.
    """
    required = await uow.security.get(SETTING_REQUIRE_2FA) or []
    if user.role not in required or second_factor_on(user, await email_otp_allowed(uow)):
        return False
    # Looked up only when it matters: this runs on every staff request.
    return await uow.passkeys.count_for_user(user.id) == 0


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
