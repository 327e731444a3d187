"""``POST /api/v1/csp-reports``: browsers report Content-Security-Policy violations here.

Reports are counted by directive in a Prometheus counter and then dropped: they carry
page URLs and sometimes user data, so nothing of them is stored or logged.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter

from bastion.transport.rest.errors import error_body

router = APIRouter(include_in_schema=False)

MAX_BODY = 16 * 1024
CONTENT_TYPES = frozenset({"application/csp-report", "application/reports+json"})
# Known directive names only: a free-form label would let a client grow the metric.
DIRECTIVES = frozenset(
    {
        "default-src", "script-src", "script-src-elem", "script-src-attr", "style-src",
        "style-src-elem", "style-src-attr", "img-src", "font-src", "connect-src", "frame-src",
        "child-src", "worker-src", "manifest-src", "media-src", "object-src", "base-uri",
        "form-action", "frame-ancestors", "require-trusted-types-for", "trusted-types",
    }
)  # fmt: skip


def make_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "bastion_csp_reports",
        "CSP violation reports received, by violated directive",
        ["directive"],
        registry=registry,
    )


def _directives(payload: Any) -> list[str]:
    """The violated directive of each report, for both report formats."""
    bodies: list[Any] = []
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        bodies.append(payload["csp-report"])  # report-uri (CSP level 2)
    elif isinstance(payload, list):  # Reporting API: [{"type":"csp-violation","body":{…}}]
        bodies.extend(
            r.get("body")
            for r in payload[:20]
            if isinstance(r, dict) and r.get("type") == "csp-violation"
        )
    out = []
    for body in bodies:
        if not isinstance(body, dict):
            continue
        raw = (
            body.get("effective-directive")
            or body.get("effectiveDirective")
            or body.get("violated-directive")
        )
        name = raw.split(" ", 1)[0] if isinstance(raw, str) else ""
        out.append(name if name in DIRECTIVES else "other")
    return out


async def _read_capped(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            return None
    return bytes(data)


@router.post("/api/v1/csp-reports", status_code=204)
async def csp_reports(request: Request) -> Response:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in CONTENT_TYPES:
        return Response(
            json.dumps(error_body("unsupported_media_type", "send a CSP report")),
            status_code=415,
            media_type="application/json",
        )
    data = await _read_capped(request)
    if data is None:
        return Response(
            json.dumps(error_body("too_large", f"reports are limited to {MAX_BODY} bytes")),
            status_code=413,
            media_type="application/json",
        )
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        return Response(
            json.dumps(error_body("invalid_json", "the report is not valid JSON")),
            status_code=400,
            media_type="application/json",
        )
    counter: Counter = request.app.state.csp_reports
    for directive in _directives(payload):
        counter.labels(directive=directive).inc()
    return Response(status_code=204)
