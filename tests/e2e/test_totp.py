"""Two-step login (TOTP) end to end: set up in the console (the password first), sign in
with codes, refuse replays; set up on the screen a role that requires it shows.

A real ``bastion serve`` on SQLite (the ``bastion`` fixture of ``conftest.py``) and Chromium
driving the built console. The authenticator app is ``pyotp``, fed the secret the console
shows as text, so the test also proves a person could type the secret in by hand.
"""

from __future__ import annotations

import asyncio
import re
import time

import pyotp
import pytest
from playwright.async_api import Browser, Page, Response, expect

from tests.e2e.conftest import AGENT_EMAIL
from tests.support.server import AGENT_PASSWORD, Server, cli

pytestmark = pytest.mark.timeout(90)

T = 10_000  # ms, for any single UI expectation
STEP = 30  # s, the TOTP time step
# A code is entered only with at least this much of its time step left, so that a code the
# server refuses is refused for being replayed, never for having expired on the way.
MARGIN = 8.0
LOGIN = "/api/v1/auth/login"


def time_step() -> int:
    return int(time.time() // STEP)


def seconds_left() -> float:
    return STEP - time.time() % STEP


async def wait_for_step_after(step: int) -> None:
    """Sleeps until a time step later than ``step`` has begun with ``MARGIN`` left in it."""
    while time_step() <= step or seconds_left() < MARGIN:
        await asyncio.sleep(min(seconds_left() + 0.2, 5.0))


def is_login(response: Response) -> bool:
    return response.url.endswith(LOGIN) and response.request.method == "POST"


async def submit_login(page: Page) -> tuple[int, dict[str, object]]:
    """Clicks "Sign in"; returns the status and JSON body of the login request."""
    async with page.expect_response(is_login, timeout=T) as info:
        await page.locator("[data-testid=login-submit]").click()
    response = await info.value
    body = await response.json() if response.status != 204 else {}
    return response.status, body


async def fill_credentials(page: Page) -> None:
    await expect(page.locator("[data-testid=login-email]")).to_be_visible(timeout=T)
    await page.locator("[data-testid=login-email]").fill(AGENT_EMAIL)
    await page.locator("[data-testid=login-password]").fill(AGENT_PASSWORD)


async def expect_inbox(page: Page) -> None:
    await expect(page.locator("[data-testid=status]")).to_be_visible(timeout=T)
    await expect(page.locator("[data-testid=login-email]")).to_have_count(0)


async def log_out(page: Page) -> None:
    await page.locator("[data-testid=logout]").click()
    await expect(page.locator("[data-testid=login-email]")).to_be_visible(timeout=T)


async def test_totp_setup_login_replay_and_recovery_code(bastion: Server, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(T)

    # Sign in with the password alone: two-step login is not on yet.
    await page.goto(f"{bastion.base}/console/")
    await fill_credentials(page)
    status, _ = await submit_login(page)
    assert status == 200
    await expect_inbox(page)

    # Account & security → set up two-step login.
    await page.locator("[data-testid=account]").click()
    await expect(page.locator("[data-testid=account-view]")).to_be_visible(timeout=T)
    await expect(page.locator("[data-testid=totp-status]")).to_have_text("Off", timeout=T)
    await page.locator("[data-testid=totp-setup]").click()
    # The password first (a session alone sees no secret), then the QR code.
    await expect(page.locator("[data-testid=totp-setup-password]")).to_be_focused(timeout=T)
    await expect(page.locator("[data-testid=totp-qr]")).to_have_count(0)
    await page.locator("[data-testid=totp-setup-password]").fill(AGENT_PASSWORD)
    await page.locator("[data-testid=totp-setup-continue]").click()
    qr = page.locator("[data-testid=totp-qr]")
    await expect(qr).to_be_visible(timeout=T)
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    assert await qr.get_attribute("alt")
    shown = await page.locator("[data-testid=totp-secret]").text_content() or ""
    secret = re.sub(r"\s+", "", shown)
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), shown
    totp = pyotp.TOTP(secret)

    # Confirm with the current code (not one about to expire).
    if seconds_left() < 3:
        await wait_for_step_after(time_step())
    setup_step = time_step()
    await page.locator("[data-testid=totp-code]").fill(totp.now())
    await page.locator("[data-testid=totp-confirm]").click()
    codes = page.locator("[data-testid=recovery-codes] li")
    await expect(codes).to_have_count(10, timeout=T)
    recovery = [c.strip() for c in await codes.all_text_contents()]
    assert all(recovery) and len(set(recovery)) == 10, recovery
    await expect(page.locator("[data-testid=account-view]")).to_contain_text("shown only once")
    await page.locator("[data-testid=totp-done]").click()
    await expect(page.locator("[data-testid=recovery-codes]")).to_have_count(0)
    await expect(page.locator("[data-testid=totp-status]")).to_have_text("On")

    # The server remembers it (/auth/me after a reload), and lists this one session.
    await page.reload()
    await expect_inbox(page)
    await page.locator("[data-testid=account]").click()
    await expect(page.locator("[data-testid=totp-status]")).to_have_text("On", timeout=T)
    sessions = page.locator("[data-testid=session-item]")
    await expect(sessions).to_have_count(1, timeout=T)
    await expect(sessions.first).to_have_attribute("data-current", "true")
    await expect(sessions.first.locator("[data-testid=session-end]")).to_have_count(0)
    await log_out(page)

    # Password first; the server asks for a code; a fresh one (a later time step than the
    # code used to confirm) lets us in.
    await wait_for_step_after(setup_step)
    await fill_credentials(page)
    status, body = await submit_login(page)
    assert (status, body.get("code")) == (401, "otp_required"), body
    otp_field = page.locator("[data-testid=login-otp]")
    await expect(otp_field).to_be_focused(timeout=T)
    login_step = time_step()
    code = totp.now()
    await otp_field.fill(code)
    status, body = await submit_login(page)
    assert status == 200, body
    await expect_inbox(page)
    await log_out(page)

    # The very same code, still inside its time step, is refused: codes work once.
    await fill_credentials(page)
    await page.locator("[data-testid=login-otp]").fill(code)
    status, body = await submit_login(page)
    assert time_step() == login_step, "the replay check ran late; the result proves nothing"
    assert (status, body.get("code")) == (401, "invalid_otp"), body
    await expect(page.locator("[data-testid=login-error]")).to_contain_text(
        "already been used", timeout=T
    )
    await expect(page.locator("[data-testid=status]")).to_have_count(0)

    # A recovery code works in the same field, once.
    await page.locator("[data-testid=login-otp]").fill(recovery[0])
    status, body = await submit_login(page)
    assert status == 200, body
    await expect_inbox(page)
    await log_out(page)

    await fill_credentials(page)
    await page.locator("[data-testid=login-otp]").fill(recovery[0])
    status, body = await submit_login(page)
    assert (status, body.get("code")) == (401, "invalid_otp"), body
    await expect(page.locator("[data-testid=status]")).to_have_count(0)

    await context.close()


async def test_enrolment_required_by_the_role_asks_for_the_password_first(
    bastion: Server, browser: Browser
) -> None:
    supervisor = "vida@example.com"
    bastion.create_user(supervisor, "supervisor", name="Vida")
    cli(bastion.env, "security", "policy", "--require-2fa", "supervisor")
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(T)

    await page.goto(f"{bastion.base}/console/")
    await expect(page.locator("[data-testid=login-email]")).to_be_visible(timeout=T)
    await page.locator("[data-testid=login-email]").fill(supervisor)
    await page.locator("[data-testid=login-password]").fill(AGENT_PASSWORD)
    status, _ = await submit_login(page)
    assert status == 200
    enrolment = page.locator("[data-testid=enrollment]")
    await expect(enrolment).to_be_visible(timeout=T)
    await expect(page.locator("[data-testid=status]")).to_have_count(0)

    # A wrong password shows no secret and says what is wrong.
    await enrolment.locator("[data-testid=totp-setup]").click()
    password = enrolment.locator("[data-testid=totp-setup-password]")
    await password.fill("not the password")
    await enrolment.locator("[data-testid=totp-setup-continue]").click()
    await expect(enrolment.locator("[data-testid=totp-error]")).to_contain_text(
        "password is not right", timeout=T
    )
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(enrolment.locator("[data-testid=totp-qr]")).to_have_count(0)
    await expect(enrolment.locator("[data-testid=totp-secret]")).to_have_count(0)

    await password.fill(AGENT_PASSWORD)
    await enrolment.locator("[data-testid=totp-setup-continue]").click()
    shown = await enrolment.locator("[data-testid=totp-secret]").text_content(timeout=T) or ""
    totp = pyotp.TOTP(re.sub(r"\s+", "", shown))
    if seconds_left() < 3:
        await wait_for_step_after(time_step())
    await enrolment.locator("[data-testid=totp-code]").fill(totp.now())
    await enrolment.locator("[data-testid=totp-confirm]").click()
    await expect(enrolment.locator("[data-testid=recovery-codes] li")).to_have_count(10, timeout=T)
    await enrolment.locator("[data-testid=totp-done]").click()
    # Enrolled: the console opens.
    await expect(enrolment).to_have_count(0, timeout=T)
    await expect_inbox(page)
    await context.close()
