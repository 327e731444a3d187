"""Spam throttling for visitor messages: repeated identical text and link floods.

Pure functions over the visitor's recent messages (read from the database, so every
node judges alike). The checks raise typed errors with stable codes; nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bastion.domain.errors import DuplicateMessage, TooManyLinks

# What a reader's client would turn into a link, plus bare www. hosts that people click.
LINK = re.compile(r"(?i)\b(?:https?://|mailto:|www\.)[^\s<>\"']+")


@dataclass(frozen=True)
class SpamLimits:
    duplicates: int = 3  # the same text at most this many times per window
    links: int = 10  # links per window, this message included
    window_s: int = 300
    history: int = 50  # recent messages looked at


def count_links(text: str) -> int:
    return len(LINK.findall(text))


def _norm(text: str) -> str:
    # Case and spacing changes do not make a copy-pasted message new.
    return " ".join(text.casefold().split())


def check_not_duplicate(body: str, recent: Sequence[str], limits: SpamLimits) -> None:
    """Refuse a message already sent ``limits.duplicates`` times in the window."""
    norm = _norm(body)
    if sum(1 for r in recent if _norm(r) == norm) >= limits.duplicates:
        raise DuplicateMessage("you have already sent this message; please wait a little")


def check_link_budget(body: str, recent: Sequence[str], limits: SpamLimits) -> None:
    """Refuse a message that would take the window's links over ``limits.links``."""
    links = count_links(body)
    if links and links + sum(count_links(r) for r in recent) > limits.links:
        raise TooManyLinks("too many links in a short time; please wait a little")


def check_not_spam(body: str, recent: Sequence[str], limits: SpamLimits) -> None:
    check_not_duplicate(body, recent, limits)
    check_link_budget(body, recent, limits)
