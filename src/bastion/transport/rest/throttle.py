"""HTTP rate limits (a pure ASGI middleware): per IP and per credential, plus stricter
rules for logins and visitor sessions. A refused request gets 429, ``Retry-After`` and the
usual error body.

The per-credential rule counts a bearer token (visitor or API token) or a staff session
wherever its requests come from, so a leaked token used from many addresses is still
held to one budget. The key is a hash: the limiter's storage never holds a credential.
"""

from __future__ import annotations

import hashlib
import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.security.ratelimit import RateLimiter, rate_limited_body
from bastion.transport.client_ip import scope_client_ip
from bastion.transport.context import SESSION_COOKIE

# Probes come from load balancers at a fixed rate; limiting them only causes flapping.
EXEMPT = frozenset({"/healthz", "/readyz"})
# (method, path pattern, rule): extra limits on top of the per-IP one.
ROUTE_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # Every route that checks a password or answers a login (passkeys, e-mailed codes).
    (
        "POST",
        re.compile(r"/api/v1/auth/login(/email-code)?|/api/v1/auth/passkeys/login(/options)?"),
        "login",
    ),
    ("POST", re.compile(r"/api/v1/widgets/[^/]+/sessions"), "sessions"),
)


class Throttle:
    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, trusted: tuple[str, ...]) -> None:
        self.app = app
        self.limiter = limiter
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        ip = scope_client_ip(scope, self.trusted)
        verdict = await self.limiter.hit("http", ip)
        credential = _credential(scope)
        if verdict.allowed and credential is not None:
            verdict = await self.limiter.hit("http_credential", credential)
        if verdict.allowed:
            for method, pattern, rule in ROUTE_RULES:
                if scope["method"] == method and pattern.fullmatch(scope["path"]):
                    verdict = await self.limiter.hit(rule, ip)
                    break
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        body = json.dumps(rate_limited_body(verdict.retry_after)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(verdict.retry_after).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _credential(scope: Scope) -> str | None:
    """A hash naming the request's bearer token or session cookie, if it carries one."""
    secret = b""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                secret = b"bearer:" + token.strip()
                break
        elif name == b"cookie" and not secret:
            for part in value.split(b";"):
                key, _, val = part.strip().partition(b"=")
                if key == SESSION_COOKIE.encode() and val:
                    secret = b"session:" + val
    if not secret:
        return None
    return hashlib.sha256(secret).hexdigest()[:32]
