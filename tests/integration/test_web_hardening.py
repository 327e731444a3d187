"""Headers on every route family, closed CORS, CSP reports, and bans over REST.

One ``serve --demo`` process for the module: a server takes seconds to start.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support import samples
from tests.support.clamd import Clamd
from tests.support.client import WsClient, connect_visitor, login
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.asyncio

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": None,  # present; the widget frame narrows it to "origin"
    "permissions-policy": None,
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, clamd: Clamd) -> Iterator[Server]:
    data: Path = tmp_path_factory.mktemp("hardening") / "data"
    data.mkdir()
    server = Server(
        data_dir=data, database_url=None, demo=True, extra_env={"BASTION_CLAMD": clamd.address}
    )
    try:
        server.start()
        server.create_user("agent@example.com", "agent", name="Jonas")
        yield server
    finally:
        server.stop()


def _csp(r: httpx.Response) -> dict[str, str]:
    policy = r.headers["content-security-policy"]
    return {
        d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else ""
        for d in (p.strip() for p in policy.split(";"))
    }


def _assert_common(r: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert name in r.headers, (r.url, name)
        if value:
            assert r.headers[name] == value, (r.url, name)
    assert "access-control-allow-origin" not in r.headers, r.url
    csp = _csp(r)
    for directive in ("script-src", "default-src"):
        if directive in csp:
            assert "'unsafe-inline'" not in csp[directive] and "'unsafe-eval'" not in csp[directive]


def _assert_page(r: httpx.Response, ancestors: str = "'none'") -> None:
    _assert_common(r)
    csp = _csp(r)
    assert csp["script-src"] == "'self'"
    assert csp["frame-ancestors"].split()[0] == ancestors
    if ancestors == "'none'":
        assert csp["frame-ancestors"] == "'none'"
    assert csp["report-uri"] == "/api/v1/csp-reports"
    assert csp["report-to"] == "csp"
    assert r.headers["reporting-endpoints"] == 'csp="/api/v1/csp-reports"'
    assert r.headers["cross-origin-resource-policy"] == "same-origin"
    if ancestors == "'none'":
        assert r.headers["x-frame-options"] == "DENY"
    else:
        assert "x-frame-options" not in r.headers


async def test_headers_on_every_route_family(srv: Server) -> None:
    async with httpx.AsyncClient(base_url=srv.base) as http:
        # Console and admin: one SPA, never framed.
        for path in ("/console/", "/console/admin", "/console/admin/widgets"):
            r = await http.get(path)
            assert r.status_code == 200, path
            _assert_page(r)
        # Widget frame: only the widget's allowed sites may frame it.
        r = await http.get(f"/widget/frame?w={srv.widget}")
        assert r.status_code == 200
        _assert_page(r, ancestors=srv.base)
        assert r.headers["referrer-policy"] == "origin"
        # API (JSON), OpenAPI, docs, demo, health.
        for path in (f"/api/v1/widgets/{srv.widget}/config", "/api/openapi.json", "/healthz"):
            r = await http.get(path)
            assert r.status_code == 200, path
            if "config" not in path:
                _assert_common(r)
            assert _csp(r)["default-src"] == "'none'", path
            assert _csp(r)["frame-ancestors"] == "'none'", path
        r = await http.get("/api/v1/conversations")
        assert r.status_code == 401
        _assert_common(r)
        r = await http.get("/api/docs")
        assert r.status_code in (200, 503)  # 503 when the docs assets are not built
        _assert_page(r)
        r = await http.get("/demo/")
        assert r.status_code == 200
        _assert_page(r)
        assert _csp(r)["frame-src"] == "'self'"
        # The loader is the one cross-origin readable script.
        r = await http.get("/widget.js")
        assert r.status_code == 200
        assert r.headers["cross-origin-resource-policy"] == "cross-origin"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-type"].startswith("text/javascript")
        # Files: downloads are attachments under a sandbox policy, never framed or sniffed.
        visitor, hello = await connect_visitor(srv.base, srv.widget)
        conv = (await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
            "conversation"
        ]
        await visitor.close()
        bearer = {"Authorization": f"Bearer {hello['token']}"}
        r = await http.post(
            f"/api/v1/conversations/{conv}/files",
            params={"name": "page.txt"},
            content=samples.text("plain words"),
            headers=bearer,
        )
        assert r.status_code == 201, r.text
        _assert_common(r)
        r = await http.get(f"/api/v1/files/{r.json()['file']['id']}", headers=bearer)
        assert r.status_code == 200
        _assert_common(r)
        csp = _csp(r)
        assert "sandbox" in csp and csp["default-src"] == "'none'"
        assert csp["frame-ancestors"] == "'none'" and r.headers["x-frame-options"] == "DENY"
        assert r.headers["content-disposition"].startswith('attachment; filename="page.txt"')
        assert r.headers["cross-origin-resource-policy"] == "same-origin"
        assert r.headers["cache-control"] == "private, no-store"
        r = await http.get("/api/v1/files/f_missing", headers=bearer)
        assert r.status_code == 404
        _assert_common(r)
        assert _csp(r)["default-src"] == "'none'"


async def test_favicon_is_served_and_named_by_the_pages(srv: Server) -> None:
    # Browsers ask for /favicon.ico on their own: a 404 there is a console error on every page.
    async with httpx.AsyncClient(base_url=srv.base) as http:
        for path in ("/favicon.ico", "/favicon.svg"):
            r = await http.get(path)
            assert r.status_code == 200, path
            assert r.headers["content-type"].startswith("image/svg+xml")
            assert r.content.startswith(b"<svg ")
            _assert_common(r)
            assert _csp(r)["default-src"] == "'none'"
        for path in ("/console/", "/demo/", "/privacy"):
            r = await http.get(path)
            assert '<link rel="icon" href="/favicon.svg"' in r.text, path


async def test_cors_is_closed_except_the_public_widget_config(srv: Server) -> None:
    foreign = {"Origin": "https://evil.example"}
    async with httpx.AsyncClient(base_url=srv.base) as http:
        r = await http.get(f"/api/v1/widgets/{srv.widget}/config", headers=foreign)
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
        for method, path in (
            ("GET", "/api/v1/auth/me"),
            ("GET", "/api/v1/conversations"),
            ("GET", "/api/v1/bans"),
            ("OPTIONS", "/api/v1/auth/login"),
            ("POST", f"/api/v1/widgets/{srv.widget}/sessions"),
            ("GET", "/api/openapi.json"),
            ("GET", "/console/"),
        ):
            r = await http.request(
                method, path, headers={**foreign, "Access-Control-Request-Method": "POST"}
            )
            assert "access-control-allow-origin" not in r.headers, (method, path)
            assert "access-control-allow-credentials" not in r.headers, (method, path)


async def test_csp_reports_are_counted_and_capped(srv: Server) -> None:
    legacy = {
        "csp-report": {
            "document-uri": "http://127.0.0.1/console/?email=someone@example.com",
            "effective-directive": "script-src-elem",
            "blocked-uri": "inline",
        }
    }
    modern = [
        {"type": "csp-violation", "body": {"effectiveDirective": "img-src", "blockedURL": "x"}},
        {"type": "csp-violation", "body": {"effectiveDirective": "made-up<script>"}},
    ]
    async with httpx.AsyncClient(base_url=srv.base) as http:
        r = await http.post(
            "/api/v1/csp-reports",
            content=json.dumps(legacy),
            headers={"Content-Type": "application/csp-report"},
        )
        assert r.status_code == 204
        r = await http.post(
            "/api/v1/csp-reports",
            content=json.dumps(modern),
            headers={"Content-Type": "application/reports+json"},
        )
        assert r.status_code == 204
        r = await http.post("/api/v1/csp-reports", json=legacy)
        assert r.status_code == 415
        r = await http.post(
            "/api/v1/csp-reports",
            content=b"[" + b" " * 20000 + b"]",
            headers={"Content-Type": "application/csp-report"},
        )
        assert r.status_code == 413
        r = await http.post(
            "/api/v1/csp-reports",
            content=b"{nope",
            headers={"Content-Type": "application/csp-report"},
        )
        assert r.status_code == 400 and r.json()["code"] == "invalid_json"
        metrics = (await http.get("/metrics")).text
    assert 'bastion_csp_reports_total{directive="script-src-elem"} 1.0' in metrics
    assert 'bastion_csp_reports_total{directive="img-src"} 1.0' in metrics
    assert 'bastion_csp_reports_total{directive="other"} 1.0' in metrics
    # Nothing personal is kept: not in metrics, not in the server's log.
    assert "someone@example.com" not in metrics
    assert srv.log_path is not None
    assert "someone@example.com" not in srv.log_path.read_text()


async def test_bans_over_rest_and_websocket(srv: Server) -> None:
    cookie, csrf = await login(srv.base, "agent@example.com", AGENT_PASSWORD)
    headers = {"Cookie": cookie}
    async with httpx.AsyncClient(base_url=srv.base) as http:
        r = await http.post(f"/api/v1/widgets/{srv.widget}/sessions", json={"page_url": srv.base})
        visitor = r.json()
        # The visitor is chatting when the ban lands: the open socket is closed at once,
        # with the neutral answer, and a second visitor's socket stays open.
        ws, _ = await connect_visitor(srv.base, srv.widget, token=visitor["token"])
        start = await ws.cmd(
            "chat.start", consent={"accepted": True, "version": "2026-01"}, message="hello"
        )
        bystander, _ = await connect_visitor(srv.base, srv.widget)
        body = {"visitor": visitor["visitor"], "duration_s": 600, "reason": "abuse"}
        r = await http.post("/api/v1/bans", json=body, headers=headers)
        assert r.status_code == 403, "a write without the CSRF token is refused"
        r = await http.post("/api/v1/bans", json=body, headers={**headers, "X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text
        ban = r.json()
        assert ban["kind"] == "visitor" and ban["reason"] == "abuse" and ban["actor_id"]
        notice = await ws.wait_for(lambda f: f.get("t") == "error")
        assert notice["code"] == "unavailable" and notice["id"] is None
        assert notice["message"] == "Chat is not available right now."
        assert await asyncio.wait_for(ws.closed, 5) == (1008, "unavailable")
        await ws.close()
        assert start["conversation"]
        assert (await bystander.request("ping"))["t"] == "pong"

        # Reconnecting does not help: hello gets the same neutral answer and a close.
        ws = await WsClient.connect(
            srv.base.replace("http", "ws", 1) + "/ws/visitor", origin=srv.base
        )
        reply = await ws.request("hello", token=visitor["token"])
        assert reply["code"] == "unavailable"
        assert reply["message"] == "Chat is not available right now."
        assert (await asyncio.wait_for(ws.closed, 5))[0] == 1008
        await ws.close()
        # Resuming the banned visitor's session gets the same neutral answer.
        r = await http.post(
            f"/api/v1/widgets/{srv.widget}/sessions",
            json={"page_url": srv.base, "resume_token": visitor["token"]},
        )
        assert r.status_code == 403 and r.json()["code"] == "unavailable"

        listed = (await http.get("/api/v1/bans", headers=headers)).json()
        assert [b["id"] for b in listed] == [ban["id"]]
        r = await http.delete(
            f"/api/v1/bans/{ban['id']}", headers={**headers, "X-CSRF-Token": csrf}
        )
        assert r.status_code == 204
        assert (await http.get("/api/v1/bans", headers=headers)).json() == []
        r = await http.get("/api/v1/bans")
        assert r.status_code == 401

        # The agent WS command bans this test's own address: loopback, a /32.
        agent = await WsClient.connect(
            srv.base.replace("http", "ws", 1) + "/ws/agent", origin=srv.base, cookie=cookie
        )
        await agent.cmd("hello")
        bad = await agent.request("visitor.ban", ip="0.0.0.0/0", duration_s=600, reason="x")
        assert bad["code"] == "invalid_frame" and bad["field"] == "ip"
        ack = await agent.cmd("visitor.ban", ip="127.0.0.1", duration_s=600, reason="flood")
        # A network ban closes every visitor socket from the range (the bystander too:
        # this test's sockets all come from loopback).
        assert (await asyncio.wait_for(bystander.closed, 5))[0] == 1008
        await bystander.close()
        r = await http.post(f"/api/v1/widgets/{srv.widget}/sessions", json={"page_url": srv.base})
        assert r.status_code == 403 and r.json() == {
            "code": "unavailable",
            "message": "Chat is not available right now.",
        }
        r = await http.delete(
            f"/api/v1/bans/{ack['ban']}", headers={**headers, "X-CSRF-Token": csrf}
        )
        assert r.status_code == 204
        await agent.close()


__all__ = ["websockets"]
