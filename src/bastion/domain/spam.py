"""Spam throttling for visitor messages: repeated identical text and link floods.

Pure functions over the visitor's recent messages. Each message is reduced to what the
checks need (:class:`Sent`: a keyed digest of its normalised text, its link count and its
time), so a node may keep a conversation's recent messages between checks
(:class:`RecentMessages`) without holding any text. The checks raise typed errors with
stable codes; nothing is stored.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True, slots=True)
class Sent:
    """What the checks keep of one recent message; never its text."""

    at: datetime
    digest: bytes
    links: int


class Digests:
    """Keyed digests of normalised texts: equal for copies, useless without the key,
    which is made per process and never stored.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or os.urandom(32)

    def __call__(self, text: str) -> bytes:
        return hashlib.blake2b(_norm(text).encode(), key=self._key, digest_size=16).digest()

    def sent(self, at: datetime, body: str) -> Sent:
        return Sent(at, self(body), count_links(body))


def check_not_spam(
    body: str, recent: Iterable[Sent], limits: SpamLimits, digests: Digests, since: datetime
) -> None:
    """Refuse a message already sent ``limits.duplicates`` times in the window, or one
    that would take the window's links over ``limits.links``.
    """
    window = [r for r in recent if r.at >= since]
    digest = digests(body)
    if sum(1 for r in window if r.digest == digest) >= limits.duplicates:
        raise DuplicateMessage("you have already sent this message; please wait a little")
    links = count_links(body)
    if links and links + sum(r.links for r in window) > limits.links:
        raise TooManyLinks("too many links in a short time; please wait a little")


class RecentMessages:
    """Per node: each conversation's latest visitor messages as :class:`Sent`, valid for
    exactly one ``last_seq`` of the conversation.

    A copy is used only while the conversation's ``last_seq`` is the one it was taken at
    or advanced to, so any event written elsewhere (another node, another process) makes
    it stale and the caller reads the database again: the checks judge alike on every
    node. Callers fill and advance it only after their transaction committed.
    """

    def __init__(self, history: int, size: int = 4096) -> None:
        self._history = history
        self._size = size
        self._entries: OrderedDict[str, tuple[int, deque[Sent]]] = OrderedDict()

    def get(self, conversation_id: str, last_seq: int) -> Sequence[Sent] | None:
        entry = self._entries.get(conversation_id)
        if entry is None or entry[0] != last_seq:
            return None
        self._entries.move_to_end(conversation_id)
        return entry[1]

    def fill(self, conversation_id: str, last_seq: int, oldest_first: Iterable[Sent]) -> None:
        self._entries[conversation_id] = (last_seq, deque(oldest_first, maxlen=self._history))
        self._entries.move_to_end(conversation_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def advance(self, conversation_id: str, seq: int, sent: Sent | None) -> None:
        """Event ``seq`` committed (``sent`` when it is a visitor message)."""
        entry = self._entries.get(conversation_id)
        if entry is None:
            return
        if entry[0] != seq - 1:
            del self._entries[conversation_id]  # something in between was not seen here
            return
        if sent is not None:
            entry[1].append(sent)
        self._entries[conversation_id] = (seq, entry[1])
