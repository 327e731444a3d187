"""An agent bans a visitor from the console; the visitor's open widget stops at once.

The visitor is told only that chat is unavailable (never that they are banned), the
composer goes away, and a reload gets the same answer. The agent sees until when, and the
chat closes in the console with the reason.
"""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Site
from tests.e2e.test_browser_chat import (
    accept_waiting_chat,
    login_agent,
    msg,
    open_widget,
    record_dialogs,
    start_chat,
)
from tests.support.server import Server

T = 10_000  # ms
UNAVAILABLE = "Chat is unavailable right now. Please try again later."


async def test_agent_bans_a_visitor_from_the_console(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    dialogs: list[str] = []
    visitor = await (await browser.new_context()).new_page()
    record_dialogs(visitor, dialogs)
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await start_chat(widget, "Spammer")
    await widget.locator("[data-testid=composer]").fill("buy cheap pills")
    await widget.locator("[data-testid=send]").click()

    console = await (await browser.new_context()).new_page()
    record_dialogs(console, dialogs)
    await login_agent(console, bastion.base)
    await accept_waiting_chat(console, "Spammer")
    await expect(msg(console, "visitor", "buy cheap pills")).to_be_visible(timeout=T)

    await console.locator("[data-testid=ban]").click()
    form = console.locator("[data-testid=ban-form]")
    await expect(form).to_be_visible(timeout=T)
    await form.locator("[data-testid=ban-duration]").select_option(str(7 * 86_400))
    confirm = form.locator("[data-testid=ban-confirm]")
    await expect(confirm).to_be_disabled()  # a reason is required
    await form.locator("[data-testid=ban-reason]").fill("pill spam")
    await confirm.click()
    await expect(console.locator("[data-testid=ban-done]")).to_be_visible(timeout=T)

    # The open widget is told, neutrally, and offers nothing to type into.
    notice = widget.locator("[role=alert]").filter(has_text=UNAVAILABLE)
    await expect(notice).to_be_visible(timeout=T)
    await expect(widget.locator("[data-testid=composer]")).to_be_hidden(timeout=T)
    assert "ban" not in (await widget.locator("body").inner_text()).lower()

    # The agent's chat closes too, saying why, and leaves nothing to reply to.
    closed = console.locator("[data-testid=event][data-reason=banned]")
    await expect(closed).to_have_text("Chat closed: the visitor was banned", timeout=T)
    await expect(console.locator("[data-testid=close]")).to_have_count(0)

    # A reload does not get round it.
    await visitor.reload()
    widget = await open_widget(visitor)
    await expect(widget.locator("[role=alert]").filter(has_text=UNAVAILABLE)).to_be_visible(
        timeout=T
    )
    assert dialogs == []
