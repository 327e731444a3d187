"""The two WebSocket endpoints. The handshake checks Origin and the connection caps
before accepting.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from starlette.routing import websocket_session
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.security.ratelimit import rate_limited_body
from bastion.transport.context import SESSION_COOKIE, Services, ip_of, services
from bastion.transport.origin import origin_is_own
from bastion.transport.ws import codec
from bastion.transport.ws.connection import ClientSocket, Handler
from bastion.transport.ws.handlers import agent_handlers, release_agent, visitor_handlers

router = APIRouter()

# Each socket used to build its own table of handler closures (~1.6 KiB per idle socket);
# the table depends only on the services, so one per process is shared.
# (Services is an unhashable dataclass: keyed by id, checked against a weak reference.)
_Tables = tuple[dict[str, Handler], dict[str, Handler]]
_tables: dict[int, tuple[weakref.ref[Services], _Tables]] = {}


def _handlers(svc: Services) -> _Tables:
    held = _tables.get(id(svc))
    if held is not None and held[0]() is svc:
        return held[1]
    tables = (
        visitor_handlers(svc.visitors, svc.bans),
        agent_handlers(svc.staff, svc.departments, svc.bans, svc.visitors),
    )
    key = id(svc)
    _tables[key] = (weakref.ref(svc, lambda _ref: _tables.pop(key, None)), tables)
    return tables


async def _refuse(ws: WebSocket, status: int, body: Mapping[str, object], retry_after: int) -> None:
    """Refuse the handshake with an HTTP answer (429/503 + Retry-After) where the server
    supports the denial-response extension; otherwise the client sees a plain 403.
    """
    response = JSONResponse(body, status_code=status, headers={"Retry-After": str(retry_after)})
    try:
        await ws.send_denial_response(response)
    except RuntimeError:
        with contextlib.suppress(RuntimeError):
            await ws.close(code=1013)


async def _admit(ws: WebSocket, svc: Services) -> str | None:
    """The client IP when the handshake may go on (a slot is then held), else None."""
    if not origin_is_own(ws, svc.settings):
        await ws.close(code=1008)
        return None
    ip = ip_of(ws)
    verdict = await svc.limiter.hit("ws_connects", ip)
    if not verdict.allowed:
        await _refuse(ws, 429, rate_limited_body(verdict.retry_after), verdict.retry_after)
        return None
    refused = svc.gate.admit(ip)
    if refused is not None:
        status = 503 if refused == "total" else 429
        body = {"code": "too_many_connections", "message": "Too many open connections."}
        await _refuse(ws, status, body, 30)
        return None
    return ip


async def visitor_socket(ws: WebSocket) -> None:
    svc = services(ws)
    # The widget UI runs in Bastion's own frame, so its Origin is Bastion's origin.
    ip = await _admit(ws, svc)
    if ip is None:
        return
    try:
        await ws.accept()
        sock = ClientSocket(
            ws,
            chat=svc.chat,
            hub=svc.hub,
            limits=svc.socket_limits,
            registry=codec.VISITOR_FRAMES,
            handlers=_handlers(svc)[0],
            limiter=svc.limiter,
            ip=ip,
        )
        await sock.run()
    finally:
        svc.gate.release(ip)


async def agent_socket(ws: WebSocket) -> None:
    svc = services(ws)
    ip = await _admit(ws, svc)
    if ip is None:
        return
    try:
        await ws.accept()
        sock = ClientSocket(
            ws,
            chat=svc.chat,
            hub=svc.hub,
            limits=svc.socket_limits,
            registry=codec.AGENT_FRAMES,
            handlers=_handlers(svc)[1],
            on_close=release_agent,
            limiter=svc.limiter,
            ip=ip,
        )
        # The cookie authenticates; the hello frame (checked in the handler) starts the session.
        sock.extra["session_token"] = ws.cookies.get(SESSION_COOKIE)
        sock.extra["ip"] = ip
        await sock.run()
    finally:
        svc.gate.release(ip)


# Plain Starlette routes, not FastAPI's ``@router.websocket``: these endpoints take no
# dependencies, and FastAPI's wrapper keeps two AsyncExitStacks (~1.5 KiB) alive for each
# open socket (docs/performance.md, idle sockets).
router.add_websocket_route("/ws/visitor", visitor_socket)
router.add_websocket_route("/ws/agent", agent_socket)


class WebSocketEdge:
    """Hands the two chat sockets straight to their endpoints, past the HTTP middlewares.

    Every middleware between the server and an endpoint keeps a coroutine frame alive for
    as long as the socket is open, and is resumed on every frame the socket receives. For
    ``websocket`` scopes the security headers, the HTTP throttle and the body guard do
    nothing (the endpoints check Origin, connection rates and caps themselves), and the
    router has nothing to choose; so the outermost middleware sends these two paths to
    their endpoints directly, with ``scope["app"]`` already set by the application.
    Everything else passes through unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[str, ASGIApp] = {
            "/ws/visitor": websocket_session(visitor_socket),
            "/ws/agent": websocket_session(agent_socket),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            endpoint = self._routes.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)
