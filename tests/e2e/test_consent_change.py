"""A privacy notice an admin changes while a visitor's page is open, in Chromium: the
visitor ticks the notice the page showed, the server refuses consent to a notice it no
longer shows, and the widget shows the new one, unticked, with what was typed kept; the
chat starts once the visitor accepts that (the version recorded with it: the unit tests).
"""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Site
from tests.e2e.test_browser_chat import open_widget, record_dialogs
from tests.support.client import login
from tests.support.server import AGENT_PASSWORD, Server

T = 10_000  # ms, for any single UI expectation
NEW_TEXT = "We keep this chat for one year to answer you, then delete it."


async def test_a_notice_changed_under_an_open_page_is_shown_and_asked_again(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    dialogs: list[str] = []
    page = await (await browser.new_context(locale="en-US")).new_page()
    record_dialogs(page, dialogs)
    await page.goto(allowed_site.url)
    widget = await open_widget(page)
    form = widget.locator("[data-testid=prechat]")
    await expect(form).to_be_visible(timeout=T)
    await form.locator('input[name="name"]').fill("Ona")
    await form.locator("[data-testid=consent]").check()

    bastion.create_user("consent-admin@example.com", "admin", name="Ada")
    cookie, csrf = await login(bastion.base, "consent-admin@example.com", AGENT_PASSWORD)
    admin = {"Cookie": cookie, "X-CSRF-Token": csrf}
    path = f"/api/v1/widgets/{bastion.widget}"
    async with httpx.AsyncClient(base_url=bastion.base, headers=admin) as http:
        before = (await http.get(f"{path}/config")).json()["consent"]
        new = {**before, "text": NEW_TEXT, "version": "2026-11"}
        assert (await http.patch(path, json={"consent": new})).status_code == 200
        try:
            await form.locator("[data-testid=start]").click()
            await expect(widget.locator(".notice")).to_have_text(
                "Our privacy notice has just changed. Please read it and accept it again.",
                timeout=T,
            )
            await expect(form.locator(".consent-text")).to_have_text(NEW_TEXT)
            await expect(form.locator("[data-testid=consent]")).not_to_be_checked()
            await expect(form.locator('input[name="name"]')).to_have_value("Ona")

            await form.locator("[data-testid=consent]").check()
            await form.locator("[data-testid=start]").click()
            await expect(form).to_be_hidden(timeout=T)
            await expect(widget.locator("[data-testid=state]")).to_have_attribute(
                "data-state", "waiting", timeout=T
            )
        finally:
            # The other browser tests share this server and its default widget.
            await http.patch(path, json={"consent": before})
    assert not dialogs, dialogs
