"""A visitor saves their transcript from the widget in Chromium: a file, not a page."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.e2e.conftest import Site
from tests.e2e.test_browser_chat import open_widget, start_chat, visitor_says
from tests.support.server import Server

T = 10_000
QUESTION = "Is <b>this</b> my parcel?"


async def test_visitor_downloads_the_transcript_of_an_ended_chat(
    bastion: Server, allowed_site: Site, browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    await page.goto(allowed_site.url)
    widget = await open_widget(page)
    await start_chat(widget, "Ona")
    await visitor_says(widget, QUESTION)
    await widget.locator("[data-testid=end]").click()
    # Ending asks first, in place; the focus is on keeping the chat.
    await expect(widget.locator("[data-testid=end-cancel]")).to_be_focused()
    await widget.locator("[data-testid=end-confirm]").click()
    button = widget.locator("[data-testid=transcript]")
    await expect(button).to_be_visible(timeout=T)

    async with page.expect_download(timeout=T) as info:
        await button.click()
    download = await info.value
    assert download.suggested_filename.startswith("transcript-c_")
    saved = tmp_path / "transcript.txt"
    await download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert f"Ona: {QUESTION}" in text
    assert "Chat ended" in text
    # The widget stayed where it was: nothing navigated the frame or the page.
    assert page.url == allowed_site.url
    await context.close()
