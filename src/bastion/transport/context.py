"""The wired objects a transport needs, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import HTTPConnection

from bastion.domain.bans import BanService
from bastion.domain.conversations import ChatService
from bastion.domain.ports import Bus
from bastion.domain.staff import StaffService
from bastion.domain.visitors import VisitorService
from bastion.domain.widgets import WidgetService
from bastion.security.ratelimit import RateLimiter
from bastion.settings import Settings
from bastion.storage.db import Database
from bastion.transport.ws.connection import SocketLimits
from bastion.transport.ws.gate import ConnectionGate
from bastion.transport.ws.hub import Hub


@dataclass
class Services:
    settings: Settings
    db: Database
    bus: Bus
    hub: Hub
    chat: ChatService
    visitors: VisitorService
    staff: StaffService
    widgets: WidgetService
    socket_limits: SocketLimits
    bans: BanService
    limiter: RateLimiter
    gate: ConnectionGate
    web_dist: Path
    demo: bool = False


def services(conn: HTTPConnection) -> Services:
    svc = conn.app.state.services
    assert isinstance(svc, Services)
    return svc


SESSION_COOKIE = "bastion_session"
