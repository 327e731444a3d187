"""Redaction of payment-card numbers and configured patterns from message text.

Pure functions, no I/O. ``redact(text, rules)`` returns the text with every
Luhn-valid card number (13–19 digits, in any script's digits, with up to three spaces,
dashes, dots or no-break/thin spaces between digit groups) replaced by
``[card •••• 1111]`` (the last four digits kept, so both sides can still tell which card
is meant), plus whatever the widget's ``rules`` add: the built-in
``"iban"`` (mod-97 checked, masked as ``[IBAN •••• 1234]``) and administrator regexes,
masked as ``[<name> redacted]``.

Digit runs that fail the Luhn check (order numbers, phone numbers) are left alone. A
Luhn-valid order number of card length is masked too: about one in ten random numbers
passes Luhn, and a false positive costs less than a stored card number.

Administrator regexes run under the ``regex`` module with a time budget; a pattern that
runs past it raises :class:`RedactionTimeout`, so the caller can refuse the message
rather than store what the administrator wanted hidden (fail closed).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import regex

MASK = "•••• "
CARD_MIN, CARD_MAX = 13, 19
IBAN_MIN, IBAN_MAX = 15, 34

# Limits on administrator patterns: a size cap keeps them reviewable, the time budget
# bounds backtracking (messages are at most a few thousand characters).
MAX_PATTERNS = 10
MAX_PATTERN_CHARS = 200
MAX_NAME_CHARS = 40
PATTERN_TIMEOUT_S = 0.05
BUILTIN_RULES = ("iban",)

# What people put between a card's digit groups: spaces (plain, no-break, thin, figure),
# dashes (hyphen, en and em dash, minus sign), dots, slashes and underscores, up to three
# in a row ("4111 - 1111 - …"). An IPv4 address has at most 12 digits, one fewer than
# the shortest card; a date has 8. Commas stay out: "4111,1111" is a list of numbers.
_SEPARATORS = " -./_\u00a0\u2007\u2009\u202f\u2010\u2011\u2012\u2013\u2014\u2212"
# A run of digit groups joined by separators. Candidates are narrowed to card-length
# windows of whole groups below, so "call 2 4111 1111 1111 1111" still finds the card
# inside. ``\d`` is any script's decimal digit: full-width or Arabic-Indic digits are a
# card number all the same.
_SEP = re.escape(_SEPARATORS)
_DIGIT_RUN = re.compile(rf"(?<![\d])\d+(?:[{_SEP}]{{1,3}}\d+)*(?![\d])")
_GROUP = re.compile(rf"[^{_SEP}]+")
_IBAN_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}[A-Za-z0-9]*(?: [A-Za-z0-9]+)*")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# Compiled once per distinct pattern: rules are read from the widget on every message.
_compile = functools.lru_cache(maxsize=256)(regex.compile)


class RedactionTimeout(Exception):
    """An administrator pattern ran past its time budget (the text is not echoed)."""


class InvalidRule(ValueError):
    """A configured redaction rule is not acceptable; the message names the problem only."""


@dataclass(frozen=True)
class PatternRule:
    name: str
    compiled: regex.Pattern[str]


@dataclass(frozen=True)
class Rules:
    """What a widget redacts besides card numbers (cards are always redacted)."""

    iban: bool = False
    patterns: tuple[PatternRule, ...] = ()


NO_RULES = Rules()


@dataclass(frozen=True)
class Redacted:
    text: str
    changed: bool


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)  # any script's digit, not only ASCII
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97."""
    if not IBAN_MIN <= len(compact) <= IBAN_MAX or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _groups(run: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the alphanumeric groups of a separator-joined run."""
    return [m.span() for m in _GROUP.finditer(run)]


def _redact_cards(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        run = m.group(0)
        groups = _groups(run)
        out, pos, i = [], 0, 0
        while i < len(groups):
            best = None
            digits = ""
            for j in range(i, len(groups)):
                digits += run[groups[j][0] : groups[j][1]]
                if len(digits) > CARD_MAX:
                    break
                if len(digits) >= CARD_MIN and luhn_valid(digits):
                    best = (j, digits)
            if best is None:
                i += 1
                continue
            j, digits = best
            out += [run[pos : groups[i][0]], f"[card {MASK}{digits[-4:]}]"]
            pos = groups[j][1]
            i = j + 1
        out.append(run[pos:])
        return "".join(out)

    return _DIGIT_RUN.sub(replace, text)


def _redact_ibans(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        run = m.group(0)
        groups = _groups(run)
        # The longest prefix of whole groups that is a valid IBAN; trailing words stay.
        # Prefixes stop at the IBAN's maximum length, so a long run costs linear time.
        best, compact = None, ""
        for start, end in groups:
            compact += run[start:end].upper()
            if len(compact) > IBAN_MAX:
                break
            if iban_valid(compact):
                best = (end, compact)
        if best is None:
            return run
        end, compact = best
        return f"[IBAN {MASK}{compact[-4:]}]" + run[end:]

    return _IBAN_RUN.sub(replace, text)


def redact(text: str, rules: Rules = NO_RULES) -> Redacted:
    """``text`` with cards (always) and the widget's configured patterns masked."""
    out = _redact_cards(text)
    if rules.iban:
        out = _redact_ibans(out)
    for rule in rules.patterns:
        try:
            out = rule.compiled.sub(f"[{rule.name} redacted]", out, timeout=PATTERN_TIMEOUT_S)
        except TimeoutError:
            raise RedactionTimeout(rule.name) from None
    return Redacted(out, out != text)


def looks_like_card(text: str) -> bool:
    return _redact_cards(text) != text


def check_rules(config: Any) -> list[Any]:
    """Validate a widget's ``redaction_patterns`` setting; returns it normalised.

    Entries are built-in names (``"iban"``) or ``{"name", "regex"}`` objects. Errors
    name the entry by position, never echo the pattern.
    """
    if config is None:
        return []
    if not isinstance(config, list) or len(config) > MAX_PATTERNS:
        raise InvalidRule(f"give a list of at most {MAX_PATTERNS} patterns")
    cleaned: list[Any] = []
    for i, entry in enumerate(config):
        if isinstance(entry, str):
            if entry not in BUILTIN_RULES:
                raise InvalidRule(f"pattern {i + 1}: unknown built-in rule")
            cleaned.append(entry)
            continue
        if not isinstance(entry, dict) or set(entry) != {"name", "regex"}:
            raise InvalidRule(f"pattern {i + 1}: give a name and a regex")
        name, source = entry["name"], entry["regex"]
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME_CHARS:
            raise InvalidRule(f"pattern {i + 1}: the name must be lower-case letters, digits, _")
        if not isinstance(source, str) or not 0 < len(source) <= MAX_PATTERN_CHARS:
            raise InvalidRule(f"pattern {i + 1}: the regex must be 1 to {MAX_PATTERN_CHARS} chars")
        try:
            _compile(source)
        except regex.error:
            raise InvalidRule(f"pattern {i + 1}: the regex does not compile") from None
        cleaned.append({"name": name, "regex": source})
    return cleaned


def rules_from_config(config: Any) -> Rules:
    """Rules from a widget's stored ``redaction_patterns`` (validated when it was set)."""
    entries = check_rules(config)
    return Rules(
        iban="iban" in entries,
        patterns=tuple(
            PatternRule(e["name"], _compile(e["regex"])) for e in entries if isinstance(e, dict)
        ),
    )
