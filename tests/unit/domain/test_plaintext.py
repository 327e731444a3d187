"""Text people type: control characters and text-direction overrides are refused, with the
field named; right-to-left text, direction marks, emoji and tabs/newlines in messages pass."""

from __future__ import annotations

import pytest

from bastion.domain.conversations import ChatLimits, check_body, check_prechat_fields
from bastion.domain.errors import InvalidInput
from bastion.domain.plaintext import check_plain, is_blank
from bastion.domain.visitors import check_page_url
from bastion.domain.widgets import DEFAULT_CONFIG

RLO = "\u202e"


@pytest.mark.parametrize(
    "text",
    [
        "שלום, אני צריך עזרה",  # Hebrew
        "مرحبا 123",  # Arabic with digits
        "a\u200fb\u200ec",  # direction marks
        "Labas 👋🏽 — ačiū",
        "line one\n\tline two",
    ],
)
def test_plain_text_passes_unchanged(text: str) -> None:
    assert check_body(text, ChatLimits()) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"invoice_{RLO}gpj.exe", "text-direction override"),
        ("a\u2066b\u2069", "text-direction override"),
        ("bell\x07", "control characters"),
        ("esc\x1b[31m", "control characters"),
        ("del\x7f", "control characters"),
        ("next line\x85forged", "control characters"),  # C1 controls: NEL
        ("csi\x9b31m", "control characters"),  # the 8-bit escape terminals honour
    ],
)
def test_messages_with_controls_or_overrides_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as err:
        check_body(text, ChatLimits())
    assert err.value.field == "body"


@pytest.mark.parametrize("text", ["\u200b\u200b", " \u200d \ufeff\n", "\u2060"])
def test_a_message_of_zero_width_characters_is_empty(text: str) -> None:
    assert is_blank(text)
    with pytest.raises(InvalidInput, match="message is empty"):
        check_body(text, ChatLimits())


def test_names_titles_and_urls_refuse_overrides_too() -> None:
    with pytest.raises(InvalidInput, match="text-direction override") as err:
        check_prechat_fields({"name": f"Page Tester{RLO} evil"}, DEFAULT_CONFIG)
    assert err.value.field == "fields.name"
    with pytest.raises(InvalidInput, match="text-direction override") as err:
        check_page_url(f"https://shop.example/{RLO}fdp.exe")
    assert err.value.field == "page_url"
    assert check_plain("Rūta Šimkutė", "name", "name") == "Rūta Šimkutė"
