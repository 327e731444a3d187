"""What text a person types may hold: the one rule for names, messages, titles and reasons.

Plain text is shown as text everywhere (never markup), so what is left to refuse is what
changes how it *reads*: control characters (a bell, an escape, a NUL, and the C1 range
U+0080–U+009F, where U+0085 breaks lines and U+009B starts terminal escapes) and the Unicode
bidirectional overrides and isolates, which display text in another order than it is
stored — "invoice_‮gpj.exe" reads as "invoice_exe.jpg", and a name can swallow what
follows it. Right-to-left text itself needs none of them (the console and widget show it
with ``dir="auto"``); the direction *marks* (U+200E, U+200F) stay allowed.
"""

from __future__ import annotations

from bastion.domain.errors import InvalidInput

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters with no width: a text made only of these (and spaces) shows as nothing.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")


def check_plain(text: str, what: str, field: str, *, allow: str = "") -> str:
    """``text`` unchanged, or :class:`InvalidInput` naming ``what`` and ``field``."""
    if any((ord(ch) < 32 and ch not in allow) or "\x7f" <= ch <= "\x9f" for ch in text):
        raise InvalidInput(f"{what} contains control characters", field=field)
    if any(ch in BIDI_CONTROLS for ch in text):
        raise InvalidInput(f"{what} contains text-direction override characters", field=field)
    return text


def is_blank(text: str) -> bool:
    """Nothing to see: only whitespace and zero-width characters."""
    return not "".join(ch for ch in text if ch not in INVISIBLE).strip()
