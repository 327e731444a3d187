"""The console and the widget on a phone-sized screen (390 x 844, touch).

No page may scroll sideways, the chat list and the open chat take the screen in turn, and the
buttons an agent needs (Accept, Send, back to the list) are on screen and not covered.
"""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.conftest import Site
from tests.e2e.test_browser_chat import (
    T,
    login_agent,
    msg,
    open_widget,
    start_chat,
    visitor_says,
)
from tests.support.server import Server

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
# One unbroken word: it must be cut or wrapped, never widen the page.
LONG_NAME = "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaftschaferswessen"
ARABIC = "مرحبا، فقدت بطاقتي أمس. هل يمكنك مساعدتي؟"


async def assert_no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide"


async def assert_on_screen(button: Locator) -> None:
    """Inside the screen and the topmost element at its centre (nothing overlaps it)."""
    await expect(button).to_be_visible(timeout=T)
    where = await button.evaluate(
        """el => {
          const r = el.getBoundingClientRect();
          const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return {inside: r.left >= 0 && r.top >= 0 && r.right <= 390 && r.bottom <= 844,
                  topmost: !!top && el.contains(top)};
        }"""
    )
    assert where == {"inside": True, "topmost": True}, where


async def test_console_fits_a_phone(bastion: Server, allowed_site: Site, browser: Browser) -> None:
    visitor = await (await browser.new_context(**PHONE)).new_page()
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await start_chat(widget, LONG_NAME)
    await visitor_says(widget, ARABIC)
    # Right-to-left text reads right-to-left in both the widget and the console.
    assert await msg(widget, "visitor", ARABIC).locator(".body").get_attribute("dir") == "auto"

    console = await (await browser.new_context(**PHONE)).new_page()
    await login_agent(console, bastion.base)
    await assert_no_sideways_scroll(console)
    await assert_on_screen(console.locator("[data-testid=logout]"))
    item = console.locator("[data-testid=queue-item]").filter(has_text=LONG_NAME)
    await expect(item).to_have_count(1, timeout=T)
    await item.click()

    # The open chat replaces the list: the header wraps, the buttons stay reachable.
    await expect(console.locator("nav.sidebar")).to_be_hidden()
    await assert_no_sideways_scroll(console)
    await assert_on_screen(console.locator("[data-testid=accept]"))
    body = msg(console, "visitor", ARABIC).locator(".body")
    await expect(body).to_have_attribute("dir", "auto")
    assert await body.evaluate("el => getComputedStyle(el).direction") == "rtl"
    await console.locator("[data-testid=accept]").click()
    await expect(console.locator("main [data-testid=state]")).to_have_attribute(
        "data-state", "active", timeout=T
    )
    messages = await console.locator(".messages").bounding_box()
    assert messages and messages["height"] > 200, messages
    await console.locator("[data-testid=composer]").fill("Hello from a phone")
    await assert_on_screen(console.locator("[data-testid=send]"))
    await console.locator("[data-testid=send]").click()
    await expect(msg(widget, "agent", "Hello from a phone")).to_be_visible(timeout=T)
    await assert_no_sideways_scroll(console)

    # Back to the list, with the focus on the chat just left.
    back = console.locator("[data-testid=back-to-list]")
    await assert_on_screen(back)
    await back.click()
    mine = console.locator("[data-testid=my-item]").filter(has_text=LONG_NAME)
    await expect(mine).to_be_focused(timeout=T)
    await expect(console.locator("[data-testid=composer]")).to_have_count(0)
    await assert_no_sideways_scroll(console)
