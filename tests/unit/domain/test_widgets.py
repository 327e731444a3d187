"""Allowed-origin parsing and matching for widget embedding."""

from __future__ import annotations

import pytest

from bastion.domain.errors import InvalidInput
from bastion.domain.models import Widget
from bastion.domain.widgets import (
    check_allowed_origin,
    frame_ancestors,
    origin_allowed,
    origin_of,
)
from tests.support.factories import FakeClock


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Shop.Example/path?q=1", "https://shop.example"),
        ("https://shop.example:443/", "https://shop.example"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080"),
        ("http://[::1]:8000/", "http://[::1]:8000"),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("//shop.example/", None),
        ("https://shop.example:99999/", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def test_allowed_origins_and_wildcards() -> None:
    widget = Widget(
        id="w_1",
        name="w",
        allowed_origins=(
            check_allowed_origin("https://shop.example"),
            check_allowed_origin("https://*.bank.example"),
        ),
        config={},
        created_at=FakeClock().now(),
    )
    assert origin_allowed(widget, "https://shop.example")
    assert origin_allowed(widget, "https://eu.bank.example")
    assert not origin_allowed(widget, "https://bank.example.evil.com")
    assert not origin_allowed(widget, "https://evilbank.example")
    assert not origin_allowed(widget, "http://shop.example")
    assert not origin_allowed(widget, None)
    for bad in ("shop.example", "https://shop.example/path", "ftp://x.example", "*"):
        with pytest.raises(InvalidInput):
            check_allowed_origin(bad)


@pytest.mark.parametrize(
    "entry",
    [
        "https://shop.example;script-src *",  # would add a directive to the frame's CSP
        "https://shop.example 'unsafe-inline'",
        "https://sh op.example",
        "http://shop\x00.example",  # broke the frame's CSP header: every visitor got a 500
        "https://é.example",  # browsers send the xn-- form; not a header value either
        "https://shop..example",
        "https://*.*.example",
    ],
)
def test_an_allowed_site_is_a_host_name_nothing_else(entry: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_allowed_origin(entry)
    assert err.value.field == "allowed_origins"


def test_host_names_addresses_and_punycode_are_allowed_sites() -> None:
    assert check_allowed_origin("https://xn--9ca.example") == "https://xn--9ca.example"
    assert check_allowed_origin("http://[::1]:8080") == "http://[::1]:8080"
    assert check_allowed_origin("https://*.Shop-1.example/") == "https://*.shop-1.example"


def test_entries_saved_before_the_strict_check_stay_out_of_the_frames_csp() -> None:
    widget = Widget(
        id="w_1",
        name="w",
        allowed_origins=(
            "https://shop.example",
            "https://shop.example;script-src *",  # stored before the check refused it
            "https://*.bank.example",
            "https://Old.Example",
        ),
        config={},
        created_at=FakeClock().now(),
    )
    assert frame_ancestors(widget) == ["https://shop.example", "https://*.bank.example"]
