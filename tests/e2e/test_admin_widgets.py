"""The Widgets tab end to end, in Chromium: an admin changes the greeting, the colour, the
pre-chat form and the consent notice; a visitor on the customer's site sees them. A bad
privacy link is refused with a sentence and changes nothing.
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Site, embed_snippet
from tests.e2e.test_admin import login
from tests.e2e.test_browser_chat import open_widget, record_dialogs
from tests.support.server import AGENT_PASSWORD, Server

T = 10_000  # ms, for any single UI expectation
GREETING = "Labas! Ask us about your order."
CONSENT = "I agree that Acme keeps this chat to answer me."


async def test_admin_sets_the_widgets_look_and_consent(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    dialogs: list[str] = []
    bastion.create_user("wadmin@example.com", "admin", name="Ada")
    admin = await (await browser.new_context()).new_page()
    record_dialogs(admin, dialogs)
    await login(admin, bastion.base, "wadmin@example.com", AGENT_PASSWORD)
    await admin.locator("[data-testid=admin]").click()
    await admin.locator("[data-testid=admin-tab-widgets]").click()
    form = admin.locator(f'[data-testid=widget-form][data-widget="{bastion.widget}"]')
    await expect(form).to_be_visible(timeout=T)
    snippet = form.locator("[data-testid=widget-snippet]")
    await expect(snippet).to_have_value(embed_snippet(bastion.base, bastion.widget))
    await expect(form.locator("[data-testid=widget-origins]")).to_have_value(
        re.compile(re.escape(allowed_site.origin))
    )

    # Accessible names: every control can be found by its label.
    await form.get_by_label("Greeting").fill(GREETING)
    await form.get_by_label("Pick the colour").fill("#0a7d3b")
    await expect(form.get_by_label("Colour (#rrggbb)")).to_have_value("#0a7d3b")
    await form.locator("[data-testid=widget-prechat-name-shown]").uncheck()
    await form.locator("[data-testid=widget-consent-text]").fill(CONSENT)
    await expect(form.locator("[data-testid=widget-consent-bump]")).to_be_visible()
    await form.get_by_label("Version (recorded with each chat's consent)").fill("2026-05")
    await expect(form.locator("[data-testid=widget-consent-bump]")).to_have_count(0)

    # A javascript: link is refused by the server, with a sentence; nothing is saved.
    url = form.locator("[data-testid=widget-consent-url]")
    await url.fill("javascript:alert(1)")
    await form.locator("[data-testid=widget-save]").click()
    error = form.locator("[data-testid=admin-error]")
    await expect(error).to_contain_text("The privacy link must be an https:// address", timeout=T)

    # A consent text over the limit is refused whole, with the limit named; it was cut at
    # 500 characters by the field without a word, and the form said "Saved." (QA).
    await url.fill("/privacy")
    consent = form.locator("[data-testid=widget-consent-text]")
    await consent.fill(CONSENT + " x" * 300)
    await expect(consent).to_have_value(CONSENT + " x" * 300)
    await form.locator("[data-testid=widget-save]").click()
    await expect(error).to_contain_text("longer than 500 characters", timeout=T)
    await consent.fill(CONSENT)

    await form.locator("[data-testid=widget-save]").click()
    await expect(form.locator("[data-testid=admin-ok]")).to_be_visible(timeout=T)

    # The visitor on the customer's site sees the new widget.
    visitor = await (await browser.new_context()).new_page()
    record_dialogs(visitor, dialogs)
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await expect(widget.locator(".greeting")).to_have_text(GREETING, timeout=T)
    prechat = widget.locator("[data-testid=prechat]")
    await expect(prechat.locator('input[name="email"]')).to_be_visible(timeout=T)
    await expect(prechat.locator('input[name="name"]')).to_have_count(0)
    await expect(prechat.locator(".consent-text")).to_have_text(CONSENT)
    await expect(prechat.locator("a.privacy")).to_have_attribute("href", f"{bastion.base}/privacy")
    accent = (
        await visitor.frame_locator("#bastion-frame")
        .locator("html")
        .evaluate("el => el.style.getPropertyValue('--accent')")
    )
    assert accent == "#0a7d3b"
    assert not dialogs, dialogs
