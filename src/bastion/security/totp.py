"""TOTP (RFC 6238) second factor and single-use recovery codes."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
import segno

PERIOD_S = 30
# One step either side tolerates clock drift of up to 30 s between phone and server.
WINDOW = 1
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)


def new_secret() -> str:
    """160 random bits, base32 (what authenticator apps expect)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str, issuer: str = "Bastion") -> str:
    return pyotp.TOTP(secret, interval=PERIOD_S).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg_data_uri(uri: str) -> str:
    """The enrolment QR code as an SVG data URI (allowed by the console's ``img-src``)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def normalise_code(code: str) -> str | None:
    """The six digits of an app code, or None if ``code`` cannot be one."""
    code = code.strip().replace(" ", "")
    # ASCII only: isdigit() also holds for "²" or "٣", which no app shows (and which
    # compare_digest would refuse).
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step ``code`` belongs to (within the window), or None.

    The caller records the step so the same code, or an older one, is never accepted
    again (replay protection).
    """
    digits = normalise_code(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret, interval=PERIOD_S)
    current = int(now.timestamp()) // PERIOD_S
    for step in range(current - WINDOW, current + WINDOW + 1):
        # Constant-time compare: codes are secrets.
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k7m2-x9qp-4hnd`` (60 bits each): high entropy, so a fast hash suffices."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def normalise_recovery_code(code: str) -> str | None:
    cleaned = code.strip().lower().replace(" ", "").replace("-", "")
    if len(cleaned) != 12 or any(ch not in _ALPHABET for ch in cleaned):
        return None
    return f"{cleaned[:4]}-{cleaned[4:8]}-{cleaned[8:]}"
