from __future__ import annotations

from bastion.transport.client_ip import client_ip

PROXIES = ("10.0.0.0/8", "127.0.0.1/32")


def test_peer_is_used_without_trusted_proxies() -> None:
    assert client_ip("198.51.100.7", ["203.0.113.1"], ()) == "198.51.100.7"


def test_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    assert client_ip("198.51.100.7", ["203.0.113.1"], PROXIES) == "198.51.100.7"


def test_rightmost_untrusted_hop_wins_behind_trusted_proxies() -> None:
    # The client wrote "1.2.3.4" itself; the proxies appended the real address.
    xff = ["1.2.3.4, 203.0.113.9, 10.0.0.5"]
    assert client_ip("10.0.0.2", xff, PROXIES) == "203.0.113.9"


def test_all_hops_trusted_gives_the_leftmost() -> None:
    assert client_ip("127.0.0.1", ["10.1.1.1"], PROXIES) == "10.1.1.1"


def test_garbage_in_forwarded_for_stops_at_the_last_good_hop() -> None:
    assert client_ip("127.0.0.1", ["<script>, 10.0.0.9"], PROXIES) == "10.0.0.9"
    assert client_ip("127.0.0.1", ["not-an-ip"], PROXIES) == "127.0.0.1"


def test_ipv6_and_missing_peer() -> None:
    assert client_ip("::1", [], PROXIES) == "::1"
    assert client_ip(None, [], PROXIES) == "unknown"
