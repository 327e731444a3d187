"""End to end in Chromium: an agent hands a chat to a colleague, who answers the visitor."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import AGENT_NAME, Site
from tests.e2e.test_browser_chat import (
    QUESTION,
    T,
    accept_waiting_chat,
    login_agent,
    msg,
    open_widget,
    start_chat,
    visitor_says,
)
from tests.support.server import AGENT_PASSWORD, Server

COLLEAGUE_EMAIL = "petras@example.com"
COLLEAGUE_NAME = "Petras"
ANSWER = "Petras here: your new card is on its way."


async def login_as(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/console/")
    await page.locator("[data-testid=login-email]").fill(email)
    await page.locator("[data-testid=login-password]").fill(AGENT_PASSWORD)
    await page.locator("[data-testid=login-submit]").click()
    await expect(page.locator("[data-testid=status]")).to_be_visible(timeout=T)


async def test_agent_transfers_a_chat_to_a_colleague(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    bastion.create_user(COLLEAGUE_EMAIL, "agent", name=COLLEAGUE_NAME)

    visitor = await (await browser.new_context()).new_page()
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await start_chat(widget, "Rūta")
    await visitor_says(widget, QUESTION)

    first = await (await browser.new_context()).new_page()
    await login_agent(first, bastion.base)
    second = await (await browser.new_context()).new_page()
    await login_as(second, bastion.base, COLLEAGUE_EMAIL)
    conversation = await accept_waiting_chat(first, "Rūta")

    # The picker: keyboard-usable, Escape closes it and gives the focus back.
    transfer = first.locator("[data-testid=transfer]")
    await transfer.click()
    choice = first.locator("[data-testid=transfer-agent]")
    await expect(choice).to_be_focused(timeout=T)
    await first.keyboard.press("Escape")
    await expect(first.locator("[data-testid=transfer-form]")).to_have_count(0)
    await expect(transfer).to_be_focused()
    await transfer.click()
    await expect(choice.locator("option", has_text=COLLEAGUE_NAME)).to_have_count(1, timeout=T)
    await expect(choice.locator("option", has_text=AGENT_NAME)).to_have_count(0)  # not oneself
    colleague = choice.locator("option", has_text=COLLEAGUE_NAME)
    await choice.select_option(await colleague.get_attribute("value"))
    await first.locator("[data-testid=transfer-confirm]").click()

    # The old holder: the chat left "My chats"; the open view says where it went, read-only.
    await expect(first.locator("[data-testid=handed-over]")).to_contain_text(
        f"Transferred to {COLLEAGUE_NAME}", timeout=T
    )
    await expect(first.locator("[data-testid=composer]")).to_be_disabled()
    await expect(first.locator("[data-testid=send]")).to_be_disabled()
    await expect(first.locator("[data-testid=close]")).to_have_count(0)
    await expect(first.locator("[data-testid=transfer]")).to_have_count(0)
    await expect(first.locator("[data-testid=my-item]")).to_have_count(0)

    # The colleague now holds it and answers.
    mine = second.locator(f'[data-testid=my-item][data-conversation="{conversation}"]')
    await expect(mine).to_be_visible(timeout=T)
    await mine.click()
    await expect(msg(second, "visitor", QUESTION)).to_be_visible(timeout=T)
    await expect(second.locator("main [data-testid=state]")).to_have_attribute(
        "data-state", "active"
    )
    await expect(second.locator("[data-testid=handed-over]")).to_have_count(0)
    await second.locator("[data-testid=composer]").fill(ANSWER)
    await second.locator("[data-testid=send]").click()

    # The visitor saw the colleague join and gets the answer.
    await expect(msg(widget, "agent", ANSWER)).to_be_visible(timeout=T)
    await expect(widget.locator("[data-testid=state]")).to_contain_text(COLLEAGUE_NAME)


SUPERVISOR_EMAIL = "rasa@example.com"
SUPERVISOR_NAME = "Rasa"
TAKEN_OVER = "Rasa, team lead, taking over from here."


async def test_a_supervisor_takes_over_a_colleagues_chat(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    bastion.create_user(SUPERVISOR_EMAIL, "supervisor", name=SUPERVISOR_NAME)

    visitor = await (await browser.new_context()).new_page()
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await start_chat(widget, "Gintarė")
    await visitor_says(widget, QUESTION)

    agent = await (await browser.new_context()).new_page()
    await login_agent(agent, bastion.base)
    conversation = await accept_waiting_chat(agent, "Gintarė")

    # The supervisor lists colleagues' chats, with who holds each, and may take one over.
    lead = await (await browser.new_context()).new_page()
    await login_as(lead, bastion.base, SUPERVISOR_EMAIL)
    team = lead.locator(f'[data-testid=team-item][data-conversation="{conversation}"]')
    await expect(team).to_be_visible(timeout=T)
    await expect(team.locator("[data-testid=holder]")).to_have_text(AGENT_NAME)
    await team.click()
    await expect(msg(lead, "visitor", QUESTION)).to_be_visible(timeout=T)
    await expect(lead.locator("[data-testid=composer]")).to_be_disabled()
    await lead.locator("[data-testid=transfer]").click()
    choice = lead.locator("[data-testid=transfer-agent]")
    await expect(choice.locator("option", has_text=SUPERVISOR_NAME)).to_have_count(1, timeout=T)
    await expect(choice.locator("option", has_text=AGENT_NAME)).to_have_count(0)  # the holder
    own = choice.locator("option", has_text=SUPERVISOR_NAME)
    await choice.select_option(await own.get_attribute("value"))
    await lead.locator("[data-testid=transfer-confirm]").click()

    mine = lead.locator(f'[data-testid=my-item][data-conversation="{conversation}"]')
    await expect(mine).to_be_visible(timeout=T)
    await expect(team).to_have_count(0)
    await lead.locator("[data-testid=composer]").fill(TAKEN_OVER)
    await lead.locator("[data-testid=send]").click()
    await expect(msg(widget, "agent", TAKEN_OVER)).to_be_visible(timeout=T)
    # The agent who held it sees where it went.
    await expect(agent.locator("[data-testid=handed-over]")).to_contain_text(
        f"Transferred to {SUPERVISOR_NAME}", timeout=T
    )
