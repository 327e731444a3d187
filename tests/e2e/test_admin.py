"""The admin area and canned responses end to end, in Chromium.

An admin creates a custom role, a user with it (in the Sales department) and two canned
responses, one for Sales and one for Billing. That user, an agent of Sales only, takes a
visitor's chat, does not see Billing's response, and inserts their own with "/shortcut";
the text goes into the composer and reaches the visitor only when the agent sends it.
"""

from __future__ import annotations

import json

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Site
from tests.e2e.test_browser_chat import (
    accept_waiting_chat,
    msg,
    open_widget,
    record_dialogs,
    start_chat,
)
from tests.support.server import AGENT_PASSWORD, Server, cli

T = 10_000  # ms, for any single UI expectation
DESK_PASSWORD = "desk agent password for sales 7"
SALES_TEXT = "Hello from Sales! Our prices are on the pricing page."
BILLING_TEXT = "Billing only: refunds take five working days."


async def login(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/console/")
    await page.locator("[data-testid=login-email]").fill(email)
    await page.locator("[data-testid=login-password]").fill(password)
    await page.locator("[data-testid=login-submit]").click()
    await expect(page.locator("[data-testid=status]")).to_be_visible(timeout=T)


async def add_canned(admin: Page, shortcut: str, title: str, body: str, department: str) -> None:
    await admin.locator("[data-testid=canned-shortcut]").fill(shortcut)
    await admin.locator("[data-testid=canned-title]").fill(title)
    await admin.locator("[data-testid=canned-body]").fill(body)
    await admin.locator("[data-testid=canned-department]").select_option(label=department)
    await admin.locator("[data-testid=canned-submit]").click()
    item = admin.locator(f'[data-testid=canned-item][data-shortcut="{shortcut}"]')
    await expect(item).to_be_visible(timeout=T)


async def test_admin_sets_up_a_custom_role_and_canned_responses(
    bastion: Server, allowed_site: Site, browser: Browser
) -> None:
    dialogs: list[str] = []
    bastion.create_user("admin@example.com", "admin", name="Ada")
    for name in ("Sales", "Billing"):
        cli(bastion.env, "department", "create", name)

    # The admin, in the console: the Admin link is there for them.
    admin = await (await browser.new_context()).new_page()
    record_dialogs(admin, dialogs)
    await login(admin, bastion.base, "admin@example.com", AGENT_PASSWORD)
    await admin.locator("[data-testid=admin]").click()
    await expect(admin.locator("[data-testid=admin-area]")).to_be_visible(timeout=T)

    # A custom role from the permission set.
    await admin.locator("[data-testid=admin-tab-roles]").click()
    await admin.locator("[data-testid=role-name]").fill("desk")
    await admin.locator('[data-testid="perm-new-chat.handle"]').check()
    await admin.locator("[data-testid=role-submit]").click()
    desk_role = admin.locator('[data-testid=role-item][data-role="desk"]')
    await expect(desk_role).to_contain_text("chat.handle", timeout=T)

    # A user with it, in Sales.
    await admin.locator("[data-testid=admin-tab-users]").click()
    await admin.locator("[data-testid=user-email]").fill("desk@example.com")
    await admin.locator("[data-testid=user-name]").fill("Dovile")
    await admin.locator("[data-testid=user-password]").fill(DESK_PASSWORD)
    await admin.locator("[data-testid=user-role]").select_option("desk")
    await admin.locator("[data-testid=user-submit]").click()
    row = admin.locator('[data-testid=user-row][data-email="desk@example.com"]')
    await expect(row).to_be_visible(timeout=T)
    await expect(row.locator("[data-testid=user-row-role]")).to_have_value("desk")
    await row.locator("[data-testid=user-row-departments]").select_option(label="Sales")
    await row.locator("[data-testid=user-row-departments-save]").click()
    await expect(admin.locator("[data-testid=admin-ok]")).to_be_visible(timeout=T)

    # One canned response per department.
    await admin.locator("[data-testid=admin-tab-canned]").click()
    await add_canned(admin, "salesgreet", "Sales greeting", SALES_TEXT, "Sales")
    await add_canned(admin, "billingonly", "Billing", BILLING_TEXT, "Billing")

    # Billing keeps its closed chats 7 days: shorter than "forever" (the default here), so
    # the console asks first.
    await admin.locator("[data-testid=admin-tab-departments]").click()
    billing = admin.locator("[data-testid=department-item]", has_text="Billing")
    await billing.locator("[data-testid=retention-choice]").select_option("days")
    await billing.locator("[data-testid=retention-days]").fill("7")
    await billing.locator("[data-testid=retention-save]").click()
    await expect(billing.locator("[data-testid=retention-save-ask]")).to_contain_text(
        "only 7 days?"
    )
    await billing.locator("[data-testid=retention-save-yes]").click()
    await expect(admin.locator("[data-testid=admin-ok]")).to_be_visible(timeout=T)

    # Everything so far is in the audit log's chain, and the chain checks out.
    await admin.locator("[data-testid=admin-tab-audit]").click()
    await admin.locator("[data-testid=audit-verify]").click()
    await expect(admin.locator("[data-testid=audit-chain]")).to_contain_text(
        "Intact: all", timeout=T
    )
    chain = json.loads(cli(bastion.env, "audit", "verify", "--json").stdout)
    await expect(admin.locator("[data-testid=audit-row]").first.locator("td").first).to_have_text(
        str(chain["head"]["seq"])
    )

    # Server-side truth, independent of the UI: the role, the membership and the
    # retention are stored.
    roles = {r["name"]: r for r in json.loads(cli(bastion.env, "role", "list", "--json").stdout)}
    assert roles["desk"]["permissions"] == ["chat.handle"] and roles["desk"]["users"] == 1
    deps = json.loads(cli(bastion.env, "department", "list", "--json").stdout)
    assert {d["name"]: d["retention_days"] for d in deps} == {"Sales": None, "Billing": 7}

    # A visitor starts a chat; the Sales agent with the custom role takes it.
    visitor = await (await browser.new_context()).new_page()
    record_dialogs(visitor, dialogs)
    await visitor.goto(allowed_site.url)
    widget = await open_widget(visitor)
    await start_chat(widget, "Rasa")

    agent = await (await browser.new_context()).new_page()
    record_dialogs(agent, dialogs)
    await login(agent, bastion.base, "desk@example.com", DESK_PASSWORD)
    # Their role opens no admin section: no Admin link.
    await expect(agent.locator("[data-testid=admin]")).to_have_count(0)
    await accept_waiting_chat(agent, "Rasa")

    composer = agent.locator("[data-testid=composer]")
    await composer.fill("/")
    options = agent.locator("[data-testid=canned-option]")
    await expect(options).to_have_count(1, timeout=T)
    await expect(options.first).to_have_attribute("data-shortcut", "salesgreet")
    await composer.fill("/billing")
    await expect(agent.locator("[data-testid=canned-suggestions]")).to_have_count(0)

    await composer.fill("/sales")
    await expect(options).to_have_count(1, timeout=T)
    await composer.press("Enter")
    # Inserted, not sent: the agent still sends it.
    await expect(composer).to_have_value(SALES_TEXT, timeout=T)
    await expect(msg(agent, "agent", SALES_TEXT)).to_have_count(0)
    await composer.press("Enter")
    await expect(msg(widget, "agent", SALES_TEXT)).to_be_visible(timeout=T)
    assert not dialogs, dialogs

    # Locking asks first, in place (the focus on Cancel); once confirmed, the account is
    # locked, its open console is signed out and its chat goes back to the queue.
    await admin.locator("[data-testid=admin-tab-users]").click()
    await row.locator("[data-testid=user-row-lock]").click()
    await expect(row.locator("[data-testid=user-row-lock-ask]")).to_contain_text(
        "Lock desk@example.com?"
    )
    await expect(row.locator("[data-testid=user-row-lock-no]")).to_be_focused()
    await row.locator("[data-testid=user-row-lock-yes]").click()
    await expect(row.locator(".tag", has_text="locked")).to_be_visible(timeout=T)
    await expect(agent.locator("[data-testid=login-email]")).to_be_visible(timeout=T)
    # The chat they held goes back to the queue, and the visitor is told who continues.
    await expect(widget.locator("[data-testid=event]").last).to_have_text(
        "Your agent had to leave. The next free agent will continue this chat.", timeout=T
    )
    await expect(widget.locator("[data-testid=state]")).to_have_attribute("data-state", "waiting")
    assert not dialogs, dialogs
