"""Security headers on every response (a pure ASGI middleware).

Routes that need a different policy (the widget frame's ``frame-ancestors``, the
cross-origin ``widget.js``) set their own header; the middleware only fills in what is
missing, so a route can loosen exactly one thing and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Where browsers send violation reports: ``report-uri`` (all browsers) and ``report-to``
# (the Reporting API, named by the Reporting-Endpoints header below).
CSP_REPORT_PATH = "/api/v1/csp-reports"
REPORTING_ENDPOINTS = f'csp="{CSP_REPORT_PATH}"'


def page_csp(*, frame_ancestors: Iterable[str] = (), frame_src: str = "'none'") -> str:
    """A strict page policy: scripts and styles only from Bastion itself, no inline code."""
    ancestors = " ".join(frame_ancestors) or "'none'"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"frame-src {frame_src}",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
            f"frame-ancestors {ancestors}",
            f"report-uri {CSP_REPORT_PATH}",
            "report-to csp",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                defaults = {
                    "Content-Security-Policy": API_CSP,
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "strict-origin-when-cross-origin",
                    "Permissions-Policy": PERMISSIONS_POLICY,
                    "Cross-Origin-Opener-Policy": "same-origin",
                    "Cross-Origin-Resource-Policy": "same-origin",
                }
                if "frame-ancestors 'none'" in headers.get(
                    "content-security-policy", defaults["Content-Security-Policy"]
                ):
                    defaults["X-Frame-Options"] = "DENY"
                if "report-to csp" in headers.get("content-security-policy", ""):
                    defaults["Reporting-Endpoints"] = REPORTING_ENDPOINTS
                if https or self.hsts:
                    defaults["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                for name, value in defaults.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
