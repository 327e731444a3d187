"""End to end in Chromium: the visitor attaches a file in the widget on a customer's site,
the agent sees it live in the console and downloads it; the agent's file reaches the widget.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import AGENT_EMAIL, AGENT_NAME, Site
from tests.e2e.test_browser_chat import T, accept_waiting_chat, login_agent, open_widget, start_chat
from tests.support import samples
from tests.support.clamd import Clamd
from tests.support.server import Server


@pytest.fixture(scope="module")
def bastion(tmp_path_factory: pytest.TempPathFactory, clamd: Clamd) -> Iterator[Server]:
    """This module's server shares files: it scans with the test clamd."""
    srv = Server(
        data_dir=tmp_path_factory.mktemp("bastion-files") / "data",
        database_url=None,
        extra_env={"BASTION_CLAMD": clamd.address},
    )
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user(AGENT_EMAIL, "agent", name=AGENT_NAME)
        yield srv
    finally:
        srv.stop()


async def test_visitor_attaches_a_file_and_the_agent_gets_it(
    bastion: Server, allowed_site: Site, browser: Browser, tmp_path: Path
) -> None:
    visitor = await (await browser.new_context(accept_downloads=True)).new_page()
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await start_chat(widget, "Ona")
    console = await (await browser.new_context(accept_downloads=True)).new_page()
    await login_agent(console, bastion.base)
    await accept_waiting_chat(console, "Ona")

    # The visitor attaches a receipt (the input is behind the paper-clip button).
    await expect(widget.locator("[data-testid=attach]")).to_be_visible(timeout=T)
    receipt = samples.pdf("receipt 7731")
    await widget.locator("[data-testid=file-input]").set_input_files(
        {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": receipt}
    )
    mine = widget.locator("[data-testid=file][data-author=visitor]")
    await expect(mine.locator(".file-name")).to_have_text("receipt.pdf", timeout=T)

    # The agent sees it live and downloads it as an attachment.
    item = console.locator("[data-testid=file][data-author=visitor]")
    await expect(item.locator("[data-testid=file-name]")).to_have_text("receipt.pdf", timeout=T)
    async with console.expect_download(timeout=T) as info:
        await item.locator("[data-testid=file-download]").click()
    download = await info.value
    assert download.suggested_filename == "receipt.pdf"
    saved = tmp_path / "got.pdf"
    await download.save_as(saved)
    assert saved.read_bytes() == receipt

    # The agent answers with a file; it shows in the widget with a download button.
    await console.locator("[data-testid=file-input]").set_input_files(
        {"name": "form.txt", "mimeType": "text/plain", "buffer": samples.text("fill me in")}
    )
    theirs = widget.locator("[data-testid=file][data-author=agent]")
    await expect(theirs.locator(".file-name")).to_have_text("form.txt", timeout=T)
    # The widget fetches it with the visitor's token and hands it over as a download.
    async with visitor.expect_download(timeout=T) as info:
        await theirs.locator("[data-testid=file-download]").click()
    download = await info.value
    assert download.suggested_filename == "form.txt"
    await download.save_as(tmp_path / "form.txt")
    assert (tmp_path / "form.txt").read_bytes() == samples.text("fill me in")
