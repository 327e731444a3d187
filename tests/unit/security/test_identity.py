"""The identity checks as pure functions: whatever a site or a visitor sends is a verdict
(claims or :class:`IdentityError`), never another exception."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest

from bastion.security.identity import Claims, IdentityError, hmac_hash, verify_hmac, verify_jwt

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SECRET = "s" * 43
KEY = {"id": "k_1", "alg": "HS256", "key": "k" * 43}


@pytest.mark.parametrize(
    "user_hash",
    [
        "\u00b2." + "a" * 64,  # "²".isdigit(), but int() refuses it
        "\u0661\u0662." + "a" * 64,  # Arabic-Indic digits
        f"{int(NOW.timestamp())}." + "\u00e9" * 64,  # compare_digest refuses non-ASCII
    ],
)
def test_a_hash_that_is_not_ascii_is_malformed(user_hash: str) -> None:
    """QA: these were 500s on the session route, before any secret was tried."""
    with pytest.raises(IdentityError) as err:
        verify_hmac([SECRET], "cust-1", user_hash, NOW, 300)
    assert err.value.reason == "malformed"


def test_a_user_id_with_control_characters_is_refused() -> None:
    user_hash = hmac_hash(SECRET, "cust\x00-1", int(NOW.timestamp()))
    with pytest.raises(IdentityError) as err:
        verify_hmac([SECRET], "cust\x00-1", user_hash, NOW, 300)
    assert err.value.reason == "bad_user_id"


def _jwt(**over: object) -> str:
    claims = {"sub": "cust-1", "aud": "w_1", "exp": int(NOW.timestamp()) + 60, "jti": "j1"}
    return jwt.encode({**claims, **over}, KEY["key"], algorithm="HS256")


def _verify(token: str) -> Claims:
    return verify_jwt(token, [KEY], audience="w_1", now=NOW, max_lifetime_s=3600)


@pytest.mark.parametrize(
    "over",
    [
        {"exp": float("inf")},  # JSON 1e400: int() overflowed (a 500)
        {"nbf": float("-inf")},
        {"sub": "cust\x00-1"},  # PostgreSQL refuses NUL in text
        {"jti": "j\ud800"},  # a lone surrogate has no UTF-8 form to store
    ],
)
def test_unusable_signed_claims_are_malformed(over: dict[str, object]) -> None:
    with pytest.raises(IdentityError) as err:
        _verify(_jwt(**over))
    assert err.value.reason == "malformed"


def test_display_claims_unfit_to_show_are_left_out() -> None:
    claims = _verify(_jwt(name="Ona\u202e gpj.exe", email="ona\ud800@example.com"))
    assert (claims.name, claims.email) == (None, None)
    claims = _verify(_jwt(name=" Ona ", email="ona@example.com"))
    assert (claims.name, claims.email) == ("Ona", "ona@example.com")
