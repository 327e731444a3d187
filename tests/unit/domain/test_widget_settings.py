"""A widget's look and text: each setting's checks, and the service that applies them
(permission, all-or-nothing, audit by key, the cache notice after commit); texts left
unset (None) for the widget to show its own default in the visitor's language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bastion.domain.errors import Forbidden, InvalidInput, NotFound
from bastion.domain.events import WIDGETS_CHANNEL
from bastion.domain.models import Role
from bastion.domain.widget_settings import WIDGET_LANGUAGES, check_privacy_url, check_settings
from bastion.domain.widgets import DEFAULT_CONFIG, WidgetChange, admin_config, public_config
from tests.support.factories import World

CONSENT = {
    "required": True,
    "text": "I agree that this chat is stored to answer me.",
    "version": "2026-03.b",
    "privacy_url": "https://shop.example/privacy#chat",
}
EMAIL_FIELD = {"name": "email", "label": "E-mail", "required": True}


def _field_of(settings: dict[str, Any]) -> str | None:
    with pytest.raises(InvalidInput) as err:
        check_settings(settings)
    return err.value.field


def test_good_settings_are_normalised() -> None:
    got = check_settings(
        {
            "color": "#A0B1C2",
            "greeting": "  Labas! Kuo galime padėti?  ",
            "language": "lt",
            "prechat_fields": [{"name": "email", "label": "E-paštas", "required": True}],
            "consent": CONSENT,
        }
    )
    assert got["color"] == "#a0b1c2"
    assert got["greeting"] == "Labas! Kuo galime padėti?"
    assert got["prechat_fields"] == [
        {"name": "email", "label": "E-paštas", "type": "email", "required": True}
    ]
    assert got["consent"] == CONSENT
    assert check_settings({"language": "auto", "prechat_fields": []}) == {
        "language": "auto",
        "prechat_fields": [],
    }


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"color": "red"}, "color"),
        ({"color": "#fff"}, "color"),
        ({"color": "#12345g"}, "color"),
        ({"color": "#123456;background:url(x)"}, "color"),
        ({"color": 123456}, "color"),
        ({"greeting": ""}, "greeting"),
        ({"greeting": "   "}, "greeting"),
        ({"greeting": "x" * 301}, "greeting"),
        ({"greeting": "Hi\nthere"}, "greeting"),
        ({"greeting": "Hi\x1b[31m"}, "greeting"),
        ({"greeting": "Hi\x85there"}, "greeting"),
        ({"language": "de"}, "language"),
        ({"language": None}, "language"),
        ({"prechat_fields": [{"name": "phone", "label": "Phone", "required": False}]}, None),
        ({"prechat_fields": [{"name": "name", "label": "", "required": False}]}, None),
        ({"prechat_fields": [{"name": "name", "label": "N" * 61, "required": False}]}, None),
        ({"prechat_fields": [{"name": "name", "label": "Name", "required": "yes"}]}, None),
        ({"prechat_fields": [{**EMAIL_FIELD, "type": "text"}]}, None),
        ({"prechat_fields": [{"name": "name", "label": "Name"}]}, None),
        ({"prechat_fields": [{"name": "name", "label": "A", "required": False}] * 2}, None),
        ({"prechat_fields": {"name": "name"}}, None),
        ({"consent": {**CONSENT, "version": ""}}, "consent.version"),
        ({"consent": {**CONSENT, "version": "v 2"}}, "consent.version"),
        ({"consent": {**CONSENT, "version": "v" * 41}}, "consent.version"),
        ({"consent": {**CONSENT, "text": "x" * 501}}, "consent.text"),
        ({"consent": {**CONSENT, "text": ""}}, "consent.text"),
        ({"consent": {**CONSENT, "text": 7}}, "consent.text"),
        ({"greeting": 7}, "greeting"),
        ({"prechat_fields": [{"name": "name", "label": 7, "required": False}]}, None),
        ({"consent": {**CONSENT, "required": 1}}, "consent.required"),
        ({"consent": {k: v for k, v in CONSENT.items() if k != "version"}}, "consent"),
        ({"consent": {**CONSENT, "extra": 1}}, "consent"),
        ({"consent": {**CONSENT, "privacy_url": "http://shop.example/p"}}, "consent.privacy_url"),
        ({"secret": "x"}, "settings"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    settings: dict[str, Any], field: str | None
) -> None:
    got = _field_of(settings)
    if field is None:  # somewhere under prechat_fields
        assert got is not None and got.startswith("prechat_fields")
    else:
        assert got == field


def test_texts_may_be_left_to_the_widgets_translated_default() -> None:
    got = check_settings(
        {
            "greeting": None,
            "prechat_fields": [{"name": "name", "label": None, "required": True}],
            "consent": {**CONSENT, "text": None},
        }
    )
    assert got == {
        "greeting": None,
        "prechat_fields": [{"name": "name", "label": None, "type": "text", "required": True}],
        "consent": {**CONSENT, "text": None},
    }


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_text_is_refused_saying_how_to_get_the_default(empty: str) -> None:
    for settings, field in [
        ({"greeting": empty}, "greeting"),
        ({"prechat_fields": [{**EMAIL_FIELD, "label": empty}]}, "prechat_fields.email.label"),
        ({"consent": {**CONSENT, "text": empty}}, "consent.text"),
    ]:
        with pytest.raises(InvalidInput) as err:
            check_settings(settings)
        assert err.value.field == field
        assert "null for the default text" in str(err.value)


async def test_a_new_widgets_texts_are_not_set_but_its_consent_version_is(world: World) -> None:
    widget = await world.svc.widgets.get(world.widget_id)
    for shown in (public_config(widget, online=True), admin_config(widget)):
        assert shown["greeting"] is None
        assert shown["prechat_fields"] == [
            {"name": "name", "label": None, "type": "text", "required": False},
            {"name": "email", "label": None, "type": "email", "required": False},
        ]
        # The version a chat records with its consent stays the widget's.
        assert shown["consent"] == {
            "required": True,
            "version": "2026-01",
            "text": None,
            "privacy_url": "/privacy",
        }
    # No English sentence is stored for the widget to show to everyone.
    assert "How can we help" not in str(widget.config)
    assert widget.config["greeting"] is None and DEFAULT_CONFIG["greeting"] is None


async def test_an_admins_text_goes_back_to_the_default(world: World) -> None:
    admin = await world.staff("ada@example.com", Role.ADMIN, name="Ada")
    custom = {
        "greeting": "Labas!",
        "prechat_fields": [{"name": "email", "label": "Your e-mail", "required": True}],
        "consent": CONSENT,
    }
    await world.svc.widgets.update_settings(admin, world.widget_id, custom)
    shown = public_config(await world.svc.widgets.get(world.widget_id), online=False)
    assert (shown["greeting"], shown["prechat_fields"][0]["label"]) == ("Labas!", "Your e-mail")

    back = {
        "greeting": None,
        "prechat_fields": [{"name": "email", "label": None, "required": True}],
        "consent": {**CONSENT, "text": None, "version": "2026-05"},
    }
    world.bus.published.clear()
    widget = await world.svc.widgets.update_settings(admin, world.widget_id, back)
    shown = public_config(widget, online=False)
    assert shown["greeting"] is None
    assert shown["prechat_fields"] == [
        {"name": "email", "label": None, "type": "email", "required": True}
    ]
    assert shown["consent"] == {**CONSENT, "text": None, "version": "2026-05"}
    assert world.bus.published == [(WIDGETS_CHANNEL, {"type": "widget", "widget": widget.id})]
    audit = await world.svc.auth.audit(admin, 10, "widget.settings_changed")
    assert audit[0].details == {"keys": ["greeting", "prechat_fields", "consent"]}
    # The default again is no change.
    world.bus.published.clear()
    await world.svc.widgets.update_settings(admin, world.widget_id, {"greeting": None})
    assert world.bus.published == []


@pytest.mark.parametrize(
    "url",
    ["/privacy", "/legal/privacy?lang=lt", "https://shop.example/privacy", "HTTPS://x.example/"],
)
def test_privacy_urls_allowed(url: str) -> None:
    assert check_privacy_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "privacy",
        "//evil.example/privacy",
        "/\\evil.example",
        "/pri vacy",
        "javascript:alert(1)",
        "data:text/html,hi",
        "http://shop.example/privacy",
        "https://user:pw@shop.example/",
        "https:///nohost",
        "https://shop.example:99999/",
        "https://[::1/",
        "/" + "p" * 500,
    ],
)
def test_privacy_urls_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_privacy_url(url)
    assert err.value.field == "consent.privacy_url"


def test_languages_match_the_widgets_string_tables() -> None:
    i18n = Path(__file__).parents[3] / "web" / "shared" / "i18n.ts"
    tables = re.search(r"export const widgetTables = \{([^}]*)\}", i18n.read_text())
    assert tables is not None
    names = re.findall(r"(\w+):", tables.group(1))
    assert tuple(names) == WIDGET_LANGUAGES


async def test_admin_updates_settings_audited_by_key_after_commit(world: World) -> None:
    admin = await world.staff("ada@example.com", Role.ADMIN, name="Ada")
    world.bus.published.clear()
    widget = await world.svc.widgets.update_settings(
        admin,
        world.widget_id,
        {"color": "#112233", "greeting": "Sveiki!", "consent": CONSENT, "language": "auto"},
    )
    assert world.bus.published == [(WIDGETS_CHANNEL, {"type": "widget", "widget": widget.id})]
    stored = await world.svc.widgets.get(world.widget_id)
    shown = public_config(stored, online=False)
    assert (shown["color"], shown["greeting"], shown["consent"]) == ("#112233", "Sveiki!", CONSENT)
    # The default pre-chat form is untouched.
    assert [f["name"] for f in shown["prechat_fields"]] == ["name", "email"]

    audit = await world.svc.auth.audit(admin, 10, "widget.")
    assert [(e.action, e.actor, e.target) for e in audit] == [
        ("widget.settings_changed", admin.user_id, world.widget_id)
    ]
    # Only what changed ("auto" was already the language), and never the texts.
    assert audit[0].details == {"keys": ["color", "greeting", "consent"]}
    assert "Sveiki" not in str(audit[0].details)

    # Saving the same again changes nothing: no write, no entry, no notice.
    world.bus.published.clear()
    await world.svc.widgets.update_settings(admin, world.widget_id, {"greeting": "Sveiki!"})
    assert world.bus.published == []
    assert len(await world.svc.auth.audit(admin, 10, "widget.")) == 1


async def test_a_new_consent_text_may_keep_its_version(world: World) -> None:
    await world.svc.widgets.update_settings(None, world.widget_id, {"consent": CONSENT})
    reworded = {**CONSENT, "text": "I agree that this chat is kept to answer me."}
    widget = await world.svc.widgets.update_settings(None, world.widget_id, {"consent": reworded})
    assert widget.config["consent"] == reworded


async def test_prechat_fields_shown_are_the_ones_collected(world: World) -> None:
    fields = [{"name": "email", "label": "Your e-mail", "required": True}]
    await world.svc.widgets.update_settings(None, world.widget_id, {"prechat_fields": fields})
    visitor = await world.visitor()
    with pytest.raises(InvalidInput) as err:
        await world.start(visitor, fields={"name": "Ona"})
    assert err.value.field == "fields.email"
    await world.start(visitor, fields={"name": "Ona", "email": "ona@example.lt"})
    agent = await world.staff("jonas@example.com")
    convs = await world.svc.chat.summaries_for_staff(agent, None)
    # The name was not asked for, so it was not kept.
    assert convs[0]["visitor"]["name"] is None
    assert convs[0]["visitor"]["email"] == "ona@example.lt"


async def test_agents_cannot_change_widgets(world: World) -> None:
    agent = await world.staff("jonas@example.com", Role.AGENT)
    before = await world.svc.widgets.get(world.widget_id)
    with pytest.raises(Forbidden):
        await world.svc.widgets.update_settings(agent, world.widget_id, {"color": "#000000"})
    with pytest.raises(Forbidden):
        await world.svc.widgets.update(agent, world.widget_id, WidgetChange(identity_mode="strict"))
    assert await world.svc.widgets.get(world.widget_id) == before


async def test_one_bad_part_changes_nothing(world: World) -> None:
    before = await world.svc.widgets.get(world.widget_id)
    change = WidgetChange(
        allowed_origins=["https://shop.example"],
        settings={"color": "#000000", "greeting": "Hi"},
        redaction_patterns=["iban"],
        identity_mode="maybe",
    )
    with pytest.raises(InvalidInput) as err:
        await world.svc.widgets.update(None, world.widget_id, change)
    assert err.value.field == "mode"
    bad_color = WidgetChange(settings={"color": "blue"}, identity_mode="strict")
    with pytest.raises(InvalidInput):
        await world.svc.widgets.update(None, world.widget_id, bad_color)
    assert await world.svc.widgets.get(world.widget_id) == before


async def test_everything_but_secrets_in_one_update(world: World) -> None:
    admin = await world.staff("ada@example.com", Role.ADMIN, name="Ada")
    department = await world.svc.departments.create(None, "Sales")
    await world.svc.widgets.update(None, world.widget_id, WidgetChange(department_id=department.id))
    secret = await world.svc.widgets.rotate_hmac_secret(None, world.widget_id, 0)
    patterns = ["iban", {"name": "lt_code", "regex": r"\b[3-6]\d{10}\b"}]
    widget = await world.svc.widgets.update(
        admin,
        world.widget_id,
        WidgetChange(
            allowed_origins=["https://shop.example", "https://*.shop.example"],
            settings={"color": "#abcdef"},
            redaction_patterns=patterns,
            identity_mode="strict",
        ),
    )
    assert widget.department_id == department.id  # kept, not reset
    view = admin_config(widget)
    assert view["allowed_origins"] == ["https://shop.example", "https://*.shop.example"]
    assert view["redaction_patterns"] == patterns
    assert view["identity"] == {"mode": "strict"}
    assert secret not in str(view) and "hmac_keys" not in str(view)
    assert widget.config["identity"]["hmac_keys"]  # the secret itself stays
    audit = await world.svc.auth.audit(admin, 10, "widget.")
    actions = {e.action: e.details for e in audit if e.actor == admin.user_id}
    assert actions == {
        "widget.origins_changed": {},
        "widget.settings_changed": {"keys": ["color"]},
        "widget.redaction_patterns": {},
        "widget.identity_mode": {"mode": "strict"},
    }
    # Redaction patterns through their own entry point keep the department too.
    await world.svc.widgets.set_redaction_patterns(admin, world.widget_id, [])
    assert (await world.svc.widgets.get(world.widget_id)).department_id == department.id


async def test_the_department_is_set_with_the_rest_checked_and_audited(world: World) -> None:
    admin = await world.staff("ada@example.com", Role.ADMIN, name="Ada")
    sales = await world.svc.departments.create(None, "Sales")
    widgets = world.svc.widgets
    before = await widgets.get(world.widget_id)
    unknown = WidgetChange(settings={"color": "#000000"}, department_id="d_missing")
    with pytest.raises(NotFound) as err:
        await widgets.update(admin, world.widget_id, unknown)
    assert (err.value.code, err.value.field) == ("not_found", "department_id")
    assert await widgets.get(world.widget_id) == before  # the colour beside it is not applied

    world.bus.published.clear()
    moved = await widgets.update(admin, world.widget_id, WidgetChange(department_id=sales.id))
    assert moved.department_id == sales.id
    assert admin_config(moved)["department_id"] == sales.id
    assert (WIDGETS_CHANNEL, {"type": "widget", "widget": world.widget_id}) in world.bus.published
    # Left out, it stays; the same again is no change (and no audit entry).
    kept = await widgets.update(admin, world.widget_id, WidgetChange(settings={"greeting": "Hi"}))
    assert kept.department_id == sales.id
    await widgets.update(admin, world.widget_id, WidgetChange(department_id=sales.id))
    # None: no department, every agent's queue.
    cleared = await widgets.update(admin, world.widget_id, WidgetChange(department_id=None))
    assert cleared.department_id is None
    audit = await world.svc.auth.audit(admin, 10, "widget.department")
    assert [(e.action, e.actor, e.target, e.details) for e in audit] == [
        ("widget.department_changed", admin.user_id, world.widget_id, {"department": None}),
        ("widget.department_changed", admin.user_id, world.widget_id, {"department": sales.id}),
    ]
