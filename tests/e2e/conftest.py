"""Browser fixtures: a real Bastion server, a customer site on another origin, and Chromium.

The Bastion server and the customer sites are shared by the tests of a module (a server
takes seconds to start and every CLI call is a process); each test gets its own browser,
and every browser context starts with empty storage, so each test is a new visitor.
"""

from __future__ import annotations

import html
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support.server import Server, cli

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

AGENT_EMAIL = "agent@example.com"
AGENT_NAME = "Jonas"

SITE_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
<p>A customer's site. The chat is bottom right.</p>
{snippet}
</body>
</html>
"""


def embed_snippet(base: str, widget: str) -> str:
    """The one-line snippet customers paste into their pages."""
    return f'<script async src="{base}/widget.js" data-bastion-widget="{widget}"></script>'


@dataclass
class Site:
    """A tiny static web server on 127.0.0.1 serving one page that embeds the widget."""

    httpd: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.origin}/"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def serve_site(base: str, widget: str, title: str = "Acme Shop") -> Site:
    page = SITE_PAGE.format(title=html.escape(title), snippet=embed_snippet(base, widget))
    body = page.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="customer-site", daemon=True)
    thread.start()
    return Site(httpd, thread)


@pytest.fixture(scope="module")
def bastion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``bastion serve`` on SQLite with one agent."""
    srv = Server(data_dir=tmp_path_factory.mktemp("bastion") / "data", database_url=None)
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user(AGENT_EMAIL, "agent", name=AGENT_NAME)
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def make_site(bastion: Server) -> Iterator[Callable[..., Site]]:
    """Starts customer sites embedding the default widget; stops them all at the end."""
    sites: list[Site] = []

    def make(title: str = "Acme Shop") -> Site:
        site = serve_site(bastion.base, bastion.widget, title)
        sites.append(site)
        return site

    try:
        yield make
    finally:
        for site in sites:
            site.stop()


@pytest.fixture(scope="module")
def allowed_site(bastion: Server, make_site: Callable[..., Site]) -> Site:
    """A customer site on its own origin, added to the widget's allowed domains."""
    site = make_site("Acme Shop")
    allowed = cli(bastion.env, "widget", "allow", bastion.widget, site.origin).stdout.split()
    assert site.origin in allowed
    return site


@pytest.fixture(scope="module")
def foreign_site(make_site: Callable[..., Site]) -> Site:
    """A site on an origin the widget does not allow, with the very same snippet."""
    return make_site("Copycat Shop")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
