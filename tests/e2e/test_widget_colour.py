"""Any widget colour stays readable, in Chromium: the header title, the visitor's own
messages' text, the primary button and the launcher's icon are white on a dark colour
and dark on a light one (QA: #ffffff made them white on white)."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Site
from tests.e2e.test_browser_chat import open_widget, record_dialogs
from tests.support.client import login
from tests.support.server import AGENT_PASSWORD, Server

T = 10_000  # ms, for any single UI expectation
WHITE = "rgb(255, 255, 255)"
DARK = "rgb(29, 33, 41)"


async def test_text_on_the_widget_colour_is_readable_for_dark_and_light_colours(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    bastion.create_user("colour-admin@example.com", "admin", name="Ada")
    cookie, csrf = await login(bastion.base, "colour-admin@example.com", AGENT_PASSWORD)
    path = f"/api/v1/widgets/{bastion.widget}"
    dialogs: list[str] = []
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    async with httpx.AsyncClient(base_url=bastion.base, headers=headers) as http:
        before = (await http.get(f"{path}/config")).json()["color"]
        try:
            for colour, ink in (("#ffffff", DARK), ("#ffff66", DARK), ("#0a2540", WHITE)):
                assert (await http.patch(path, json={"color": colour})).status_code == 200
                page = await (await browser.new_context()).new_page()
                record_dialogs(page, dialogs)
                await page.goto(allowed_site.url)
                launcher = page.locator("#bastion-launcher")
                await expect(launcher).to_have_css("color", ink, timeout=T)
                widget = await open_widget(page)
                await expect(widget.locator(".header")).to_have_css("color", ink, timeout=T)
                start = widget.locator("[data-testid=start]")
                await expect(start).to_have_css("color", ink, timeout=T)
                await page.context.close()
        finally:
            # The other browser tests share this server and its default widget.
            await http.patch(path, json={"color": before})
    assert not dialogs, dialogs
