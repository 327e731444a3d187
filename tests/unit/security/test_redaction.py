"""Card numbers in many formats are masked; other digit runs are not."""

from __future__ import annotations

import time

import pytest

from bastion.security.redaction import (
    InvalidRule,
    RedactionTimeout,
    Rules,
    check_rules,
    iban_valid,
    looks_like_card,
    luhn_valid,
    redact,
    rules_from_config,
)

# Published test numbers of the card schemes.
CARDS = {
    "visa": "4111111111111111",
    "visa13": "4222222222222",
    "mastercard": "5555555555554444",
    "mastercard2": "2223003122003222",
    "amex": "378282246310005",
    "discover": "6011111111111117",
    "diners": "30569309025904",
    "jcb": "3566000020000410",
    "visa19": "4000000000000000006",
}


def spaced(number: str, groups: tuple[int, ...], sep: str) -> str:
    out, pos = [], 0
    for g in groups:
        out.append(number[pos : pos + g])
        pos += g
    out.append(number[pos:])
    return sep.join(p for p in out if p)


@pytest.mark.parametrize("number", CARDS.values(), ids=CARDS.keys())
@pytest.mark.parametrize(
    "sep", ["", " ", "-", ".", " - ", "  ", "\u00a0", "\u2009", "\u202f", "\u2013"]
)
def test_cards_are_masked_keeping_the_last_four(number: str, sep: str) -> None:
    groups = (4, 6, 5) if len(number) == 15 else (4, 4, 4, 4)
    written = spaced(number, groups, sep) if sep else number
    result = redact(f"my card is {written}, thanks")
    assert result.changed
    assert result.text == f"my card is [card •••• {number[-4:]}], thanks"
    assert number not in result.text.replace(" ", "").replace("-", "")


def test_cards_in_other_scripts_digits_are_masked() -> None:
    full_width = "".join(chr(0xFF10 + int(d)) for d in CARDS["visa"])
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in CARDS["mastercard"])
    result = redact(f"a {full_width} b {arabic_indic}")
    assert result.changed
    assert full_width not in result.text and arabic_indic not in result.text
    assert result.text.startswith("a [card •••• ")


def test_every_usual_separator_between_groups_is_seen_through() -> None:
    """Slashes, underscores, em dashes and minus signs got a card through unmasked."""
    for sep in (".", "/", "_", "\u2014", "\u2212", " / "):
        text = f"card {sep.join(['4111', '1111', '1111', '1111'])} thanks"
        assert redact(text).text == "card [card •••• 1111] thanks", sep
    for text in ("due 2026/12/03", "file_2026_12_03_v2", "ref 12/34/56/78/90"):
        assert redact(text).text == text


def test_dotted_numbers_that_are_not_cards_stay() -> None:
    for text in ("from 192.168.100.200 today", "v1.2.3.4", "3.14159", "4111,1111,1111,1111"):
        assert redact(text).text == text
    # A separator run longer than three characters ends the number.
    assert not redact("4111    1111    1111    1111").changed


def test_several_cards_and_cards_at_edges() -> None:
    text = "4111111111111111\n5555-5555-5555-4444 or 3782 822463 10005"
    result = redact(text)
    assert result.text == "[card •••• 1111]\n[card •••• 4444] or [card •••• 0005]"


def test_a_card_inside_a_longer_run_of_groups_is_found() -> None:
    result = redact("call 2 4111 1111 1111 1111 now")
    assert result.text == "call 2 [card •••• 1111] now"


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567890123",  # 13 digits, Luhn-invalid
        "order 4111111111111112",  # one digit off a test card
        "call +370 612 34567",  # a phone number
        "invoice 2026-11-25",
        "ref 12345678901234567890123",  # longer than any card
        "tracking 4111 1111 1111 1112",
        "411111111117",  # 12 digits, Luhn-valid: too short for a card
    ],
)
def test_luhn_invalid_or_short_runs_are_untouched(text: str) -> None:
    assert not luhn_valid("4111111111111112")
    result = redact(text)
    assert result == redact(text) and not result.changed and result.text == text


def test_digits_glued_to_a_card_make_another_number_but_letters_do_not() -> None:
    assert not redact("41111111111111110").changed  # 17 digits, Luhn-invalid
    assert redact("x4111111111111111y").text == "x[card •••• 1111]y"


def test_looks_like_card() -> None:
    assert looks_like_card("4111 1111 1111 1111")
    assert not looks_like_card("1234 5678")


IBAN = "LT121000011101001000"


def test_iban_masked_only_when_configured() -> None:
    assert not redact(f"pay to {IBAN}").changed
    rules = Rules(iban=True)
    assert iban_valid(IBAN)
    assert redact(f"pay to {IBAN} OK", rules).text == "pay to [IBAN •••• 1000] OK"
    assert redact("pay to LT12 1000 0111 0100 1000 OK", rules).text == (
        "pay to [IBAN •••• 1000] OK"
    )
    assert redact("GB82 WEST 1234 5698 7654 32", rules).text == "[IBAN •••• 5432]"
    assert not redact("LT121000011101001001", rules).changed  # bad check digits


def test_long_runs_cost_linear_time() -> None:
    start = time.perf_counter()
    redact("AB12 " + "CD " * 1300, Rules(iban=True))
    redact("1 " * 2000)
    assert time.perf_counter() - start < 0.5


def test_configured_regexes() -> None:
    rules = rules_from_config(["iban", {"name": "lt_code", "regex": r"\b[3-6]\d{10}\b"}])
    assert rules.iban
    result = redact("asmens kodas 38703181745", rules)
    assert result.text == "asmens kodas [lt_code redacted]"


@pytest.mark.parametrize(
    "config",
    [
        "iban",
        ["nope"],
        [{"name": "x"}],
        [{"name": "Bad Name", "regex": "a"}],
        [{"name": "x", "regex": "a" * 201}],
        [{"name": "x", "regex": "("}],
        [{"name": "x", "regex": "a", "extra": 1}],
        ["iban"] * 11,
    ],
)
def test_bad_rules_are_refused_without_echoing_them(config: object) -> None:
    with pytest.raises(InvalidRule) as err:
        check_rules(config)
    assert "(" not in str(err.value) and "aaaa" not in str(err.value)


def test_a_catastrophic_pattern_runs_out_of_time() -> None:
    rules = rules_from_config([{"name": "slow", "regex": r"(a+)+$"}])
    with pytest.raises(RedactionTimeout):
        redact("a" * 3000 + "b", rules)
