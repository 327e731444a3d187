"""Origin checks: a browser's Origin header is the defence against cross-site sockets."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from bastion.settings import Settings


def request_origin(conn: HTTPConnection) -> str:
    """Bastion's origin as this request reached it (scheme and Host header)."""
    scheme = "https" if conn.url.scheme in ("https", "wss") else "http"
    host = conn.headers.get("host", "")
    return f"{scheme}://{host}".lower()


def origin_is_own(conn: HTTPConnection, settings: Settings) -> bool:
    origin = conn.headers.get("origin")
    if not origin:
        return False
    origin = origin.lower()
    if settings.public_url:
        return origin in settings.own_origins
    return origin in settings.own_origins or origin == request_origin(conn)
