"""Proactive invitations end to end, and the launcher that appears only when the chat works.

The agent sees a visitor browsing the customer's site in "On the site now" (live
``visitor.page`` events), invites them, and the widget on the customer's site opens with the
invitation; the visitor's answer starts an ordinary chat in the agent's queue. On a site the
widget does not allow, the browser blocks the frame, which therefore never says it is ready,
and the loader shows no launcher at all.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, Response, expect

from tests.e2e.conftest import AGENT_NAME, Site
from tests.e2e.test_browser_chat import login_agent, msg, record_dialogs
from tests.support.server import Server

T = 10_000  # ms, for any single UI expectation
NEVER_MS = 3_000  # how long "never becomes visible" is watched

INVITATION = "Hi! <b>Need a hand</b> with your order? <img src=x onerror=alert(1)>"
ANSWER = "Yes please, where is my parcel?"

# Runs in the customer's page before the loader: notes every message the page receives from
# the Bastion frame and, whenever the launcher changes, whether it is shown and whether the
# frame had said it was ready by then.
WATCH_LAUNCHER = """
(() => {
  const log = (window.__bastionLog = []);
  let ready = false;
  addEventListener("message", (e) => {
    const type = e.data && typeof e.data === "object" ? e.data.type : null;
    if (type === "bastion:ready") ready = true;
    log.push({ kind: "message", type, origin: e.origin });
  });
  new MutationObserver(() => {
    const button = document.getElementById("bastion-launcher");
    if (!button) return;
    log.push({ kind: "launcher", display: getComputedStyle(button).display, ready });
  }).observe(document, { subtree: true, childList: true, attributes: true });
})();
"""


def is_session(response: Response) -> bool:
    return response.url.endswith("/sessions") and response.request.method == "POST"


async def launcher_log(page: Page) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = await page.evaluate("window.__bastionLog")
    return log


async def test_agent_invites_a_visitor_browsing_the_site(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    dialogs: list[str] = []

    # The agent is in the console first: "On the site now" lists live page views.
    console = await (await browser.new_context()).new_page()
    record_dialogs(console, dialogs)
    await login_agent(console, bastion.base)
    await expect(console.locator("[data-testid=site-visitors]")).to_be_visible(timeout=T)

    # The visitor opens the customer's site.
    visitor = await (await browser.new_context()).new_page()
    record_dialogs(visitor, dialogs)
    await visitor.add_init_script(WATCH_LAUNCHER)
    async with visitor.expect_response(is_session, timeout=T) as session_info:
        await visitor.goto(allowed_site.url)
    session = await (await session_info.value).json()
    visitor_id = session["visitor"]
    assert visitor_id.startswith("v_")
    assert session["verified"] is False

    # The launcher shows only once the frame has said it is ready, from Bastion's origin.
    launcher = visitor.locator("#bastion-launcher")
    await expect(launcher).to_be_visible(timeout=T)
    await expect(launcher).to_have_attribute("aria-expanded", "false")
    log = await launcher_log(visitor)
    readies = [e for e in log if e["kind"] == "message" and e["type"] == "bastion:ready"]
    assert readies, log
    assert {e["origin"] for e in readies} == {bastion.base}
    shown = [e for e in log if e["kind"] == "launcher" and e["display"] != "none"]
    assert shown, log
    assert all(e["ready"] for e in shown), log
    assert any(e["kind"] == "launcher" and e["display"] == "none" for e in log), log

    # The agent sees the visitor and the page they are on.
    entry = console.locator(f'[data-testid=site-visitor][data-visitor="{visitor_id}"]')
    await expect(entry).to_have_count(1, timeout=T)
    await expect(entry.locator("[data-testid=site-visitor-title]")).to_have_text("Acme Shop")
    await expect(entry.locator("[data-testid=site-visitor-url]")).to_have_text(allowed_site.url)

    # The agent invites, starting from the default text.
    await entry.locator("[data-testid=invite]").click()
    invite_box = entry.locator("[data-testid=invite-input]")
    await expect(invite_box).to_be_visible()
    assert (await invite_box.input_value()).strip() != ""
    await invite_box.fill(INVITATION)
    await entry.locator("[data-testid=invite-send]").click()
    await expect(entry.locator("[data-testid=invite-result]")).to_have_text(
        "Invitation sent.", timeout=T
    )

    # The widget opens by itself and shows the invitation, as text.
    await expect(launcher).to_have_attribute("aria-expanded", "true", timeout=T)
    widget = visitor.frame_locator("#bastion-frame")
    invitation = widget.locator("[data-testid=invitation]")
    await expect(invitation).to_be_visible(timeout=T)
    await expect(invitation.locator(".invitation-agent")).to_have_text(AGENT_NAME)
    await expect(invitation.locator(".invitation-message")).to_have_text(INVITATION)
    for tag in ("b", "img", "a"):
        await expect(invitation.locator(tag)).to_have_count(0)

    # The visitor answers in the composer (the form keeps the name and the consent).
    form = widget.locator("[data-testid=prechat]")
    await expect(form).to_be_visible()
    await form.locator('input[name="name"]').fill("Ona")
    await form.locator("[data-testid=consent]").check()
    composer = widget.locator("[data-testid=composer]")
    await composer.fill(ANSWER)
    await composer.press("Enter")
    await expect(form).to_be_hidden(timeout=T)
    await expect(widget.locator("[data-testid=state]")).to_have_attribute(
        "data-state", "waiting", timeout=T
    )
    await expect(msg(widget, "visitor", ANSWER)).to_be_visible(timeout=T)
    await expect(invitation).to_be_visible()

    # The chat is in the agent's queue, with the page the visitor is on.
    item = console.locator("[data-testid=queue-item]").filter(has_text="Ona")
    await expect(item).to_have_count(1, timeout=T)
    await expect(item).to_contain_text(ANSWER, timeout=T)
    await item.click()
    await expect(msg(console, "visitor", ANSWER)).to_be_visible(timeout=T)
    page_line = console.locator("main [data-testid=conv-page]")
    await expect(page_line).to_contain_text("Acme Shop", timeout=T)
    await expect(page_line).to_contain_text(allowed_site.url)

    # After a reload the page comes from the conversation summary, not "Page unknown".
    await console.reload()
    await expect(console.locator("[data-testid=status]")).to_be_visible(timeout=T)
    await console.locator("[data-testid=queue-item]").filter(has_text="Ona").click()
    page_line = console.locator("main [data-testid=conv-page]")
    await expect(page_line).to_contain_text("Acme Shop", timeout=T)
    await expect(page_line).not_to_contain_text("Page unknown")

    # From the start of the page, the first Tab offers to skip the lists ("On the site
    # now" has an Invite button per visitor) and Enter lands in the open chat.
    to_start = "const b = document.body; b.tabIndex = -1; b.focus(); b.removeAttribute('tabindex')"
    await console.evaluate(to_start)
    skip = console.locator("[data-testid=skip-to-chat]")
    await expect(skip).not_to_be_in_viewport()
    await console.keyboard.press("Tab")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await console.keyboard.press("Enter")
    await expect(console.locator("main#conversation")).to_be_focused()
    await console.keyboard.press("Tab")
    in_chat = "document.activeElement.closest('main#conversation') !== null"
    assert await console.evaluate(in_chat)
    assert dialogs == []


async def test_no_launcher_on_a_site_the_widget_does_not_allow(
    bastion: Server, foreign_site: Site, browser: Browser
) -> None:
    page = await (await browser.new_context()).new_page()
    await page.add_init_script(WATCH_LAUNCHER)
    warnings: list[str] = []
    page.on(
        "console",
        lambda m: warnings.append(m.text) if "postMessage" in m.text else None,
    )
    async with page.expect_event(
        "requestfailed", lambda r: "/widget/frame" in r.url, timeout=T
    ) as blocked:
        await page.goto(foreign_site.url)
    assert (await blocked.value).failure == "net::ERR_BLOCKED_BY_RESPONSE"

    launcher = page.locator("#bastion-launcher")
    # Watched for a while: it never shows, whatever the loader is waiting for.
    for _ in range(NEVER_MS // 250):
        assert not await launcher.is_visible()
        await page.wait_for_timeout(250)
    await expect(launcher).to_be_hidden()
    log = await launcher_log(page)
    assert not [e for e in log if e["kind"] == "launcher" and e["display"] != "none"], log
    assert not [e for e in log if e["kind"] == "message" and e["origin"] == bastion.base], log
    # Nothing was posted to the blocked frame (whose origin is not Bastion's): no warnings.
    assert warnings == []
