"""The texts of a widget nobody changed speak the visitor's language, in Chromium: a
browser set to Lithuanian reads a Lithuanian greeting, field labels and consent notice
on an untouched widget (an English one reads them in English). Once an admin writes a
greeting, every visitor reads it as written; the console's "Use the default text" brings
the translated one back.
"""

from __future__ import annotations

from playwright.async_api import Browser, FrameLocator, Page, expect

from tests.e2e.conftest import Site
from tests.e2e.test_admin import login
from tests.e2e.test_browser_chat import open_widget, record_dialogs
from tests.support.server import AGENT_PASSWORD, Server

T = 10_000  # ms, for any single UI expectation
LT_GREETING = "Sveiki! Kuo galime padėti?"
LT_CONSENT = (
    "Sutinku, kad šis pokalbis ir mano pateikti duomenys būtų saugomi, kad galėtumėte man atsakyti."
)
EN_GREETING = "Hi! How can we help?"
EN_CONSENT = "I agree that this chat and the details I give are stored to answer me."
CUSTOM = "Labas! Ask us about your order."


async def visit(browser: Browser, site: Site, locale: str, dialogs: list[str]) -> FrameLocator:
    """A new visitor whose browser speaks ``locale``, with the chat panel open."""
    page = await (await browser.new_context(locale=locale)).new_page()
    record_dialogs(page, dialogs)
    await page.goto(site.url)
    return await open_widget(page)


async def save(admin: Page) -> None:
    """Saves the widget form and waits for the server's answer (the "Saved." of an earlier
    save may still be showing)."""
    async with admin.expect_response(lambda r: r.request.method == "PATCH") as answer:
        await admin.locator("[data-testid=widget-save]").click()
    assert (await answer.value).ok
    await expect(admin.locator("[data-testid=admin-ok]")).to_be_visible(timeout=T)


async def test_default_texts_follow_the_visitors_language(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    dialogs: list[str] = []
    lt = await visit(browser, allowed_site, "lt-LT", dialogs)
    await expect(lt.locator(".greeting")).to_have_text(LT_GREETING, timeout=T)
    prechat = lt.locator("[data-testid=prechat]")
    await expect(prechat.locator(".consent-text")).to_have_text(LT_CONSENT, timeout=T)
    await expect(prechat.locator('label[for="prechat-name"]')).to_have_text("Vardas (neprivaloma)")
    await expect(prechat.locator('label[for="prechat-email"]')).to_have_text(
        "El. paštas (neprivaloma)"
    )
    await expect(prechat.locator("[data-testid=start]")).to_have_text("Pradėti pokalbį")

    en = await visit(browser, allowed_site, "en-US", dialogs)
    await expect(en.locator(".greeting")).to_have_text(EN_GREETING, timeout=T)
    await expect(en.locator(".consent-text")).to_have_text(EN_CONSENT, timeout=T)

    # The console shows the greeting as the default, then an admin writes one.
    bastion.create_user("lang-admin@example.com", "admin", name="Ada")
    admin = await (await browser.new_context()).new_page()
    record_dialogs(admin, dialogs)
    await login(admin, bastion.base, "lang-admin@example.com", AGENT_PASSWORD)
    await admin.locator("[data-testid=admin]").click()
    await admin.locator("[data-testid=admin-tab-widgets]").click()
    form = admin.locator(f'[data-testid=widget-form][data-widget="{bastion.widget}"]')
    greeting = form.get_by_label("Greeting")
    await expect(greeting).to_have_value("", timeout=T)
    await expect(greeting).to_have_attribute("placeholder", EN_GREETING)
    await expect(form.locator("[data-testid=widget-greeting-hint]")).to_have_text(
        "Default text, shown in the visitor's language."
    )
    await greeting.fill(CUSTOM)
    await save(admin)

    # Written by the admin: shown as written, to a Lithuanian visitor too; the texts
    # still at their default stay in the visitor's language.
    lt = await visit(browser, allowed_site, "lt-LT", dialogs)
    await expect(lt.locator(".greeting")).to_have_text(CUSTOM, timeout=T)
    await expect(lt.locator(".consent-text")).to_have_text(LT_CONSENT, timeout=T)

    # Back to the default.
    await form.locator("[data-testid=widget-greeting-default]").click()
    await expect(greeting).to_have_value("")
    await save(admin)
    lt = await visit(browser, allowed_site, "lt-LT", dialogs)
    await expect(lt.locator(".greeting")).to_have_text(LT_GREETING, timeout=T)
    assert not dialogs, dialogs
