"""The widget on a site of another domain than Bastion's, in Chromium, whose default
refuses storage to a third-party frame: the visitor's chat survives a reload because the
loader keeps the frame's state in the host page's storage (and only then).

The customer site is reached as ``localhost`` while Bastion is ``127.0.0.1``: two sites to
the browser, as ``shop.example`` and ``chat.vendor.example`` would be.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Site
from tests.e2e.test_browser_chat import msg, open_widget, start_chat, visitor_says
from tests.support.server import Server, cli

T = 10_000


async def test_a_chat_on_another_sites_page_survives_a_reload(
    bastion: Server, make_site: Callable[..., Site], browser: Browser
) -> None:
    site = make_site("Other Domain Shop")
    port = site.httpd.server_address[1]
    origin = f"http://localhost:{port}"
    cli(bastion.env, "widget", "allow", bastion.widget, origin)
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{origin}/")
    widget = await open_widget(page)
    # The premise: this browser gives the frame no storage of its own.
    frame = next(f for f in page.frames if "/widget/frame" in f.url)
    refused = await frame.evaluate(
        "() => { try { localStorage.getItem('x'); return false } catch { return true } }"
    )
    assert refused, "Chromium gave the third-party frame storage: this test proves nothing"

    await start_chat(widget, "Rasa")
    await visitor_says(widget, "Still there after a reload?")
    key = f"bastion:v1:{bastion.widget}"
    saved = await page.evaluate("(key) => localStorage.getItem(key)", key)
    assert saved is not None and '"conversation":"c_' in saved

    await page.reload()
    widget = await open_widget(page)
    await expect(msg(widget, "visitor", "Still there after a reload?")).to_be_visible(timeout=T)
    await expect(widget.locator("[data-testid=prechat]")).to_be_hidden()
    # Only the widget's own key was written to the host page's storage.
    keys = await page.evaluate("() => Object.keys(localStorage)")
    assert keys == [key]
