"""A widget's look and text over real HTTP: an admin changes them with
``PATCH /api/v1/widgets/{id}`` and the public widget configuration shows them; an agent
may not; a bad value is refused with 422 naming the field, and changes nothing.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.client import login
from tests.support.server import AGENT_PASSWORD, Server, cli

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(300)]

CONSENT = {
    "required": True,
    "text": "I agree that Shop stores this chat to answer me.",
    "version": "2026-04",
    "privacy_url": "https://shop.example/privacy",
}


async def test_admin_changes_the_widget_and_visitors_see_it(server: Server) -> None:
    server.create_user("admin@example.com", "admin", name="Ada")
    secret = cli(server.env, "widget", "rotate-secret", server.widget).stdout.strip()
    admin_cookie, admin_csrf = await login(server.base, "admin@example.com", AGENT_PASSWORD)
    agent_cookie, agent_csrf = await login(server.base, "agent@example.com", AGENT_PASSWORD)
    admin = {"Cookie": admin_cookie, "X-CSRF-Token": admin_csrf}
    path = f"/api/v1/widgets/{server.widget}"
    async with httpx.AsyncClient(base_url=server.base) as http:
        listed = (await http.get("/api/v1/widgets", headers=admin)).json()
        mine = next(w for w in listed if w["id"] == server.widget)
        assert mine["identity"] == {"mode": "optional"}
        assert mine["redaction_patterns"] == []
        assert mine["snippet"] == (
            f'<script async src="{server.base}/widget.js" '
            f'data-bastion-widget="{server.widget}"></script>'
        )
        assert secret and secret not in str(listed)

        r = await http.patch(
            path,
            json={
                "color": "#0A7D3B",
                "greeting": "Labas! How can we help?",
                "consent": CONSENT,
                "prechat_fields": [{"name": "email", "label": "Your e-mail", "required": True}],
                "identity": {"mode": "strict"},
            },
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert r.json()["color"] == "#0a7d3b"
        assert r.json()["allowed_origins"] == mine["allowed_origins"]  # left as it was

        public = (await http.get(f"{path}/config")).json()
        assert public["color"] == "#0a7d3b"
        assert public["greeting"] == "Labas! How can we help?"
        assert public["consent"] == CONSENT
        assert public["prechat_fields"] == [
            {"name": "email", "label": "Your e-mail", "type": "email", "required": True}
        ]
        assert "identity" not in public and "redaction_patterns" not in public

        # An agent holds no widgets.manage.
        denied = await http.patch(
            path,
            json={"color": "#000000"},
            headers={"Cookie": agent_cookie, "X-CSRF-Token": agent_csrf},
        )
        assert denied.status_code == 403
        assert denied.json()["code"] == "forbidden"

        # A bad colour: 422 with the field and a sentence, and the greeting beside it
        # is not applied either.
        bad = await http.patch(path, json={"color": "green", "greeting": "Changed"}, headers=admin)
        assert bad.status_code == 422
        assert bad.json()["field"] == "color"
        assert "#rrggbb" in bad.json()["message"]
        bad_url = await http.patch(
            path,
            json={"consent": {**CONSENT, "privacy_url": "javascript:alert(1)"}},
            headers=admin,
        )
        assert bad_url.status_code == 422
        assert bad_url.json()["field"] == "consent.privacy_url"
        public = (await http.get(f"{path}/config")).json()
        assert (public["color"], public["greeting"]) == ("#0a7d3b", "Labas! How can we help?")
        assert public["consent"] == CONSENT

        # The allowed origins still work alone, as before.
        only = await http.patch(
            path, json={"allowed_origins": [server.base, "https://shop.example"]}, headers=admin
        )
        assert only.status_code == 200, only.text
        assert only.json()["allowed_origins"] == [server.base, "https://shop.example"]
        assert only.json()["identity"] == {"mode": "strict"}

        audit = (await http.get("/api/v1/audit?limit=20&action=widget.", headers=admin)).json()
        assert {e["action"] for e in audit} >= {
            "widget.settings_changed",
            "widget.identity_mode",
            "widget.origins_changed",
        }
        assert "Labas" not in str(audit)
