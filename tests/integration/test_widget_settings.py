"""A widget's look and text over real HTTP: an admin changes them with
``PATCH /api/v1/widgets/{id}`` and the public widget configuration shows them; an agent
may not; a bad value is refused with 422 ``invalid_request`` naming the field (as a body
of the wrong shape is), without echoing it, and changes nothing. The department, too.
"""

from __future__ import annotations

import httpx
import pytest

from tests.support.client import connect_agent, connect_visitor, login
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
        assert bad.json()["code"] == "invalid_request"
        assert bad.json()["field"] == "color"
        assert "#rrggbb" in bad.json()["message"]
        bad_url = await http.patch(
            path,
            json={"consent": {**CONSENT, "privacy_url": "javascript:alert(1)"}},
            headers=admin,
        )
        assert bad_url.status_code == 422
        assert bad_url.json()["code"] == "invalid_request"
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


async def test_texts_left_at_the_default_are_null_and_null_goes_back_to_it(
    server: Server,
) -> None:
    """A greeting, label or consent text nobody set is null in what the widget and the
    console receive (the widget shows its own, in the visitor's language); an admin's
    text is a string; giving null goes back to the default, and an empty text is refused.
    """
    server.create_user("admin@example.com", "admin", name="Ada")
    cookie, csrf = await login(server.base, "admin@example.com", AGENT_PASSWORD)
    path = f"/api/v1/widgets/{server.widget}"
    untouched = {
        "greeting": None,
        "prechat_fields": [
            {"name": "name", "label": None, "type": "text", "required": False},
            {"name": "email", "label": None, "type": "email", "required": False},
        ],
        "consent": {
            "required": True,
            "version": "2026-01",
            "text": None,
            "privacy_url": "/privacy",
        },
    }
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    async with httpx.AsyncClient(base_url=server.base, headers=headers) as http:

        async def texts() -> dict[str, object]:
            public = (await http.get(f"{path}/config")).json()
            return {k: public[k] for k in untouched}

        assert await texts() == untouched
        [listed] = (await http.get("/api/v1/widgets")).json()
        assert {k: listed[k] for k in untouched} == untouched

        written = await http.patch(
            path,
            json={
                "greeting": "Labas!",
                "prechat_fields": [{"name": "email", "label": "Your e-mail", "required": True}],
                "consent": {**untouched["consent"], "text": "Sutinku.", "version": "2026-05"},
            },
        )
        assert written.status_code == 200, written.text
        assert written.json()["greeting"] == "Labas!"
        # Left out, the greeting stays as written.
        assert (await http.patch(path, json={"color": "#111111"})).json()["greeting"] == "Labas!"

        back = await http.patch(
            path,
            json={
                "greeting": None,
                # A field's type may be given as null: it is fixed per field.
                "prechat_fields": [
                    {"name": "name", "label": None, "required": False, "type": None},
                    {"name": "email", "label": None, "required": False},
                ],
                "consent": {**untouched["consent"], "version": "2026-06"},
            },
        )
        assert back.status_code == 200, back.text
        assert await texts() == {
            **untouched,
            "consent": {**untouched["consent"], "version": "2026-06"},
        }

        # Empty is not the default: a stable refusal naming the field, and nothing changes.
        for patch, field in [
            ({"greeting": ""}, "greeting"),
            ({"greeting": "  "}, "greeting"),
            (
                {"prechat_fields": [{"name": "name", "label": "", "required": False}]},
                "prechat_fields.name.label",
            ),
            ({"consent": {**untouched["consent"], "text": ""}}, "consent.text"),
            # Of the wrong shape: the schema refuses it, with the same code.
            ({"greeting": 7}, "body.greeting"),
            (
                {"prechat_fields": [{"name": "name", "required": False}]},
                "body.prechat_fields.0.label",
            ),
            (
                {"consent": {"required": True, "version": "v", "privacy_url": "/p"}},
                "body.consent.text",
            ),
        ]:
            refused = await http.patch(path, json=patch)
            assert refused.status_code == 422, (patch, refused.text)
            assert (refused.json()["code"], refused.json()["field"]) == ("invalid_request", field)
        message = (await http.patch(path, json={"greeting": ""})).json()["message"]
        assert "null for the default text" in message
        assert (await texts())["greeting"] is None


async def test_refusals_share_one_code_and_never_echo_the_value(server: Server) -> None:
    server.create_user("admin@example.com", "admin", name="Ada")
    cookie, csrf = await login(server.base, "admin@example.com", AGENT_PASSWORD)
    admin = {"Cookie": cookie, "X-CSRF-Token": csrf}
    path = f"/api/v1/widgets/{server.widget}"
    marker = "zq-marker-7"
    async with httpx.AsyncClient(base_url=server.base, headers=admin) as http:
        before = (await http.get(f"{path}/config")).json()
        refused = {
            # Values the domain refuses.
            "color": {"color": f"#{marker}"},
            "greeting": {"greeting": f"{marker}\u202e"},
            "allowed_origins": {"allowed_origins": [f"https://{marker}.example/path"]},
            "redaction_patterns": {"redaction_patterns": [{"name": "x", "regex": f"({marker}"}]},
            "identity.mode": {"identity": {"mode": marker}},
            # A body of the wrong shape: the schema refuses it, with the same code.
            "body.color": {"color": 7},
            "body.prechat_fields": {"prechat_fields": marker},
            "body.consent.required": {"consent": {**CONSENT, "required": marker}},
            # A key nobody knows is caller input too: named by where it is, not echoed.
            "body": {marker: "#000000"},
        }
        for field, patch in refused.items():
            r = await http.patch(path, json=patch)
            assert r.status_code == 422, (field, r.text)
            body = r.json()
            assert body["code"] == "invalid_request", (field, body)
            assert body["field"] == ("mode" if field == "identity.mode" else field), body
            assert marker not in r.text, body
        assert (await http.get(f"{path}/config")).json() == before


async def test_admin_sets_the_widgets_department(server: Server) -> None:
    server.create_user("admin@example.com", "admin", name="Ada")
    server.create_user("sales@example.com", "agent", name="Rasa")
    cookie, csrf = await login(server.base, "admin@example.com", AGENT_PASSWORD)
    admin = {"Cookie": cookie, "X-CSRF-Token": csrf}
    path = f"/api/v1/widgets/{server.widget}"
    async with httpx.AsyncClient(base_url=server.base, headers=admin) as http:
        [listed] = (await http.get("/api/v1/widgets")).json()
        assert listed["department_id"] is None
        sales = (await http.post("/api/v1/departments", json={"name": "Sales"})).json()["id"]
        users = {u["email"]: u["id"] for u in (await http.get("/api/v1/users")).json()}
        r = await http.put(
            f"/api/v1/users/{users['sales@example.com']}/departments", json={"departments": [sales]}
        )
        assert r.status_code == 200, r.text

        unknown = await http.patch(path, json={"department_id": "d_nope", "color": "#111111"})
        assert unknown.status_code == 404
        assert (unknown.json()["code"], unknown.json()["field"]) == ("not_found", "department_id")
        assert (await http.get(f"{path}/config")).json()["color"] != "#111111"  # all or nothing

        moved = await http.patch(path, json={"department_id": sales})
        assert moved.status_code == 200, moved.text
        assert moved.json()["department_id"] == sales
        # Left out, it stays; null is "no department".
        kept = await http.patch(path, json={"greeting": "Hello!"})
        assert kept.json()["department_id"] == sales
        cleared = await http.patch(path, json={"department_id": None})
        assert cleared.status_code == 200 and cleared.json()["department_id"] is None

        audit = (await http.get("/api/v1/audit?limit=20&action=widget.department")).json()
        assert [(e["action"], e["target"], e["details"]) for e in audit] == [
            ("widget.department_changed", server.widget, {"department": None}),
            ("widget.department_changed", server.widget, {"department": sales}),
        ]
        assert (await http.patch(path, json={"department_id": sales})).status_code == 200

    # New chats from the widget now queue for Sales: its agent sees them, others do not.
    visitor, _ = await connect_visitor(server.base, server.widget)
    started = await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
    rasa, rasa_hello = await connect_agent(server.base, "sales@example.com", AGENT_PASSWORD)
    jonas, jonas_hello = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    assert started["conversation"] in [c["id"] for c in rasa_hello["conversations"]]
    assert started["conversation"] not in [c["id"] for c in jonas_hello["conversations"]]
    for ws in (visitor, rasa, jonas):
        await ws.close()
