"""HTTP rate limits (a pure ASGI middleware): per IP, plus stricter rules for logins
and visitor sessions. A refused request gets 429, ``Retry-After`` and the usual error body.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.security.ratelimit import RateLimiter, rate_limited_body
from bastion.transport.client_ip import scope_client_ip

# Probes come from load balancers at a fixed rate; limiting them only causes flapping.
EXEMPT = frozenset({"/healthz", "/readyz"})
# (method, path pattern, rule): extra limits on top of the per-IP one.
ROUTE_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/api/v1/auth/login"), "login"),
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
