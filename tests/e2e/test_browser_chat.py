"""End to end in a real browser: the widget on a customer's site and the agent console.

Chromium (Debian's) drives the real front-end built into ``web_dist``, served by a real
``bastion serve`` on SQLite. The customer's site is a separate HTTP server on another port
of 127.0.0.1, so the widget runs as a cross-origin iframe, as it does in production.
"""

from __future__ import annotations

from playwright.async_api import (
    Browser,
    Dialog,
    FrameLocator,
    Locator,
    Page,
    Request,
    Response,
    expect,
)

from tests.e2e.conftest import AGENT_EMAIL, AGENT_NAME, Site
from tests.support.server import AGENT_PASSWORD, Server

T = 10_000  # ms: generous for a loaded CI machine, still bounded
# The widget fetches an acknowledged event over REST if it has not arrived live within
# 1.5 s (CATCH_UP_DELAY_MS in web/widget/frame/chat.ts); waiting longer than that before
# counting messages gives a duplicate the chance to show up.
SETTLE_MS = 2_000

QUESTION = "Hello, I lost my card yesterday."
REPLY = "Hi Ona! I have frozen it for you."
THANKS = "Thank you, that was quick."

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_MESSAGE = "<script>alert(1)</script><img src=x onerror=alert(2)> javascript:alert(3)"
XSS_REPLY = "<b>bold?</b><svg onload=alert(4)> javascript:alert(5)"


# --- helpers --------------------------------------------------------------------------------


async def open_widget(page: Page) -> FrameLocator:
    """Opens the chat panel on a host page (if closed) and returns the widget frame."""
    launcher = page.locator("#bastion-launcher")
    await expect(launcher).to_be_visible(timeout=T)
    if await launcher.get_attribute("aria-expanded") != "true":
        await launcher.click()
    await expect(launcher).to_have_attribute("aria-expanded", "true", timeout=T)
    return page.frame_locator("#bastion-frame")


async def start_chat(widget: FrameLocator, name: str) -> None:
    form = widget.locator("[data-testid=prechat]")
    await expect(form).to_be_visible(timeout=T)
    await form.locator('input[name="name"]').fill(name)
    await form.locator("[data-testid=consent]").check()
    await form.locator("[data-testid=start]").click()
    await expect(form).to_be_hidden(timeout=T)
    await expect(widget.locator("[data-testid=state]")).to_have_attribute(
        "data-state", "waiting", timeout=T
    )


async def visitor_says(widget: FrameLocator, text: str) -> None:
    """Sends ``text`` from the widget and waits until it shows as the visitor's message."""
    await widget.locator("[data-testid=composer]").fill(text)
    await widget.locator("[data-testid=send]").click()
    await expect(msg(widget, "visitor", text)).to_be_visible(timeout=T)


async def login_agent(page: Page, base: str) -> None:
    await page.goto(f"{base}/console/")
    await page.locator("[data-testid=login-email]").fill(AGENT_EMAIL)
    await page.locator("[data-testid=login-password]").fill(AGENT_PASSWORD)
    await page.locator("[data-testid=login-submit]").click()
    await expect(page.locator("[data-testid=status]")).to_be_visible(timeout=T)


def msg(scope: FrameLocator | Page | Locator, author: str, body: str) -> Locator:
    """A message bubble by author kind and exact body text."""
    return scope.locator(f"[data-testid=msg][data-author={author}]").filter(has_text=body)


def bodies(scope: FrameLocator | Page) -> Locator:
    return scope.locator("[data-testid=messages] [data-testid=msg] .body")


def record_dialogs(page: Page, seen: list[str]) -> None:
    """Any alert/confirm/prompt is recorded (and dismissed so the page does not hang)."""

    async def on_dialog(dialog: Dialog) -> None:
        seen.append(f"{page.url}: {dialog.type} {dialog.message!r}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)


async def accept_waiting_chat(console: Page, visitor_name: str) -> str:
    """Selects the visitor's chat in the queue, accepts it; returns the conversation id."""
    item = console.locator("[data-testid=queue-item]").filter(has_text=visitor_name)
    await expect(item).to_have_count(1, timeout=T)
    conversation = await item.get_attribute("data-conversation")
    assert conversation and conversation.startswith("c_")
    await item.click()
    await console.locator("[data-testid=accept]").click()
    await expect(console.locator("main [data-testid=state]")).to_have_attribute(
        "data-state", "active", timeout=T
    )
    # Accepted: it left the queue and is now one of the agent's own chats.
    mine = console.locator(f'[data-testid=my-item][data-conversation="{conversation}"]')
    await expect(mine).to_be_visible(timeout=T)
    queued = console.locator(f'[data-testid=queue-item][data-conversation="{conversation}"]')
    await expect(queued).to_have_count(0, timeout=T)
    return conversation


# --- tests ----------------------------------------------------------------------------------


async def test_visitor_on_customer_site_chats_with_agent_in_console(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    dialogs: list[str] = []

    # The visitor, on the customer's site; the chat is a frame from Bastion's origin.
    visitor = await (await browser.new_context()).new_page()
    record_dialogs(visitor, dialogs)
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    frame_src = await visitor.locator("#bastion-frame").get_attribute("src") or ""
    assert frame_src.startswith(f"{bastion.base}/widget/frame?")
    assert allowed_site.origin != bastion.base
    await start_chat(widget, "Ona")
    composer = widget.locator("[data-testid=composer]")
    await composer.fill(QUESTION)
    await widget.locator("[data-testid=send]").click()
    await expect(msg(widget, "visitor", QUESTION)).to_be_visible(timeout=T)
    await expect(composer).to_have_value("")

    # The agent, in a second browser context (own cookies and storage).
    console = await (await browser.new_context()).new_page()
    record_dialogs(console, dialogs)
    await login_agent(console, bastion.base)
    await accept_waiting_chat(console, "Ona")
    await expect(msg(console, "visitor", QUESTION)).to_be_visible(timeout=T)
    await expect(console.locator("main .conv-title")).to_contain_text("Ona")

    # The visitor learns who joined.
    state = widget.locator("[data-testid=state]")
    await expect(state).to_have_attribute("data-state", "active", timeout=T)
    await expect(state).to_contain_text(AGENT_NAME)

    # Typing indicators, agent → visitor ...
    reply_box = console.locator("[data-testid=composer]")
    await reply_box.fill(REPLY)
    visitor_typing = widget.locator("[data-testid=typing]")
    await expect(visitor_typing).to_be_visible(timeout=T)
    await expect(visitor_typing).to_contain_text(AGENT_NAME)
    await console.locator("[data-testid=send]").click()
    await expect(msg(widget, "agent", REPLY)).to_be_visible(timeout=T)
    await expect(visitor_typing).to_be_hidden(timeout=T)

    # ... and visitor → agent.
    await composer.fill(THANKS)
    agent_typing = console.locator("[data-testid=typing]")
    await expect(agent_typing).to_be_visible(timeout=T)
    await composer.press("Enter")
    await expect(msg(console, "visitor", THANKS)).to_be_visible(timeout=T)
    await expect(agent_typing).to_be_hidden(timeout=T)

    conversation = [QUESTION, REPLY, THANKS]
    authors = ["visitor", "agent", "visitor"]
    await expect(bodies(console)).to_have_text(conversation, timeout=T)
    await expect(bodies(widget)).to_have_text(conversation, timeout=T)

    # The visitor reloads the page: the same conversation comes back, each message once.
    await visitor.reload()
    widget = await open_widget(visitor)
    await expect(bodies(widget)).to_have_text(conversation, timeout=T)
    await expect(widget.locator("[data-testid=prechat]")).to_have_count(0)
    await visitor.wait_for_timeout(SETTLE_MS)
    await expect(bodies(widget)).to_have_text(conversation)
    msgs = widget.locator("[data-testid=messages] [data-testid=msg]")
    assert [await m.get_attribute("data-author") for m in await msgs.all()] == authors
    seqs = [int(await m.get_attribute("data-seq") or "0") for m in await msgs.all()]
    assert seqs == sorted(set(seqs)), seqs
    for body in conversation:
        assert await widget.locator("[data-testid=msg] .body", has_text=body).count() == 1
    await expect(widget.locator("[data-testid=state]")).to_have_attribute(
        "data-state", "active", timeout=T
    )

    # The agent closes the chat; the widget says so and stops offering the composer.
    await console.locator("[data-testid=close]").click()
    await expect(console.locator("main [data-testid=state]")).to_have_attribute(
        "data-state", "closed", timeout=T
    )
    await expect(widget.locator("[data-testid=state]")).to_have_attribute(
        "data-state", "closed", timeout=T
    )
    await expect(widget.locator("[data-testid=composer]")).to_be_hidden()
    await expect(widget.locator("[data-testid=rate-good]")).to_be_visible()
    await expect(bodies(widget)).to_have_text(conversation)
    assert dialogs == []


async def test_site_not_in_allowed_domains_gets_no_chat(
    bastion: Server, foreign_site: Site, browser: Browser
) -> None:
    frame_responses: list[Response] = []
    api_requests: list[str] = []

    def on_response(response: Response) -> None:
        if "/widget/frame" in response.url:
            frame_responses.append(response)

    def on_request(request: Request) -> None:
        if "/api/" in request.url:
            api_requests.append(request.url)

    page = await (await browser.new_context()).new_page()
    page.on("response", on_response)
    page.on("request", on_request)
    page.on("websocket", lambda ws: api_requests.append(ws.url))

    # Chromium refuses to render the frame: its CSP names only the allowed origins. (Were
    # the site allowed, the frame would load and this would time out.)
    async with page.expect_event(
        "requestfailed", lambda r: "/widget/frame" in r.url, timeout=T
    ) as blocked:
        await page.goto(foreign_site.url)
    assert (await blocked.value).failure == "net::ERR_BLOCKED_BY_RESPONSE"
    assert len(frame_responses) == 1
    csp = await frame_responses[0].header_value("content-security-policy") or ""
    ancestors = next(d for d in csp.split(";") if d.strip().startswith("frame-ancestors"))
    assert bastion.base in ancestors.split()
    assert foreign_site.origin not in ancestors

    # The blocked frame never says it is ready, so the loader shows no launcher at all.
    widget = page.frame_locator("#bastion-frame")
    child = next(f for f in page.frames if f is not page.main_frame)
    await child.wait_for_url(lambda url: url.startswith("chrome-error://"), timeout=T)
    await page.wait_for_timeout(SETTLE_MS)
    await expect(page.locator("#bastion-launcher")).to_be_hidden()
    await expect(widget.locator("[data-testid=prechat]")).to_have_count(0)
    await expect(widget.locator("[data-testid=composer]")).to_have_count(0)
    # The frame's code never ran: no config, no visitor session, no socket.
    assert api_requests == []

    # Second line of defence: a visitor session for a page on that origin is refused.
    res = await page.request.post(
        f"{bastion.base}/api/v1/widgets/{bastion.widget}/sessions",
        data={"page_url": foreign_site.url},
    )
    assert res.status == 403
    assert (await res.json())["code"] == "origin_not_allowed"


async def test_markup_in_names_and_messages_is_shown_as_text(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    dialogs: list[str] = []
    visitor = await (await browser.new_context()).new_page()
    record_dialogs(visitor, dialogs)
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await start_chat(widget, XSS_NAME)
    await visitor_says(widget, XSS_MESSAGE)

    console = await (await browser.new_context()).new_page()
    record_dialogs(console, dialogs)
    await login_agent(console, bastion.base)
    await accept_waiting_chat(console, XSS_NAME)
    await expect(console.locator("main .conv-title")).to_contain_text(XSS_NAME)
    visitor_msg = msg(console, "visitor", XSS_MESSAGE)
    await expect(visitor_msg).to_be_visible(timeout=T)
    await expect(visitor_msg.locator(".author")).to_have_text(XSS_NAME)

    await console.locator("[data-testid=composer]").fill(XSS_REPLY)
    await console.locator("[data-testid=send]").click()
    await expect(msg(widget, "agent", XSS_REPLY)).to_be_visible(timeout=T)

    for scope in (widget, console):
        await expect(bodies(scope)).to_have_text([XSS_MESSAGE, XSS_REPLY], timeout=T)
        log = scope.locator("[data-testid=messages]")
        # Text nodes only: no element came out of the payloads, not even a link.
        for tag in ("img", "script", "svg", "b", "a"):
            await expect(log.locator(f".body {tag}")).to_have_count(0)
    # The name in the console's chat list is text too.
    item = console.locator("[data-testid=my-item]").filter(has_text=XSS_NAME)
    await expect(item.locator(".chat-item-name")).to_have_text(XSS_NAME)
    await expect(item.locator("img")).to_have_count(0)

    # An onerror handler would have fired by now (src=x fails at once).
    await visitor.wait_for_timeout(500)
    assert dialogs == []


async def test_opening_the_widget_shows_the_latest_messages(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    visitor = await (await browser.new_context(viewport={"width": 1000, "height": 700})).new_page()
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await start_chat(widget, "Eglė")
    await visitor_says(widget, QUESTION)
    console = await (await browser.new_context()).new_page()
    await login_agent(console, bastion.base)
    await accept_waiting_chat(console, "Eglė")

    # The visitor closes the panel; the agent answers at length meanwhile.
    await visitor.locator("#bastion-launcher").click()
    await expect(visitor.locator("#bastion-launcher")).to_have_attribute("aria-expanded", "false")
    replies = [f"Step {i}: " + "a long explanation of this step. " * 8 for i in range(1, 9)]
    for reply in replies:
        await console.locator("[data-testid=composer]").fill(reply)
        await console.locator("[data-testid=send]").click()
        await expect(msg(console, "agent", reply)).to_be_visible(timeout=T)

    # Opening it shows the newest reply, not the top of the history.
    widget = await open_widget(visitor)
    await expect(msg(widget, "agent", replies[-1])).to_be_in_viewport(timeout=T)
    # The same after a reload, where the history arrives before the panel opens.
    await visitor.reload()
    await expect(visitor.locator("#bastion-launcher")).to_be_visible(timeout=T)
    await visitor.wait_for_timeout(SETTLE_MS)
    widget = await open_widget(visitor)
    await expect(msg(widget, "agent", replies[-1])).to_be_in_viewport(timeout=T)
