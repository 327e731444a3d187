"""The README screenshot: a visitor on the demo page and the agent console, side by side.

    .venv/bin/python -m tests.e2e.screenshot docs/screenshot.png

Starts a throw-away ``bastion serve --demo`` (SQLite in a temporary directory), has a short
conversation through the real widget and console in Chromium, and saves one PNG showing
both. The two screenshots are composed by Chromium itself (no image library needed).
Not collected by pytest.
"""

from __future__ import annotations

import base64
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, FrameLocator, Page, expect, sync_playwright

from tests.e2e.conftest import AGENT_EMAIL, AGENT_NAME, CHROMIUM, CHROMIUM_ARGS
from tests.support.server import AGENT_PASSWORD, Server

T = 15_000
VISITOR_SIZE = {"width": 720, "height": 800}
CONSOLE_SIZE = {"width": 1280, "height": 800}
GAP = 24

VISITOR = "Ona"
VISITOR_EMAIL = "ona@example.com"
SCRIPT = [
    ("visitor", "Hi! I think my card was stolen. Can you freeze it, please?"),
    (
        "agent",
        f"Hi {VISITOR}, I'm sorry to hear that. Your card is frozen now: "
        "no payment can go through.",
    ),
    ("note", "Identity confirmed in the app. Replacement card ordered."),
    ("visitor", "Thank you! Will I get a new one?"),
    ("agent", "Yes, a replacement is on its way and should arrive within three working days."),
]

COMPOSE = """<!doctype html>
<html><head><style>
  html, body {{ margin: 0; background: #e8ebf0; }}
  body {{ display: flex; gap: {gap}px; padding: {gap}px; width: max-content; }}
  img {{ display: block; border-radius: 10px; box-shadow: 0 6px 24px rgba(0, 0, 0, .18); }}
</style></head>
<body><img src="data:image/png;base64,{visitor}"><img src="data:image/png;base64,{console}"></body>
</html>
"""


def visitor_says(widget: FrameLocator, text: str) -> None:
    widget.locator("[data-testid=composer]").fill(text)
    widget.locator("[data-testid=send]").click()
    expect(widget.locator("[data-testid=msg][data-author=visitor]").last).to_contain_text(
        text, timeout=T
    )


def agent_says(console: Page, widget: FrameLocator, text: str, *, note: bool = False) -> None:
    toggle = console.locator("[data-testid=note-toggle]")
    if (toggle.get_attribute("aria-pressed") == "true") != note:
        toggle.click()
    console.locator("[data-testid=composer]").fill(text)
    console.locator("[data-testid=send]").click()
    expect(console.locator("[data-testid=msg]").last).to_contain_text(text, timeout=T)
    if not note:
        expect(widget.locator("[data-testid=msg][data-author=agent]").last).to_contain_text(
            text, timeout=T
        )


def take(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="bastion-shot-") as tmp:
        server = Server(data_dir=Path(tmp) / "data", database_url=None, demo=True)
        server.data_dir.mkdir()
        try:
            server.start()
            server.create_user(AGENT_EMAIL, "agent", name=AGENT_NAME)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    shot(browser, server, out)
                finally:
                    browser.close()
        finally:
            server.stop()


def shot(browser: Browser, server: Server, out: Path) -> None:
    visitor = browser.new_context(viewport=VISITOR_SIZE).new_page()
    visitor.goto(f"{server.base}/demo/")
    visitor.locator("#bastion-launcher").click()
    widget = visitor.frame_locator("#bastion-frame")
    form = widget.locator("[data-testid=prechat]")
    expect(form).to_be_visible(timeout=T)
    form.locator('input[name="name"]').fill(VISITOR)
    form.locator('input[name="email"]').fill(VISITOR_EMAIL)
    form.locator("[data-testid=consent]").check()
    form.locator("[data-testid=start]").click()
    expect(widget.locator("[data-testid=state]")).to_have_attribute(
        "data-state", "waiting", timeout=T
    )

    console = browser.new_context(viewport=CONSOLE_SIZE).new_page()
    console.goto(f"{server.base}/console/")
    console.locator("[data-testid=login-email]").fill(AGENT_EMAIL)
    console.locator("[data-testid=login-password]").fill(AGENT_PASSWORD)
    console.locator("[data-testid=login-submit]").click()

    accepted = False
    for who, text in SCRIPT:
        if who == "visitor":
            visitor_says(widget, text)
            continue
        if not accepted:
            console.locator("[data-testid=queue-item]").filter(has_text=VISITOR).click(timeout=T)
            console.locator("[data-testid=accept]").click()
            expect(widget.locator("[data-testid=state]")).to_have_attribute(
                "data-state", "active", timeout=T
            )
            accepted = True
        agent_says(console, widget, text, note=who == "note")

    # Leave the agent's composer with a draft being typed, for a lived-in look.
    console.locator("[data-testid=composer]").fill("Anything else I can help with?")
    expect(widget.locator("[data-testid=typing]")).to_be_visible(timeout=T)
    visitor.wait_for_timeout(300)  # let the typing line and scrolling settle

    visitor_png = visitor.screenshot()
    console_png = console.screenshot()

    width = VISITOR_SIZE["width"] + CONSOLE_SIZE["width"] + 3 * GAP
    height = max(VISITOR_SIZE["height"], CONSOLE_SIZE["height"]) + 2 * GAP
    canvas = browser.new_context(viewport={"width": width, "height": height}).new_page()
    canvas.set_content(
        COMPOSE.format(
            gap=GAP,
            visitor=base64.b64encode(visitor_png).decode(),
            console=base64.b64encode(console_png).decode(),
        )
    )
    canvas.wait_for_load_state()
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.screenshot(path=str(out), full_page=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.e2e.screenshot OUT.png", file=sys.stderr)
        return 2
    out = Path(argv[0])
    take(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
