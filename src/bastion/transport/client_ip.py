"""The client's IP address: the one place that decides which address a request came from."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


@lru_cache(maxsize=32)
def parse_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _in(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: Iterable[Network]) -> bool:
    return any(addr.version == n.version and addr in n for n in nets)


def _parse(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


def client_ip(peer: str | None, forwarded_for: Sequence[str], trusted: tuple[str, ...]) -> str:
    """The address to limit and ban by.

    The socket peer, unless the peer is a trusted proxy (``BASTION_TRUSTED_PROXIES``):
    then ``X-Forwarded-For`` is read from the right, skipping trusted hops, and the first
    untrusted address wins. Entries further left were written by the client itself and
    are never believed. Anything unparsable counts as the last trusted hop's address.
    """
    addr = _parse(peer) if peer else None
    if addr is None:
        return UNKNOWN
    nets = parse_networks(trusted)
    if not nets or not _in(addr, nets):
        return str(addr)
    hops = [h for header in forwarded_for for h in header.split(",")]
    for raw in reversed(hops):
        hop = _parse(raw)
        if hop is None:
            break
        addr = hop
        if not _in(hop, nets):
            break
    return str(addr)


def scope_client_ip(scope: Scope, trusted: tuple[str, ...]) -> str:
    """:func:`client_ip` for an ASGI HTTP or WebSocket scope."""
    client = scope.get("client")
    peer = client[0] if client else None
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    return client_ip(peer, forwarded, trusted)
