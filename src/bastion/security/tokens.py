"""Bearer tokens: random, shown once, stored only as a hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_token(prefix: str) -> str:
    """``prefix_`` + 256 random bits: unguessable, so a fast hash is enough to store it."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    """SHA-256 hex digest: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_for(session_token: str) -> str:
    """The CSRF token bound to a session: derived, so nothing more needs storing.

    A cross-site attacker can make the browser send the cookie but cannot read it, so
    cannot compute this value.
    """
    mac = hmac.new(session_token.encode("utf-8"), b"bastion-csrf-v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def csrf_matches(session_token: str, presented: str | None) -> bool:
    if not presented:
        return False
    # Constant-time compare: the CSRF token is a secret the attacker must not learn bytewise.
    # As bytes: a header may hold any byte, and compare_digest refuses non-ASCII str.
    return hmac.compare_digest(csrf_for(session_token).encode(), presented.encode())
