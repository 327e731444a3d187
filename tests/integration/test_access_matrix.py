"""The access matrix: every REST route and WebSocket command, for every kind of caller.

The expected outcome lives in the two tables below, one row per route or command. A
route or command the app has and the table lacks fails the test, so nothing new ships
without a decision about who may reach it.

Outcomes: ``A`` — authorised (2xx, or a business error after the access check);
``D`` — denied (not_authenticated, forbidden, unknown_type for the wrong socket);
``N`` — hidden (not_found: exists, but not for this caller).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import WebSocketRoute

from bastion.app import create_app
from bastion.settings import load_settings
from bastion.transport.ws.codec import AGENT_FRAMES, VISITOR_FRAMES
from tests.support import samples
from tests.support.clamd import Clamd
from tests.support.client import WsClient, connect_visitor, login
from tests.support.mail import MailSink
from tests.support.server import AGENT_PASSWORD, Server

CALLERS = [
    "anon",
    "visitor",
    "other",
    "agent",
    "super",
    "admin",
    "owner",
    "revoked",
    "token",
    "dead",
]
# A user of a custom role holding exactly the supervisor's permissions must get the
# supervisor's answer on every route and command: roles act only through permissions.
MIRRORS = {"custom": "super"}

DENY_CODES = {"not_authenticated", "forbidden", "2fa_enrollment_required", "ip_not_allowed"}

# route → expected outcome per caller, in CALLERS order.
#                                                           an v  o  ag su ad ow rv tk dt
REST: dict[str, str] = {
    "GET /api/openapi.json": "A  A  A  A  A  A  A  A  A  A",
    "GET /healthz": "A  A  A  A  A  A  A  A  A  A",
    "GET /readyz": "A  A  A  A  A  A  A  A  A  A",
    "GET /metrics": "A  A  A  A  A  A  A  A  A  A",
    "GET /api/v1/widgets/{widget_id}/config": "A  A  A  A  A  A  A  A  A  A",
    "POST /api/v1/widgets/{widget_id}/sessions": "A  A  A  A  A  A  A  A  A  A",
    "GET /api/v1/widgets": "D  D  D  D  D  A  A  D  D  D",
    "PATCH /api/v1/widgets/{widget_id}": "D  D  D  D  D  A  A  D  D  D",
    "GET /api/v1/conversations": "D  D  D  A  A  A  A  D  D  D",
    "GET /api/v1/conversations/{conversation_id}/events": "D  A  N  N  A  A  A  D  A  D",
    "POST /api/v1/conversations/{conversation_id}/access": "D  D  D  N  A  A  A  D  A  D",
    # Upload: posting needs the chat (visitor) or holding it / managing all (staff); the
    # token's view_all scope may read but not post. Download: the conversation's rule.
    "POST /api/v1/conversations/{conversation_id}/files": "D  A  N  N  A  A  A  D  D  D",
    "GET /api/v1/files/{file_id}": "D  A  N  N  A  A  A  D  A  D",
    "POST /api/v1/auth/login": "A  A  A  A  A  A  A  A  A  A",
    "POST /api/v1/auth/logout": "D  D  D  A  A  A  A  D  D  D",
    "GET /api/v1/auth/me": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/auth/totp/setup": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/auth/totp/confirm": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/auth/totp/disable": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/auth/password": "D  D  D  A  A  A  A  D  D  D",
    "GET /api/v1/auth/sessions": "D  D  D  A  A  A  A  D  D  D",
    "DELETE /api/v1/auth/sessions/{session_id}": "D  D  D  N  N  N  N  D  D  D",
    "POST /api/v1/auth/sessions/end-others": "D  D  D  A  A  A  A  D  D  D",
    "GET /api/v1/auth/passkeys": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/auth/passkeys/register/options": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/auth/passkeys/register": "D  D  D  A  A  A  A  D  D  D",
    "PATCH /api/v1/auth/passkeys/{passkey_id}": "D  D  D  N  N  N  N  D  D  D",
    "POST /api/v1/auth/passkeys/{passkey_id}/delete": "D  D  D  N  N  N  N  D  D  D",
    "POST /api/v1/auth/passkeys/login/options": "A  A  A  A  A  A  A  A  A  A",
    "POST /api/v1/auth/passkeys/login": "A  A  A  A  A  A  A  A  A  A",
    # Account recovery: anyone may ask (the answers reveal nothing to strangers).
    "POST /api/v1/auth/password-reset": "A  A  A  A  A  A  A  A  A  A",
    # What the sign-in page offers (whether mail is on), before anyone signs in.
    "GET /api/v1/auth/features": "A  A  A  A  A  A  A  A  A  A",
    "POST /api/v1/auth/password-reset/confirm": "A  A  A  A  A  A  A  A  A  A",
    "POST /api/v1/auth/login/email-code": "A  A  A  A  A  A  A  A  A  A",
    "POST /api/v1/auth/email-otp/enable": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/auth/email-otp/confirm": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/auth/email-otp/disable": "D  D  D  A  A  A  A  D  D  D",
    "GET /api/v1/users": "D  D  D  D  D  A  A  D  D  D",
    "POST /api/v1/users": "D  D  D  D  D  A  A  D  D  D",
    "PUT /api/v1/users/{user_id}/role": "D  D  D  D  D  A  A  D  D  D",
    "POST /api/v1/users/{user_id}/sessions/end": "D  D  D  D  D  A  A  D  D  D",
    "GET /api/v1/security/policy": "D  D  D  D  D  A  A  D  D  D",
    "PUT /api/v1/security/policy": "D  D  D  D  D  A  A  D  D  D",
    "GET /api/v1/audit": "D  D  D  D  D  A  A  D  D  D",
    "POST /api/v1/tokens": "D  D  D  D  D  A  A  D  D  D",
    "GET /api/v1/tokens": "D  D  D  D  D  A  A  D  D  D",
    "POST /api/v1/bans": "D  D  D  A  A  A  A  D  D  D",
    "GET /api/v1/bans": "D  D  D  A  A  A  A  D  D  D",
    "DELETE /api/v1/bans/{ban_id}": "D  D  D  N  N  N  N  D  D  D",
    "POST /api/v1/csp-reports": "A  A  A  A  A  A  A  A  A  A",
    "GET /api/v1/departments": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/departments": "D  D  D  D  D  A  A  D  D  D",
    "PUT /api/v1/users/{user_id}/departments": "D  D  D  D  D  A  A  D  D  D",
    "PUT /api/v1/departments/{department_id}/retention": "D  D  D  D  D  N  N  D  D  D",
    "GET /api/v1/retention": "D  D  D  D  D  A  A  D  D  D",
    "GET /api/v1/audit/verify": "D  D  D  D  D  A  A  D  D  D",
    # The visitor's own chat only; staff and API tokens are not visitors.
    "GET /api/v1/conversations/{conversation_id}/transcript": "D  A  N  D  D  D  D  D  D  D",
    "PUT /api/v1/widgets/{widget_id}/department": "D  D  D  D  D  A  A  D  D  D",
    "DELETE /api/v1/tokens/{token_id}": "D  D  D  D  D  N  N  D  D  D",
    "GET /api/v1/permissions": "D  D  D  A  A  A  A  D  A  D",
    "GET /api/v1/roles": "D  D  D  D  D  A  A  D  D  D",
    "GET /api/v1/department-members": "D  D  D  D  D  A  A  D  D  D",
    "POST /api/v1/roles": "D  D  D  D  D  A  A  D  D  D",
    "PUT /api/v1/roles/{name}": "D  D  D  D  D  A  A  D  D  D",
    "DELETE /api/v1/roles/{name}": "D  D  D  D  D  N  N  D  D  D",
    "PUT /api/v1/users/{user_id}/disabled": "D  D  D  D  D  A  A  D  D  D",
    "GET /api/v1/canned": "D  D  D  A  A  A  A  D  D  D",
    # Whom a responder may transfer a chat to: anyone who handles chats (not the token).
    "GET /api/v1/agents": "D  D  D  A  A  A  A  D  D  D",
    "POST /api/v1/canned": "D  D  D  D  A  A  A  D  D  D",
    "PUT /api/v1/canned/{canned_id}": "D  D  D  D  A  A  A  D  D  D",
    "DELETE /api/v1/canned/{canned_id}": "D  D  D  D  N  N  N  D  D  D",
    # Visitors' rights: admins and owners; the matrix's API token lacks the scope.
    "POST /api/v1/admin/gdpr/export": "D  D  D  D  D  N  N  D  D  D",
    "POST /api/v1/admin/gdpr/erase": "D  D  D  D  D  A  A  D  D  D",
    # Pages and assets are public; what they show depends on the API calls above.
    "GET /api/docs": "A  A  A  A  A  A  A  A  A  A",
    "GET /api/docs/assets/{path:path}": "A  A  A  A  A  A  A  A  A  A",
    "GET /demo": "A  A  A  A  A  A  A  A  A  A",
    "GET /demo/": "A  A  A  A  A  A  A  A  A  A",
    "GET /": "A  A  A  A  A  A  A  A  A  A",
    "GET /console": "A  A  A  A  A  A  A  A  A  A",
    "GET /console/assets/{path:path}": "N  N  N  N  N  N  N  N  N  N",
    "GET /console/{path:path}": "A  A  A  A  A  A  A  A  A  A",
    "GET /widget.js": "A  A  A  A  A  A  A  A  A  A",
    "GET /widget/assets/{path:path}": "N  N  N  N  N  N  N  N  N  N",
    "GET /widget/frame": "A  A  A  A  A  A  A  A  A  A",
    "GET /privacy": "A  A  A  A  A  A  A  A  A  A",
    "GET /favicon.svg": "A  A  A  A  A  A  A  A  A  A",
    "GET /favicon.ico": "A  A  A  A  A  A  A  A  A  A",
    "GET /static/{path:path}": "A  A  A  A  A  A  A  A  A  A",
}

WS_CALLERS = ["anon", "visitor", "other", "agent", "super", "admin", "revoked"]
# command → expected outcome per caller, in WS_CALLERS order. Visitors use /ws/visitor,
# staff /ws/agent; "anon" and "revoked" are refused at hello on either.
#                            an v  o  ag su ad rv
WS: dict[str, str] = {
    "visitor hello": "D  A  A  -  -  -  D",
    "visitor ping": "A  A  A  -  -  -  -",
    "visitor chat.start": "D  A  A  -  -  -  -",
    "visitor msg.send": "D  A  N  -  -  -  -",
    "visitor typing": "D  A  N  -  -  -  -",
    "visitor page": "D  A  A  -  -  -  -",
    "visitor chat.end": "D  A  N  -  -  -  -",
    "visitor rating": "D  A  N  -  -  -  -",
    "agent hello": "D  -  -  A  A  A  D",
    "agent ping": "A  -  -  A  A  A  A",
    "agent conv.accept": "D  -  -  A  A  A  -",
    "agent msg.send": "D  -  -  N  A  A  -",
    "agent note.send": "D  -  -  N  A  A  -",
    "agent conv.transfer": "D  -  -  N  A  A  -",
    "agent conv.close": "D  -  -  N  A  A  -",
    "agent status.set": "D  -  -  A  A  A  -",
    "agent visitor.ban": "D  -  -  A  A  A  -",
    "agent invite": "D  -  -  A  A  A  -",
    "agent typing": "D  -  -  N  A  A  -",
}


def _row(table: dict[str, str], key: str, callers: list[str]) -> dict[str, str]:
    cells = table[key].split()
    assert len(cells) == len(callers), key
    return dict(zip(callers, cells, strict=True))


def _app_routes() -> set[str]:
    app = create_app(load_settings({"BASTION_DATA_DIR": "/nonexistent-never-used"}), demo=True)

    def walk(routes: list[Any]) -> Iterator[Any]:
        for r in routes:
            if hasattr(r, "original_router"):
                yield from walk(r.original_router.routes)
            else:
                yield r

    found = set()
    for route in walk(app.routes):
        if isinstance(route, APIWebSocketRoute | WebSocketRoute):
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add(f"{method} {route.path}")
        assert isinstance(route, APIRoute) or hasattr(route, "methods")
    return found


def test_every_route_and_command_has_a_row() -> None:
    assert _app_routes() == set(REST), "add the new route to the access matrix"
    commands = {f"visitor {t}" for t in VISITOR_FRAMES} | {f"agent {t}" for t in AGENT_FRAMES}
    assert commands == set(WS), "add the new command to the access matrix"


def _outcome(status: int, body: Any) -> str:
    if status < 400:
        return "A"
    code = body.get("code") if isinstance(body, dict) else None
    # A rate limit hides the answer the matrix is about: a broken test, not an outcome.
    assert code != "rate_limited", "raise the matrix server's rate limits"
    if code in DENY_CODES or code == "unknown_type":
        return "D"
    if code == "not_found":
        return "N"
    return "A"


class World:
    """A server with one of each kind of caller and the objects routes act on."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.headers: dict[str, dict[str, str]] = {}
        self.cookies: dict[str, str] = {}
        self.ids: dict[str, str] = {}


@pytest.fixture
async def world(tmp_path: Path, clamd: Clamd) -> Any:
    # Hundreds of requests from one address: lift the per-IP limits for this test only.
    lifted = {
        "BASTION_RL_HTTP": "100000/minute",
        "BASTION_RL_HTTP_CREDENTIAL": "100000/minute",
        "BASTION_RL_LOGIN": "1000/minute",
        "BASTION_RL_SESSIONS": "1000/minute",
        "BASTION_RL_WS_CONNECTS": "1000/minute",
        "BASTION_CLAMD": clamd.address,
    }
    # Mail on (a real aiosmtpd), so the e-mail routes run past their access checks.
    sink = MailSink().start()
    mail = {"BASTION_SMTP_URL": sink.url, "BASTION_MAIL_FROM": "bastion@example.com"}
    srv = Server(data_dir=tmp_path / "data", database_url=None, demo=True, extra_env=lifted | mail)
    srv.data_dir.mkdir()
    try:
        yield await _populate(srv)
    finally:
        srv.stop()
        sink.stop()


async def _populate(srv: Server) -> World:
    srv.start()
    roles = {"agent": "agent", "super": "supervisor", "admin": "admin", "owner": "owner"}
    for key, role in {**roles, "revoked": "agent", "target": "agent"}.items():
        srv.create_user(f"{key}@example.com", role, name=key.title())
    w = World(srv)
    base = srv.base
    for key in [*roles, "revoked"]:
        cookie, csrf = await login(base, f"{key}@example.com", AGENT_PASSWORD)
        w.cookies[key] = cookie
        w.headers[key] = {"Cookie": cookie, "X-CSRF-Token": csrf}
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/api/v1/auth/logout", headers=w.headers["revoked"])
        assert r.status_code == 204
        users = (await http.get("/api/v1/users", headers=w.headers["admin"])).json()
        w.ids["user"] = next(u["id"] for u in users if u["email"] == "target@example.com")
        for name, key in (("token", "live"), ("dead", "dead")):
            r = await http.post(
                "/api/v1/tokens",
                json={"name": name, "scopes": ["chat.view_all"], "days": 1},
                headers=w.headers["admin"],
            )
            w.headers[name] = {"Authorization": f"Bearer {r.json()['token']}"}
            w.ids[key] = r.json()["id"]
        r = await http.delete(f"/api/v1/tokens/{w.ids['dead']}", headers=w.headers["admin"])
        assert r.status_code == 204
        await _custom_roles(http, w)
    # The victim's conversation, active with the owner (not the agent).
    victim, hello = await connect_visitor(base, srv.widget)
    w.ids["conv"] = (
        await victim.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
    )["conversation"]
    w.headers["visitor"] = {"Authorization": f"Bearer {hello['token']}"}
    w.ids["visitor_token"] = hello["token"]
    w.ids["visitor_id"] = hello["visitor"]
    other, other_hello = await connect_visitor(base, srv.widget)
    w.headers["other"] = {"Authorization": f"Bearer {other_hello['token']}"}
    w.ids["other_token"] = other_hello["token"]
    owner_ws = await WsClient.connect(
        base.replace("http", "ws") + "/ws/agent", origin=base, cookie=w.cookies["owner"]
    )
    await owner_ws.cmd("hello", resume={})
    await owner_ws.cmd("conv.accept", conversation=w.ids["conv"])
    for c in (victim, other, owner_ws):
        await c.close()
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            f"/api/v1/conversations/{w.ids['conv']}/files",
            params={"name": "matrix.txt"},
            content=samples.text("the victim's file"),
            headers=w.headers["visitor"],
        )
        assert r.status_code == 201, r.text
        w.ids["file"] = r.json()["file"]["id"]
    w.headers["anon"] = {}
    return w


async def _custom_roles(http: httpx.AsyncClient, w: World) -> None:
    """The "custom" caller (a supervisor's permissions in a custom role), a role for the
    role routes to edit, and a canned response for the canned routes.
    """
    from bastion.domain.models import Role
    from bastion.domain.permissions import ROLE_PERMISSIONS

    admin = w.headers["admin"]
    mirror = sorted(p.value for p in ROLE_PERMISSIONS[Role.SUPERVISOR])
    for name, perms in (("mirror", mirror), ("matrixrole", ["chat.handle"])):
        r = await http.post(
            "/api/v1/roles", json={"name": name, "permissions": perms}, headers=admin
        )
        assert r.status_code == 201, r.text
    r = await http.post(
        "/api/v1/users",
        json={"email": "custom@example.com", "password": AGENT_PASSWORD, "role": "mirror"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    cookie, csrf = await login(w.server.base, "custom@example.com", AGENT_PASSWORD)
    w.cookies["custom"] = cookie
    w.headers["custom"] = {"Cookie": cookie, "X-CSRF-Token": csrf}
    r = await http.post(
        "/api/v1/canned",
        json={"shortcut": "matrix", "title": "Matrix", "body": "Hello"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    w.ids["canned"] = r.json()["id"]


def _request(w: World, route: str) -> tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]:
    method, path = route.split(" ", 1)
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    fill = {
        "{widget_id}": w.server.widget,
        "{conversation_id}": w.ids["conv"],
        "{session_id}": "s_doesnotexist",
        "{user_id}": w.ids["user"],
        "{token_id}": "t_doesnotexist",
        "{ban_id}": "b_doesnotexist",
        "{passkey_id}": "pk_doesnotexist",
        "{canned_id}": w.ids["canned"] if route.startswith("PUT") else "cr_doesnotexist",
        "{name}": "matrixrole" if route.startswith("PUT") else "nosuchrole",
        "{department_id}": "d_doesnotexist",
        "{file_id}": w.ids["file"],
        "{path:path}": "missing.js",
    }
    for k, v in fill.items():
        path = path.replace(k, v)
    if route == "GET /static/{path:path}":
        path = "/static/demo.css"
    if route == "GET /api/docs/assets/{path:path}":
        path = "/api/docs/assets/swagger-ui.css"
    if path == "/widget/frame":
        params = {"w": w.server.widget}
    bodies: dict[str, dict[str, Any]] = {
        "POST /api/v1/widgets/{widget_id}/sessions": {"page_url": f"{w.server.base}/demo/"},
        "PATCH /api/v1/widgets/{widget_id}": {"allowed_origins": [w.server.base]},
        "POST /api/v1/conversations/{conversation_id}/access": {
            "reason": "the customer called back"
        },
        "POST /api/v1/auth/login": {"email": "nobody@example.com", "password": "wrong password!"},
        "POST /api/v1/auth/totp/confirm": {"code": "000000"},
        "POST /api/v1/auth/password-reset": {"email": "nobody@example.com"},
        "POST /api/v1/auth/password-reset/confirm": {
            "token": "pr_notatoken",
            "new_password": "x" * 20,
        },
        "POST /api/v1/auth/login/email-code": {
            "email": "nobody@example.com",
            "password": "wrong password!",
        },
        "POST /api/v1/auth/email-otp/enable": {"password": "not the password"},
        "POST /api/v1/auth/email-otp/confirm": {"code": "00000000"},
        "POST /api/v1/auth/email-otp/disable": {"password": "not the password"},
        "POST /api/v1/auth/totp/disable": {"password": "not the password"},
        "POST /api/v1/auth/password": {"current_password": "wrong", "new_password": "x" * 20},
        "POST /api/v1/users": {
            "email": f"u{uuid.uuid4().hex[:8]}@example.com",
            "password": AGENT_PASSWORD,
            "role": "agent",
        },
        "PUT /api/v1/users/{user_id}/role": {"role": "agent"},
        "PUT /api/v1/security/policy": {"require_2fa_roles": [], "ip_allowlist": []},
        "POST /api/v1/tokens": {"name": "matrix", "scopes": ["chat.handle"], "days": 1},
        "POST /api/v1/departments": {"name": f"dep-{uuid.uuid4().hex[:8]}"},
        # A documentation range: the ban never touches the test's own 127.0.0.1.
        "POST /api/v1/bans": {"ip": "203.0.113.7", "duration_s": 60, "reason": "matrix"},
        "POST /api/v1/csp-reports": {
            "csp-report": {"violated-directive": "script-src", "blocked-uri": "inline"}
        },
        "PUT /api/v1/users/{user_id}/departments": {"departments": []},
        "POST /api/v1/roles": {"name": f"r{uuid.uuid4().hex[:8]}", "permissions": []},
        "PUT /api/v1/roles/{name}": {"permissions": ["chat.handle"]},
        "PUT /api/v1/users/{user_id}/disabled": {"disabled": False},
        "POST /api/v1/canned": {
            "shortcut": f"c{uuid.uuid4().hex[:8]}",
            "title": "Matrix",
            "body": "Hello",
        },
        "PUT /api/v1/canned/{canned_id}": {"shortcut": "matrix", "title": "M", "body": "Hi"},
        "PUT /api/v1/departments/{department_id}/retention": {"days": 30},
        "PUT /api/v1/widgets/{widget_id}/department": {"department": None},
        # The right password: the set-up the confirm row below answers needs to be pending.
        "POST /api/v1/auth/totp/setup": {"password": AGENT_PASSWORD},
        "POST /api/v1/auth/passkeys/register/options": {"password": "not the password"},
        "POST /api/v1/auth/passkeys/register": {
            "ceremony": "wa_nope",
            "credential": {},
            "name": "matrix",
        },
        "PATCH /api/v1/auth/passkeys/{passkey_id}": {"name": "matrix"},
        "POST /api/v1/auth/passkeys/{passkey_id}/delete": {"password": "not the password"},
        "POST /api/v1/auth/passkeys/login/options": {},
        "POST /api/v1/auth/passkeys/login": {"ceremony": "wa_nope", "credential": {}},
        "POST /api/v1/auth/logout": {},
        "POST /api/v1/auth/sessions/end-others": {},
        "POST /api/v1/users/{user_id}/sessions/end": {},
        # An address nobody gave: export answers not_found, erase records it and succeeds.
        "POST /api/v1/admin/gdpr/export": {"email": "nobody.at.all@example.com"},
        "POST /api/v1/admin/gdpr/erase": {
            "email": "nobody.at.all@example.com",
            "reason": "matrix",
        },
    }
    if route in bodies:
        body = bodies[route]
    return method, path, body, params


@pytest.mark.timeout(300)  # ten callers' set-up and hundreds of requests; slow when loaded
async def test_rest_access_matrix(world: World) -> None:
    failures = []
    # Logging out last keeps every caller's session for the other rows.
    routes = sorted(REST, key=lambda r: r == "POST /api/v1/auth/logout")
    async with httpx.AsyncClient(base_url=world.server.base) as http:
        for route in routes:
            expected = _row(REST, route, CALLERS)
            expected |= {c: expected[m] for c, m in MIRRORS.items()}
            for caller in [*CALLERS, *MIRRORS]:
                method, path, body, params = _request(world, route)
                if route == "POST /api/v1/conversations/{conversation_id}/files":
                    r = await http.post(
                        path,
                        params={"name": "m.txt"},
                        content=samples.text(f"from {caller}"),
                        headers=world.headers[caller],
                    )
                else:
                    r = await http.request(
                        method, path, json=body, params=params, headers=world.headers[caller]
                    )
                assert r.status_code < 500, (route, caller, r.status_code)
                try:
                    payload = r.json()
                except json.JSONDecodeError:
                    payload = None
                got = _outcome(r.status_code, payload)
                if got != expected[caller]:
                    failures.append(
                        f"{route} as {caller}: expected {expected[caller]}, got {got} "
                        f"({r.status_code} {payload if isinstance(payload, dict) else ''})"
                    )
    assert not failures, "\n".join(failures)


async def _ws(world: World, caller: str, kind: str) -> WsClient | None:
    base = world.server.base
    url = base.replace("http", "ws") + f"/ws/{kind}"
    cookie = world.cookies.get(caller) if kind == "agent" else None
    return await WsClient.connect(url, origin=base, cookie=cookie)


@pytest.mark.timeout(300)
async def test_websocket_access_matrix(world: World) -> None:
    failures = []
    conv = world.ids["conv"]
    fields: dict[str, dict[str, Any]] = {
        "chat.start": {"consent": {"accepted": True, "version": "2026-01"}},
        "msg.send": {"conversation": conv, "body": "hello"},
        "note.send": {"conversation": conv, "body": "a note"},
        "typing": {"conversation": conv, "on": True},
        "page": {"url": f"{world.server.base}/cart"},
        "chat.end": {"conversation": conv},
        "rating": {"conversation": conv, "score": "good"},
        "conv.accept": {"conversation": conv},
        "conv.transfer": {"conversation": conv, "agent": world.ids["user"]},
        "conv.close": {"conversation": conv},
        "status.set": {"status": "online"},
        "invite": {"visitor": world.ids["visitor_id"], "body": "Can I help?"},
        "visitor.ban": {"ip": "198.51.100.9", "duration_s": 60, "reason": "matrix"},
        "ping": {},
    }
    # Ending and closing last: they change the conversation the other rows act on.
    order = sorted(WS, key=lambda k: k.endswith(("chat.end", "conv.close", "rating")))
    for key in order:
        kind, command = key.split(" ", 1)
        expected = _row(WS, key, WS_CALLERS)
        expected |= {c: expected[m] for c, m in MIRRORS.items()}
        for caller in [*WS_CALLERS, *MIRRORS]:
            want = expected[caller]
            if want == "-":
                continue
            ws = await _ws(world, caller, kind)
            assert ws is not None
            try:
                if command == "hello":
                    args = {"resume": {}}
                    if kind == "visitor":
                        args["token"] = world.ids.get(f"{caller}_token", "vt_nope")
                    reply = await ws.request("hello", **args)
                else:
                    if caller not in ("anon", "revoked"):
                        args = {"resume": {}}
                        if kind == "visitor":
                            args["token"] = world.ids[f"{caller}_token"]
                        hello = await ws.request("hello", **args)
                        assert hello["t"] == "ack", (key, caller, hello)
                    reply = await ws.request(command, **fields[command])
            finally:
                await ws.close()
            got = "A" if reply["t"] in ("ack", "pong") else _outcome(400, reply)
            if got != want:
                failures.append(f"{key} as {caller}: expected {want}, got {got} ({reply})")
    assert not failures, "\n".join(failures)
