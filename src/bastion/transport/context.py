"""The wired objects a transport needs, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import HTTPConnection

from bastion.domain.apitokens import ApiTokenService
from bastion.domain.auth import AuthService
from bastion.domain.conversations import ChatService
from bastion.domain.departments import DepartmentService
from bastion.domain.ports import Bus
from bastion.domain.staff import StaffService
from bastion.domain.visitors import VisitorService
from bastion.domain.widgets import WidgetService
from bastion.settings import Settings
from bastion.storage.db import Database
from bastion.transport.clientip import Network, client_ip
from bastion.transport.ws.connection import SocketLimits
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
    auth: AuthService
    tokens: ApiTokenService
    departments: DepartmentService
    widgets: WidgetService
    socket_limits: SocketLimits
    web_dist: Path
    trusted_proxies: list[Network]
    demo: bool = False


def services(conn: HTTPConnection) -> Services:
    svc = conn.app.state.services
    assert isinstance(svc, Services)
    return svc


def ip_of(conn: HTTPConnection) -> str | None:
    """The client address of a request or socket (trusted proxies honoured)."""
    return client_ip(conn, services(conn).trusted_proxies)


SESSION_COOKIE = "bastion_session"
