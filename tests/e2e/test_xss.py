"""Stored XSS: classic vectors as message text, visitor name, pre-chat fields, page title
and agent name never run script in the agent console or in the widget (Chromium).

Script running is detected three ways: a dialog, a request to a beacon server the
vectors point at, and any Content-Security-Policy complaint in the console (which
would mean the markup was parsed as HTML and only the CSP stopped it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import serve_site
from tests.support.client import WsClient, login
from tests.support.server import AGENT_PASSWORD, Server, cli

pytestmark = pytest.mark.asyncio

AGENT_EMAIL = "xss-agent@example.com"


class Beacon:
    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/beacon"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def vectors(beacon: str) -> list[str]:
    call = f"fetch('{beacon}');alert(1)"
    return [
        f"<script>{call}</script>",
        f'<img src=x onerror="{call}">',
        f'<svg onload="{call}"></svg>',
        f'"><script>{call}</script>',
        f"'><img src=x onerror={call}>",
        f'<iframe src="javascript:{call}"></iframe>',
        f'<a href="javascript:{call}">click</a> javascript:{call}',
        f'<body onload="{call}">',
        f'<details open ontoggle="{call}">',
        f'<math><mtext><table><mglyph><style><img src=x onerror="{call}">',
        f"{{{{constructor.constructor('{call}')()}}}}",
        f'<img src="{beacon}?img">',
    ]


@pytest.fixture(scope="module")
def beacon() -> Iterator[Beacon]:
    b = Beacon()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data: Path = tmp_path_factory.mktemp("xss") / "data"
    data.mkdir()
    # Vectors carry links; the spam limits are not what this test is about.
    server = Server(data_dir=data, database_url=None, extra_env={"BASTION_SPAM_LINKS": "1000"})
    try:
        server.start()
        server.create_user(AGENT_EMAIL, "agent", name="<img src=x onerror=alert(1)>")
        yield server
    finally:
        server.stop()


def watch(page: Page, dialogs: list[str], csp: list[str]) -> None:
    async def dismiss(dialog: object) -> None:
        dialogs.append(getattr(dialog, "message", "?"))
        await dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", dismiss)
    page.on(
        "console",
        lambda msg: csp.append(msg.text) if "Content Security Policy" in msg.text else None,
    )


async def _seed_chat(srv: Server, vs: list[str], title: str) -> tuple[str, str, WsClient]:
    """A visitor whose name, fields, page title and messages are all vectors."""
    async with httpx.AsyncClient(base_url=srv.base) as http:
        r = await http.post(
            f"/api/v1/widgets/{srv.widget}/sessions", json={"page_url": f"{srv.base}/demo/"}
        )
        token = r.json()["token"]
    visitor = await WsClient.connect(
        srv.base.replace("http", "ws", 1) + "/ws/visitor", origin=srv.base
    )
    await visitor.cmd("hello", token=token)
    await visitor.request("page", url=f"{srv.base}/demo/?q={vs[1]}", title=title, referrer=vs[3])
    start = await visitor.cmd(
        "chat.start",
        # Markup cannot be an e-mail address any more (refused at input); what an address
        # may still hold that matters in HTML, quotes and an ampersand, is shown as text.
        fields={"name": vs[1][:200], "email": "o'neil&x=1@example.com"},
        consent={"accepted": True, "version": "2026-01"},
        message=vs[2],
    )
    conv = start["conversation"]
    for v in vs:
        await visitor.cmd("msg.send", conversation=conv, body=v)
    return token, conv, visitor


async def test_vectors_never_run_in_console_or_widget(
    srv: Server, beacon: Beacon, browser: Browser
) -> None:
    vs = vectors(beacon.url)
    title = f"<script>fetch('{beacon.url}')</script>Shop"
    token, conv, visitor = await _seed_chat(srv, vs, title)

    # The agent (whose own name is a vector) takes the chat and answers with vectors.
    cookie, _ = await login(srv.base, AGENT_EMAIL, AGENT_PASSWORD)
    agent = await WsClient.connect(
        srv.base.replace("http", "ws", 1) + "/ws/agent", origin=srv.base, cookie=cookie
    )
    await agent.cmd("hello")
    await agent.cmd("conv.accept", conversation=conv)
    for v in vs[:6]:
        await agent.cmd("msg.send", conversation=conv, body=v)

    dialogs: list[str] = []
    csp: list[str] = []

    # ---- the console ------------------------------------------------------------------
    ctx = await browser.new_context()
    name, _, value = cookie.partition("=")
    await ctx.add_cookies([{"name": name, "value": value, "url": srv.base}])
    console = await ctx.new_page()
    watch(console, dialogs, csp)
    await console.goto(f"{srv.base}/console/")
    item = console.locator(f'[data-conversation="{conv}"]')
    await item.click(timeout=20_000)
    msgs = console.locator('[data-testid="msg"]')
    await msgs.nth(len(vs) + 6).wait_for(timeout=20_000)
    # A live page view while the conversation is open, with a vector as the title.
    await visitor.request("page", url=f"{srv.base}/demo/", title=vs[5])
    # The vectors are on screen as text.
    await console.get_by_text(vs[0], exact=False).first.wait_for(timeout=10_000)
    await console.wait_for_timeout(1000)

    # ---- the widget, on a customer site whose title is a vector -------------------------
    site = serve_site(srv.base, srv.widget, title=title)
    try:
        cli(srv.env, "widget", "allow", srv.widget, site.origin)
        wctx = await browser.new_context()
        wpage = await wctx.new_page()
        watch(wpage, dialogs, csp)
        # Resume the seeded visitor: the frame keeps its state in Bastion's origin.
        await wpage.goto(f"{srv.base}/privacy")
        saved = {"token": token, "conversation": conv, "seq": 0, "read": 0}
        await wpage.evaluate(
            "([k, v]) => localStorage.setItem(k, v)",
            [f"bastion:v1:{srv.widget}", json.dumps(saved)],
        )
        await wpage.goto(site.url)
        await wpage.locator("#bastion-launcher").click(timeout=20_000)
        frame = wpage.frame_locator("#bastion-frame")
        await frame.locator('[data-testid="msg"]').nth(len(vs) + 6).wait_for(timeout=20_000)
        await frame.get_by_text(vs[1], exact=False).first.wait_for(timeout=10_000)
        await wpage.wait_for_timeout(1000)
        await wctx.close()
    finally:
        site.stop()
        await ctx.close()
        await visitor.close()
        await agent.close()

    assert dialogs == []
    assert beacon.hits == []
    assert csp == [], csp[:3]
