"""The client's address: the socket peer, or X-Forwarded-For from a trusted proxy only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(ranges: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(r, strict=False) for r in ranges]


def _addr(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip().strip("[]"))
    except ValueError:
        return None


def client_ip(conn: HTTPConnection, trusted: list[Network]) -> str | None:
    """Walk X-Forwarded-For from the right while the hop is a trusted proxy; the first
    untrusted address is the client. A header from an untrusted peer is ignored: anyone
    can write one.
    """
    peer = _addr(conn.client.host) if conn.client else None
    if peer is None:
        return None
    if not any(peer in net for net in trusted):
        return str(peer)
    hops = [h for h in conn.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    current = peer
    for raw in reversed(hops):
        hop = _addr(raw)
        if hop is None:
            break
        current = hop
        if not any(hop in net for net in trusted):
            break
    return str(current)
