"""Which second factors a user can still pass: the one rule behind refusing to remove
the last of them (passkeys, the authenticator app, e-mailed codes)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bastion.domain.models import UNREADABLE_SECRET, AgentStatus, User
from bastion.domain.second_factor import APP, EMAIL, PASSKEY, factors, second_factor_on


def _user(totp_secret: str | None = None, email_otp: bool = False) -> User:
    return User(
        id="u_1",
        email="jonas@example.com",
        name="Jonas",
        role="agent",
        password_hash="-",
        status=AgentStatus.OFFLINE,
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
        totp_secret=totp_secret,
        email_otp_enabled=email_otp,
    )


@pytest.mark.parametrize(
    ("user", "passkeys", "allow_email", "expected"),
    [
        (_user(), 0, True, []),
        (_user(), 2, True, [PASSKEY, PASSKEY]),
        (_user("JBSWY3DPEHPK3PXP"), 0, True, [APP]),
        # A sealed secret that does not open is no factor: recovery codes alone run out.
        (_user(UNREADABLE_SECRET), 1, True, [PASSKEY]),
        (_user(UNREADABLE_SECRET, email_otp=True), 0, True, [EMAIL]),
        # E-mailed codes count only while the policy allows them.
        (_user(email_otp=True), 1, True, [PASSKEY, EMAIL]),
        (_user(email_otp=True), 1, False, [PASSKEY]),
        (_user("JBSWY3DPEHPK3PXP", email_otp=True), 0, True, [APP, EMAIL]),
    ],
)
def test_factors(user: User, passkeys: int, allow_email: bool, expected: list[str]) -> None:
    assert factors(user, passkeys=passkeys, allow_email=allow_email) == expected


def test_an_unreadable_app_still_makes_sign_in_take_a_second_step() -> None:
    """Enrolment asks another question: the app's code is still asked for (fail closed),
    and its recovery codes still answer, so the user is not sent back to enrol."""
    assert second_factor_on(_user(UNREADABLE_SECRET), allow_email=True)
    assert not second_factor_on(_user(email_otp=True), allow_email=False)
