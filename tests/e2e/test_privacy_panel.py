"""The admin's Visitor data (GDPR) panel in Chromium: export downloads the person's ZIP,
erasure removes them, and a second export finds nothing.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from playwright.async_api import Browser, expect

from tests.support.client import connect_visitor
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.timeout(180)

T = 15_000
EMAIL, WORDS = "ona.privacy@example.lt", "where is my bicycle helmet"


async def test_admin_exports_then_erases_a_person(bastion: Server, browser: Browser) -> None:
    bastion.create_user("privacy-admin@example.com", "admin", name="Ada")
    ws, _ = await connect_visitor(bastion.base, bastion.widget)
    await ws.cmd(
        "chat.start",
        fields={"name": "Ona", "email": EMAIL},
        consent={"accepted": True, "version": "2026-01"},
        message=WORDS,
    )
    await ws.close()

    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    await page.goto(f"{bastion.base}/console/")
    await page.locator("[data-testid=login-email]").fill("privacy-admin@example.com")
    await page.locator("[data-testid=login-password]").fill(AGENT_PASSWORD)
    await page.locator("[data-testid=login-submit]").click()
    await page.locator("[data-testid=account]").click(timeout=T)
    panel = page.locator("[data-testid=privacy-panel]")
    await expect(panel).to_be_visible(timeout=T)

    await page.locator("[data-testid=privacy-email]").fill(EMAIL)
    async with page.expect_download(timeout=T) as info:
        await page.locator("[data-testid=privacy-export]").click()
    download = await info.value
    data = (await download.path()).read_bytes()
    doc = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("person.json"))
    assert WORDS in json.dumps(doc, ensure_ascii=False)

    await page.locator("[data-testid=privacy-confirm]").fill(EMAIL)
    await page.locator("[data-testid=privacy-reason]").fill("asked by e-mail")
    await page.locator("[data-testid=privacy-erase]").click()
    feedback = page.locator("[data-testid=privacy-feedback]")
    await expect(feedback).to_contain_text("Erased 1", timeout=T)

    await page.locator("[data-testid=privacy-export]").click()
    await expect(feedback).to_have_text("Nothing is stored about this e-mail address.", timeout=T)
    await context.close()
