from __future__ import annotations

import pytest

from bastion.domain.errors import DuplicateMessage, TooManyLinks
from bastion.domain.spam import SpamLimits, check_not_spam, count_links

LIMITS = SpamLimits(duplicates=2, links=3)


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
