"""Passkeys end to end: Chromium's virtual WebAuthn authenticator (over CDP) against a real
``bastion serve`` and the built console.

WebAuthn needs a secure context and a domain name as RP id (an IP address is refused), so
this module's server runs with ``BASTION_PUBLIC_URL=http://localhost:PORT`` and the browser
opens the console at that address: http://localhost is a secure context.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, CDPSession, Page, expect

from tests.support.server import AGENT_PASSWORD, Server, cli, free_port

pytestmark = pytest.mark.timeout(120)

T = 15_000  # ms, for any single UI expectation
PASSWORDLESS = "ona@example.com"
SECOND_STEP = "rasa@example.com"
ENROLLING = "vida@example.com"  # a supervisor: the role the enrolment test requires 2FA for


@pytest.fixture(scope="module")
def bastion_localhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    port = free_port()
    origin = f"http://localhost:{port}"
    srv = Server(
        data_dir=tmp_path_factory.mktemp("bastion-pk") / "data",
        database_url=None,
        port=port,
        extra_env={"BASTION_PUBLIC_URL": origin},
    )
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user(PASSWORDLESS, "agent", name="Ona")
        srv.create_user(SECOND_STEP, "agent", name="Rasa")
        srv.create_user(ENROLLING, "supervisor", name="Vida")
        yield srv, origin
    finally:
        srv.stop()


async def virtual_authenticator(context: BrowserContext, page: Page) -> tuple[CDPSession, str]:
    """A platform authenticator that holds passkeys and verifies the user (no dialog)."""
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


async def credentials(cdp: CDPSession, authenticator: str) -> list[dict[str, Any]]:
    got = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    return list(got["credentials"])


async def sign_in_with_password(page: Page, email: str) -> None:
    await expect(page.locator("[data-testid=login-email]")).to_be_visible(timeout=T)
    await page.locator("[data-testid=login-email]").fill(email)
    await page.locator("[data-testid=login-password]").fill(AGENT_PASSWORD)
    await page.locator("[data-testid=login-submit]").click()


async def expect_inbox(page: Page) -> None:
    await expect(page.locator("[data-testid=status]")).to_be_visible(timeout=T)
    await expect(page.locator("[data-testid=login-email]")).to_have_count(0)


async def add_passkey(page: Page, name: str) -> None:
    await page.locator("[data-testid=account]").click()
    section = page.locator("[data-testid=passkeys-section]")
    await expect(section).to_be_visible(timeout=T)
    await expect(section.locator("[data-testid=passkeys-empty]")).to_be_visible(timeout=T)
    await section.locator("[data-testid=passkey-add]").click()
    await section.locator("[data-testid=passkey-name]").fill(name)
    await section.locator("[data-testid=passkey-password]").fill(AGENT_PASSWORD)
    await section.locator("[data-testid=passkey-create]").click()
    await expect(section.locator("[data-testid=passkey-item]")).to_have_count(1, timeout=T)
    await expect(section.locator("[data-testid=passkey-name-text]")).to_have_text(name)
    await expect(section.locator("[data-testid=passkey-feedback]")).to_have_text("Passkey added.")


async def log_out(page: Page) -> None:
    await page.locator("[data-testid=logout]").click()
    await expect(page.locator("[data-testid=login-email]")).to_be_visible(timeout=T)


async def session_cookie(context: BrowserContext) -> str | None:
    return next(
        (c["value"] for c in await context.cookies() if c["name"] == "bastion_session"), None
    )


async def test_register_a_passkey_then_sign_in_without_a_password(
    bastion_localhost: tuple[Server, str], browser: Browser
) -> None:
    _srv, origin = bastion_localhost
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(T)
    cdp, authenticator = await virtual_authenticator(context, page)

    await page.goto(f"{origin}/console/")
    await sign_in_with_password(page, PASSWORDLESS)
    await expect_inbox(page)
    first_session = await session_cookie(context)
    await add_passkey(page, "Test laptop")
    stored = await credentials(cdp, authenticator)
    assert len(stored) == 1
    assert stored[0]["isResidentCredential"] is True and stored[0]["rpId"] == "localhost"

    await log_out(page)
    await page.locator("[data-testid=login-passkey]").click()
    await expect_inbox(page)
    new_session = await session_cookie(context)
    assert new_session and new_session != first_session  # a new session id
    assert (await credentials(cdp, authenticator))[0]["signCount"] >= 1

    # The passkey shows when it was last used.
    await page.locator("[data-testid=account]").click()
    item = page.locator("[data-testid=passkey-item]")
    await expect(item).not_to_contain_text("never used", timeout=T)
    await context.close()


async def test_a_passkey_as_the_second_step_after_the_password(
    bastion_localhost: tuple[Server, str], browser: Browser
) -> None:
    _srv, origin = bastion_localhost
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(T)
    await virtual_authenticator(context, page)

    await page.goto(f"{origin}/console/")
    await sign_in_with_password(page, SECOND_STEP)
    await expect_inbox(page)
    await add_passkey(page, "Phone")
    await log_out(page)

    # The password alone is no longer enough: the server asks for the passkey.
    async with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login")) as info:
        await sign_in_with_password(page, SECOND_STEP)
    response = await info.value
    assert response.status == 401 and (await response.json())["code"] == "passkey_required"
    await expect(page.locator("[data-testid=status]")).to_have_count(0)
    async with page.expect_response(
        lambda r: r.url.endswith("/api/v1/auth/passkeys/login/options")
    ) as options_info:
        await page.locator("[data-testid=login-passkey-step]").click()
    options = await (await options_info.value).json()
    assert len(options["public_key"]["allowCredentials"]) == 1  # this account's passkey only
    await expect_inbox(page)
    await context.close()


async def test_a_passkey_completes_required_two_step_enrolment(
    bastion_localhost: tuple[Server, str], browser: Browser
) -> None:
    srv, origin = bastion_localhost
    cli(srv.env, "security", "policy", "--require-2fa", "supervisor")
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(T)
    await virtual_authenticator(context, page)

    await page.goto(f"{origin}/console/")
    await sign_in_with_password(page, ENROLLING)
    enrolment = page.locator("[data-testid=enrollment]")
    await expect(enrolment).to_be_visible(timeout=T)
    await expect(page.locator("[data-testid=status]")).to_have_count(0)
    # A passkey instead of an authenticator app: the console opens.
    section = enrolment.locator("[data-testid=passkeys-section]")
    await section.locator("[data-testid=passkey-add]").click()
    await section.locator("[data-testid=passkey-name]").fill("Laptop")
    await section.locator("[data-testid=passkey-password]").fill(AGENT_PASSWORD)
    await section.locator("[data-testid=passkey-create]").click()
    await expect_inbox(page)
    await expect(enrolment).to_have_count(0)

    # The only second factor of a role that requires one cannot be removed.
    await page.locator("[data-testid=account]").click()
    passkeys = page.locator("[data-testid=passkeys-section]")
    await passkeys.locator("[data-testid=passkey-remove]").click()
    await passkeys.locator("[data-testid=passkey-password]").fill(AGENT_PASSWORD)
    await passkeys.locator("[data-testid=passkey-remove-confirm]").click()
    await expect(passkeys.locator("[data-testid=passkey-feedback]")).to_contain_text(
        "requires two-step login", timeout=T
    )
    await expect(passkeys.locator("[data-testid=passkey-item]")).to_have_count(1)
    await context.close()
