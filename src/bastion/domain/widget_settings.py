"""A widget's look and text, as admins set them: colour, greeting, language, pre-chat
fields and the consent notice. Every ``check_*`` here refuses bad input with
:class:`InvalidInput` naming the setting, and returns the value as it will be stored.

These values reach every visitor (``public_config``), so they are held to what the
widget can show safely: plain text without control characters, a ``#rrggbb`` colour, a
privacy link that is https or a path on Bastion itself.

The greeting, the pre-chat labels and the consent text may be ``None``: not set, so the
widget shows its own default text in the language it speaks to the visitor
(``widgetTables`` in web/shared/i18n.ts). Only a text an admin wrote is stored, and it is
shown as written, in every language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bastion.domain.errors import InvalidInput
from bastion.domain.plaintext import check_plain

# The settings an admin may change here (also what the widget receives).
SETTING_KEYS = ("color", "greeting", "language", "prechat_fields", "consent")

# The widget's string tables (web/shared/i18n.ts ``widgetTables``); "auto" follows the
# visitor's browser. A language the widget has no table for would silently show English.
WIDGET_LANGUAGES = ("en", "lt")

# The pre-chat fields the widget knows, with the input type it renders for each.
PRECHAT_TYPES: Mapping[str, str] = {"name": "text", "email": "email"}

GREETING_MAX = 300
LABEL_MAX = 60
CONSENT_TEXT_MAX = 500
PRIVACY_URL_MAX = 500

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_VERSION = re.compile(r"[A-Za-z0-9._-]{1,40}")


def _has_control(text: str) -> bool:
    # Category Cc: C0 (line breaks included), DEL and C1. The widget shows these texts
    # on one line with textContent; a control character there is a paste accident or a trick.
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def check_text(value: Any, *, field: str, what: str, max_chars: int) -> str:
    """One line of plain text, 1–``max_chars`` characters once trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must not be empty", field=field)
    text = value.strip()
    if len(text) > max_chars:
        raise InvalidInput(f"{what} is longer than {max_chars} characters", field=field)
    if _has_control(text):
        raise InvalidInput(f"{what} contains line breaks or control characters", field=field)
    return check_plain(text, what, field)  # and no text-direction overrides


def check_text_or_default(value: Any, *, field: str, what: str, max_chars: int) -> str | None:
    """A text an admin wrote (as :func:`check_text`), or None: the widget's own default,
    translated. An empty text is refused rather than read as the default, so that a
    client's mistake (an emptied field sent as it is) is not silently taken as a choice.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text (or null for the default text)", field=field)
    if not value.strip():
        raise InvalidInput(
            f"{what} must not be empty (null for the default text, in the visitor's language)",
            field=field,
        )
    return check_text(value, field=field, what=what, max_chars=max_chars)


def check_color(value: Any) -> str:
    if not isinstance(value, str) or not _COLOR.fullmatch(value.strip()):
        raise InvalidInput("the colour must be written #rrggbb, e.g. #2f6fed", field="color")
    return value.strip().lower()


def check_language(value: Any) -> str:
    choices = ("auto", *WIDGET_LANGUAGES)
    if value not in choices:
        raise InvalidInput(f"the language must be one of {', '.join(choices)}", field="language")
    return str(value)


def check_prechat_form(value: Any) -> list[dict[str, Any]]:
    """The name and e-mail fields the widget asks for before a chat, in order; a field
    left out is not asked for (and not stored: ``conversations.check_prechat_fields``).
    A label of None is the widget's own, translated ("Name", "Vardas").
    """
    field = "prechat_fields"
    if not isinstance(value, list) or len(value) > len(PRECHAT_TYPES):
        raise InvalidInput("give at most the name and the e-mail field", field=field)
    needed, optional = {"name", "label", "required"}, {"type"}
    cleaned: list[dict[str, Any]] = []
    for entry in value:
        if not isinstance(entry, Mapping) or not needed <= set(entry) <= needed | optional:
            raise InvalidInput(
                "each pre-chat field needs a name, a label (null: the default) and whether it "
                "is required",
                field=field,
            )
        name = entry["name"]
        if name not in PRECHAT_TYPES:
            raise InvalidInput("the pre-chat fields can only be name and email", field=field)
        if any(f["name"] == name for f in cleaned):
            raise InvalidInput(f"the {name} field is given twice", field=field)
        kind = PRECHAT_TYPES[name]
        if entry.get("type", kind) != kind:
            raise InvalidInput(f"the {name} field's type is {kind}", field=field)
        if not isinstance(entry["required"], bool):
            raise InvalidInput("required must be true or false", field=f"{field}.{name}.required")
        label = check_text_or_default(
            entry["label"],
            field=f"{field}.{name}.label",
            what=f"the {name} field's label",
            max_chars=LABEL_MAX,
        )
        cleaned.append({"name": name, "label": label, "type": kind, "required": entry["required"]})
    return cleaned


def check_privacy_url(value: Any) -> str:
    """An https URL, or a path on Bastion itself ("/privacy"): the widget opens it in a new
    tab, so no javascript:, data: or plain-http link, and no "//host" in disguise.
    """
    field = "consent.privacy_url"
    refused = InvalidInput(
        'the privacy link must be an https:// address or a path starting with "/"', field=field
    )
    if not isinstance(value, str) or not value.strip():
        raise refused
    url = value.strip()
    if len(url) > PRIVACY_URL_MAX:
        raise InvalidInput(
            f"the privacy link is longer than {PRIVACY_URL_MAX} characters", field=field
        )
    # Browsers read "\" as "/" and drop spaces and tabs, so "/\evil.example" is "//evil…".
    if "\\" in url or any(ch.isspace() for ch in url) or _has_control(url):
        raise refused
    if url.startswith("/"):
        if url.startswith("//"):
            raise refused
        return url
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise refused from None
    if parts.scheme != "https" or not parts.hostname or parts.username or not port_ok:
        raise refused
    return url


def check_consent_version(version: Any) -> str:
    """A consent version: the widget's, and what a visitor's ``chat.start`` says it accepted
    (stored with the chat and shown in a GDPR export, so it is checked the same way).
    """
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise InvalidInput(
            "the consent version must be 1–40 letters, digits, dots, dashes or underscores",
            field="consent.version",
        )
    return version


def check_consent(value: Any) -> dict[str, Any]:
    """The consent notice, given whole. The version is recorded with each chat's consent,
    so a new text should come with a new version (the console suggests it; not enforced,
    as fixing a typo need not ask everyone again). A text of None is the widget's default
    notice in the visitor's language: the version then names that notice.
    """
    keys = {"required", "text", "version", "privacy_url"}
    if not isinstance(value, Mapping) or set(value) != keys:
        raise InvalidInput("consent needs required, text, version and privacy_url", field="consent")
    if not isinstance(value["required"], bool):
        raise InvalidInput("required must be true or false", field="consent.required")
    version = check_consent_version(value["version"])
    return {
        "required": value["required"],
        "version": version,
        "text": check_text_or_default(
            value["text"], field="consent.text", what="the consent text", max_chars=CONSENT_TEXT_MAX
        ),
        "privacy_url": check_privacy_url(value["privacy_url"]),
    }


_CHECKS = {
    "color": check_color,
    "greeting": lambda v: check_text_or_default(
        v, field="greeting", what="the greeting", max_chars=GREETING_MAX
    ),
    "language": check_language,
    "prechat_fields": check_prechat_form,
    "consent": check_consent,
}


def check_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Any of :data:`SETTING_KEYS`, each checked; an unknown key is refused."""
    if not set(settings) <= set(SETTING_KEYS):
        # The key is not echoed: it is caller input, and the list of settings is public.
        raise InvalidInput(f"the settings are {', '.join(SETTING_KEYS)}", field="settings")
    return {key: _CHECKS[key](settings[key]) for key in SETTING_KEYS if key in settings}
