"""Forgotten password end to end in Chromium: ask for a link, read the e-mail from a real
SMTP server (aiosmtpd), open the link, choose a new password, sign in with it. Then an
e-mailed code instead of an authenticator app. The server's output never shows the token
or the code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.mail import MailSink
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.timeout(180)

T = 15_000
EMAIL = "ona@example.com"
NEW_PASSWORD = "seven violet kettles humming"


@pytest.fixture(scope="module")
def sink() -> Iterator[MailSink]:
    mail = MailSink().start()
    try:
        yield mail
    finally:
        mail.stop()


@pytest.fixture(scope="module")
def mail_bastion(tmp_path_factory: pytest.TempPathFactory, sink: MailSink) -> Iterator[Server]:
    srv = Server(
        data_dir=tmp_path_factory.mktemp("bastion-mail") / "data",
        database_url=None,
        extra_env={"BASTION_SMTP_URL": sink.url, "BASTION_MAIL_FROM": "bastion@example.com"},
    )
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user(EMAIL, "agent", name="Ona")
        yield srv
    finally:
        srv.stop()


async def sign_in(page: Page, password: str) -> None:
    await expect(page.locator("[data-testid=login-email]")).to_be_visible(timeout=T)
    await page.locator("[data-testid=login-email]").fill(EMAIL)
    await page.locator("[data-testid=login-password]").fill(password)
    await page.locator("[data-testid=login-submit]").click()


def server_output(srv: Server) -> str:
    assert srv.log_path is not None
    return srv.log_path.read_text()


async def test_forgot_password_then_sign_in_with_the_new_one(
    mail_bastion: Server, sink: MailSink, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(T)

    await page.goto(f"{mail_bastion.base}/console/")
    await page.locator("[data-testid=login-email]").fill(EMAIL)
    await page.locator("[data-testid=login-forgot]").click()
    await expect(page.locator("[data-testid=forgot-email]")).to_have_value(EMAIL)
    await page.locator("[data-testid=forgot-submit]").click()
    await expect(page.locator("[data-testid=forgot-sent]")).to_be_visible()

    mail = await sink.await_message(EMAIL)
    link = mail.reset_link()
    token = mail.reset_token()
    assert link.startswith(f"{mail_bastion.base}/console/reset-password#token=")

    await page.goto(link)
    await expect(page.locator("[data-testid=reset-view]")).to_be_visible()
    assert "token" not in page.url  # wiped from the address bar and history
    await page.locator("[data-testid=reset-new]").fill(NEW_PASSWORD)
    await page.locator("[data-testid=reset-repeat]").fill(NEW_PASSWORD)
    await page.locator("[data-testid=reset-submit]").click()
    await expect(page.locator("[data-testid=reset-done]")).to_be_visible()
    await page.locator("[data-testid=reset-signin]").click()

    # The old password is gone; the new one signs in.
    await sign_in(page, AGENT_PASSWORD)
    await expect(page.locator("[data-testid=login-error]")).to_be_visible()
    await page.locator("[data-testid=login-password]").fill(NEW_PASSWORD)
    await page.locator("[data-testid=login-submit]").click()
    await expect(page.locator("[data-testid=status]")).to_be_visible()

    # The link was single-use: opening it again ends on a clear message.
    await page.goto(link)
    await page.locator("[data-testid=reset-new]").fill(NEW_PASSWORD + " again")
    await page.locator("[data-testid=reset-repeat]").fill(NEW_PASSWORD + " again")
    await page.locator("[data-testid=reset-submit]").click()
    await expect(page.locator("[data-testid=reset-error]")).to_contain_text("not valid any more")
    await context.close()

    assert token not in server_output(mail_bastion)


async def test_emailed_code_instead_of_an_app(
    mail_bastion: Server, sink: MailSink, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(T)
    await page.goto(f"{mail_bastion.base}/console/")
    await sign_in(page, NEW_PASSWORD)
    await expect(page.locator("[data-testid=status]")).to_be_visible()

    # Account & security → codes by e-mail: password, then the code from the inbox.
    await page.locator("[data-testid=account]").click()
    section = page.locator("[data-testid=email-otp-section]")
    await expect(section.locator("[data-testid=email-otp-status]")).to_have_text("Off")
    before = len(sink.messages(EMAIL))
    await section.locator("[data-testid=email-otp-password]").fill(NEW_PASSWORD)
    await section.locator("[data-testid=email-otp-toggle]").click()
    confirm = (await sink.await_message(EMAIL, before + 1)).code()
    await section.locator("[data-testid=email-otp-code]").fill(confirm)
    await section.locator("[data-testid=email-otp-confirm]").click()
    await expect(section.locator("[data-testid=email-otp-status]")).to_have_text("On")
    await page.locator("[data-testid=logout]").click()

    # Sign in: the password, then "e-mail me a code", then the code.
    await sign_in(page, NEW_PASSWORD)
    await expect(page.locator("[data-testid=login-email-code]")).to_be_visible()
    await page.locator("[data-testid=login-email-code]").click()
    await expect(page.locator("[data-testid=login-otp]")).to_be_focused()
    code = (await sink.await_message(EMAIL, before + 2)).code()
    await page.locator("[data-testid=login-otp]").fill(code)
    await page.locator("[data-testid=login-submit]").click()
    await expect(page.locator("[data-testid=status]")).to_be_visible()
    await context.close()

    output = server_output(mail_bastion)
    assert confirm not in output and code not in output
