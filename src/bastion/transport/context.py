"""The wired objects a transport needs, built once by the app factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import HTTPConnection

from bastion.domain.apitokens import ApiTokenService
from bastion.domain.auth import AuthService
from bastion.domain.bans import BanService
from bastion.domain.canned import CannedService
from bastion.domain.conversations import ChatService
from bastion.domain.departments import DepartmentService
from bastion.domain.email_otp import EmailOtpService
from bastion.domain.files import FileService
from bastion.domain.passkeys import PasskeyService
from bastion.domain.password_reset import PasswordResetService
from bastion.domain.ports import Bus
from bastion.domain.privacy import PrivacyService
from bastion.domain.retention import RetentionService
from bastion.domain.roles import RoleService
from bastion.domain.staff import StaffService
from bastion.domain.transcript import TranscriptService
from bastion.domain.visitors import VisitorService
from bastion.domain.widgets import WidgetService
from bastion.jobs.runner import JobRunner
from bastion.mail.smtp import BackgroundMailer
from bastion.security.ratelimit import RateLimiter
from bastion.settings import Settings
from bastion.storage.db import Database
from bastion.transport.client_ip import scope_client_ip
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
    files: FileService
    visitors: VisitorService
    staff: StaffService
    auth: AuthService
    passkeys: PasskeyService
    tokens: ApiTokenService
    departments: DepartmentService
    privacy: PrivacyService
    widgets: WidgetService
    socket_limits: SocketLimits
    bans: BanService
    limiter: RateLimiter
    gate: ConnectionGate
    retention: RetentionService
    transcripts: TranscriptService
    jobs: JobRunner
    web_dist: Path
    roles: RoleService
    canned: CannedService
    password_reset: PasswordResetService
    email_otp: EmailOtpService
    outbox: BackgroundMailer | None  # reset mails being delivered (drained at shutdown)
    # Run by the server once the bus is started (before the first request).
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    demo: bool = False


def services(conn: HTTPConnection) -> Services:
    svc = conn.app.state.services
    assert isinstance(svc, Services)
    return svc


def ip_of(conn: HTTPConnection) -> str:
    """The client address of a request or socket (trusted proxies honoured)."""
    return scope_client_ip(conn.scope, services(conn).settings.trusted_proxies)


SESSION_COOKIE = "bastion_session"
