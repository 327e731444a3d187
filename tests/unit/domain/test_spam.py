from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bastion.domain.errors import DuplicateMessage, TooManyLinks
from bastion.domain.spam import (
    Digests,
    RecentMessages,
    Sent,
    SpamLimits,
    count_links,
)
from bastion.domain.spam import check_not_spam as check

LIMITS = SpamLimits(duplicates=2, links=3)
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DIGESTS = Digests()


def sent(*bodies: str, at: datetime = NOW) -> list[Sent]:
    return [DIGESTS.sent(at, b) for b in bodies]


def check_not_spam(body: str, recent: list[str], limits: SpamLimits) -> None:
    check(body, sent(*recent), limits, DIGESTS, NOW - timedelta(seconds=limits.window_s))


def test_the_same_text_is_refused_after_the_allowed_repeats() -> None:
    check_not_spam("Hello?", ["Hello?"], LIMITS)
    with pytest.raises(DuplicateMessage) as err:
        check_not_spam("hello?  ", ["Hello?", "HELLO?"], LIMITS)
    assert err.value.code == "duplicate_message"
    assert "hello" not in err.value.message.lower()  # never echoes the text


def test_links_are_budgeted_over_the_window() -> None:
    assert count_links("see https://a.example/x and www.b.example, mailto:x@y.z") == 3
    check_not_spam("https://a.example", ["https://b.example", "https://c.example"], LIMITS)
    with pytest.raises(TooManyLinks) as err:
        check_not_spam(
            "http://d.example", ["https://b.example"] * 1 + ["http://c/ x y"] * 2, LIMITS
        )
    assert err.value.code == "too_many_links"


def test_plain_text_never_counts_against_links() -> None:
    check_not_spam("no links here", ["https://a", "https://b", "https://c", "https://d"], LIMITS)


def test_messages_older_than_the_window_do_not_count() -> None:
    old = sent("Hello?", "Hello?", at=NOW - timedelta(seconds=LIMITS.window_s + 1))
    check("Hello?", old, LIMITS, DIGESTS, NOW - timedelta(seconds=LIMITS.window_s))
    with pytest.raises(DuplicateMessage):
        check("Hello?", old + sent("hello?", "HELLO?"), LIMITS, DIGESTS, NOW - timedelta(1))


def test_digests_hold_no_text_and_differ_between_processes() -> None:
    one, other = Digests(), Digests()
    assert one("Hello  World") == one("hello world")
    assert one("hello world") != other("hello world")
    assert b"hello" not in one("hello world")


def test_recent_messages_are_used_only_at_the_seq_they_were_taken_at() -> None:
    recent = RecentMessages(history=3)
    recent.fill("c_1", 10, sent("a", "b"))
    assert recent.get("c_1", 11) is None  # something was written that this node missed
    assert recent.get("c_1", 10) is not None
    recent.advance("c_1", 11, sent("c")[0])
    recent.advance("c_1", 12, None)  # an agent's reply: nothing to keep, seq moves on
    got = recent.get("c_1", 12)
    assert got is not None and [s.digest for s in got] == [DIGESTS(x) for x in "abc"]
    recent.advance("c_1", 12, sent("d")[0])  # seq 12 again, not 13: the copy is dropped
    assert recent.get("c_1", 12) is None and recent.get("c_1", 13) is None
    recent.fill("c_2", 1, sent("a", "b", "c", "d"))
    got = recent.get("c_2", 1)
    assert got is not None and len(got) == 3  # at most `history`, the newest kept
