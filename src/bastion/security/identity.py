"""Verifying a website's statement of who its visitor is: an HMAC with an issue time,
or a signed JWT. Pure functions; replay bookkeeping (``jti``) is the caller's.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

SKEW_S = 60  # clock difference tolerated between the website and Bastion
JWT_ALGORITHMS = ("HS256", "RS256", "EdDSA")
_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unfit(text: str) -> bool:
    """Text a claim may not bring in: control characters (NUL, line breaks), lone
    surrogates (no UTF-8 form, so nothing can store them) and text-direction overrides,
    which would make a name agents see as verified read as something else.
    """
    return any(unicodedata.category(ch) in ("Cc", "Cs") or ch in _OVERRIDES for ch in text)


class IdentityError(Exception):
    """``reason`` is a short stable word for the audit log; never the token itself."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    external_id: str
    name: str | None
    email: str | None
    method: str
    jti: str | None = None
    expires_at: int | None = None


def hmac_hash(secret: str, user_id: str, issued_at: int) -> str:
    """What the website computes: ``"<issued_at>.<hex HMAC-SHA256(secret, user_id:issued_at)>"``.

    The issue time is inside the MAC, so a copied hash stops working after ``max_age_s``
    (unlike schemes that sign the user id alone, which stay valid forever).
    """
    mac = hmac.new(secret.encode(), f"{user_id}:{issued_at}".encode(), hashlib.sha256)
    return f"{issued_at}.{mac.hexdigest()}"


def verify_hmac(
    secrets_: list[str], user_id: str, user_hash: str, now: datetime, max_age_s: int
) -> Claims:
    if not user_id or len(user_id) > 200 or _unfit(user_id):
        raise IdentityError("bad_user_id")
    stamp, _, digest = user_hash.partition(".")
    # ASCII only: isdigit() holds for "²", which int() refuses, and compare_digest refuses
    # non-ASCII text (both were 500s before anything was verified).
    if not user_hash.isascii() or not stamp.isdigit() or len(digest) != 64:
        raise IdentityError("malformed")
    issued = int(stamp)
    age = int(now.timestamp()) - issued
    if age > max_age_s:
        raise IdentityError("expired")
    if age < -SKEW_S:
        raise IdentityError("issued_in_future")
    for secret in secrets_:
        # Constant-time compare: the hash is a MAC an attacker could probe bytewise.
        if hmac.compare_digest(hmac_hash(secret, user_id, issued), user_hash):
            return Claims(external_id=user_id, name=None, email=None, method="hmac")
    raise IdentityError("bad_signature")


def verify_jwt(
    token: str,
    keys: list[dict[str, Any]],
    *,
    audience: str,
    now: datetime,
    max_lifetime_s: int,
) -> Claims:
    """Accept a JWT signed by one of ``keys`` (``{"id","alg","key"}``) for ``audience``,
    with ``exp`` no further ahead than ``max_lifetime_s`` and a ``jti``.
    """
    if len(token) > 4096:
        raise IdentityError("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise IdentityError("malformed") from None
    alg = header.get("alg")
    if alg not in JWT_ALGORITHMS:
        raise IdentityError("bad_algorithm")
    candidates = [k for k in keys if k["alg"] == alg and header.get("kid") in (None, k["id"])]
    last = "bad_signature"
    for key in candidates:
        try:
            claims = jwt.decode(
                token,
                key["key"],
                algorithms=[alg],
                audience=audience,
                # Time claims are checked below against the injected clock, not the OS's.
                options={
                    "require": ["exp", "sub", "jti", "aud"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise IdentityError("wrong_audience") from None
        except jwt.MissingRequiredClaimError:
            raise IdentityError("missing_claim") from None
        except jwt.PyJWTError:
            continue
        try:
            exp = int(claims["exp"])
            nbf = int(claims.get("nbf", 0))
        except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 is infinity
            raise IdentityError("malformed") from None
        subject, jti = str(claims["sub"]), str(claims["jti"])
        if _unfit(subject) or _unfit(jti):
            raise IdentityError("malformed")
        current = int(now.timestamp())
        if exp + SKEW_S < current:
            raise IdentityError("expired")
        if nbf - SKEW_S > current:
            raise IdentityError("not_yet_valid")
        if exp - current > max_lifetime_s:
            raise IdentityError("lifetime_too_long")
        return Claims(
            external_id=subject[:200],
            name=_text(claims.get("name")),
            email=_text(claims.get("email")),
            method="jwt",
            jti=jti[:200],
            expires_at=exp,
        )
    raise IdentityError(last)


def _text(value: Any) -> str | None:
    """A display claim (name, e-mail), or None when absent, blank or unfit to show."""
    if isinstance(value, str) and value.strip() and not _unfit(value):
        return value.strip()[:200]
    return None
