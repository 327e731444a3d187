"""The two WebSocket endpoints. The handshake checks Origin before accepting."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from bastion.transport.context import SESSION_COOKIE, ip_of, services
from bastion.transport.origin import origin_is_own
from bastion.transport.ws import codec
from bastion.transport.ws.connection import ClientSocket
from bastion.transport.ws.handlers import agent_handlers, release_agent, visitor_handlers

router = APIRouter()


@router.websocket("/ws/visitor")
async def visitor_socket(ws: WebSocket) -> None:
    svc = services(ws)
    # The widget UI runs in Bastion's own frame, so its Origin is Bastion's origin.
    if not origin_is_own(ws, svc.settings):
        await ws.close(code=1008)
        return
    await ws.accept()
    sock = ClientSocket(
        ws,
        chat=svc.chat,
        hub=svc.hub,
        limits=svc.socket_limits,
        registry=codec.VISITOR_FRAMES,
        handlers=visitor_handlers(svc.visitors),
    )
    await sock.run()


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    svc = services(ws)
    if not origin_is_own(ws, svc.settings):
        await ws.close(code=1008)
        return
    await ws.accept()
    sock = ClientSocket(
        ws,
        chat=svc.chat,
        hub=svc.hub,
        limits=svc.socket_limits,
        registry=codec.AGENT_FRAMES,
        handlers=agent_handlers(svc.staff, svc.departments),
        on_close=release_agent,
    )
    # The cookie authenticates; the hello frame (checked in the handler) starts the session.
    sock.extra["session_token"] = ws.cookies.get(SESSION_COOKIE)
    sock.extra["ip"] = ip_of(ws)
    await sock.run()
