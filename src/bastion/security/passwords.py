"""argon2id password hashing."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# zxcvbn scores 0-4; 3 is "safely unguessable: moderate protection from offline attack".
MIN_STRENGTH_SCORE = 3


def password_weakness(password: str, user_inputs: list[str]) -> str | None:
    """Why ``password`` is too weak, in words for its owner, or None if it is acceptable.

    Refuses short passwords, the 30,000 most common passwords (the list bundled with
    zxcvbn) and anything zxcvbn rates below 3, taking the user's own e-mail and name into
    account.
    """
    from zxcvbn import zxcvbn
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    if len(password) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "that password is too long"
    if password.lower() in _common_passwords(FREQUENCY_LISTS["passwords"]):
        return "that password is on the list of the most common passwords"
    # zxcvbn is slow on very long inputs; its verdict on the first 100 characters is enough.
    result = zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u])
    if result["score"] < MIN_STRENGTH_SCORE:
        warning = result["feedback"].get("warning") or "it is too easy to guess"
        return f"that password is too weak: {warning[0].lower() + warning[1:]}".rstrip(".")
    return None


_COMMON: frozenset[str] | None = None


def _common_passwords(words: list[str]) -> frozenset[str]:
    global _COMMON
    if _COMMON is None:
        _COMMON = frozenset(words)
    return _COMMON


class PasswordHasher:
    def __init__(
        self, *, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 1
    ) -> None:
        self._ph = _Argon2(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        # Verified against for unknown accounts, so a miss costs as long as a wrong password.
        # Made on the first verify (known account or not, so that first call is no oracle
        # either), not here: every command-line call builds a hasher and most never verify.
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        if self._dummy is None:
            self._dummy = self._ph.hash("bastion-dummy-password-for-timing")
        target = password_hash or self._dummy
        try:
            ok = self._ph.verify(target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return ok and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self._ph.check_needs_rehash(password_hash)
