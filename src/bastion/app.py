"""The ASGI app factory: the one place that reads settings and wires objects together."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI

from bastion import __version__
from bastion.adapters.clamd import ClamdScanner
from bastion.bus.memory import MemoryBus
from bastion.bus.presence import RedisPresence
from bastion.bus.redis import RedisBus
from bastion.clock import SystemClock
from bastion.domain.apitokens import ApiTokenService
from bastion.domain.auth import AuthService
from bastion.domain.bans import BanService
from bastion.domain.canned import CannedService
from bastion.domain.conversations import ChatLimits, ChatService
from bastion.domain.departments import DepartmentService
from bastion.domain.email_otp import EmailOtpService
from bastion.domain.files import FileLimits, FileService
from bastion.domain.passkeys import PasskeyService
from bastion.domain.password_reset import PasswordResetService
from bastion.domain.ports import Bus, Clock, FileStore
from bastion.domain.privacy import PrivacyService
from bastion.domain.retention import RetentionService
from bastion.domain.roles import RoleService
from bastion.domain.spam import SpamLimits
from bastion.domain.staff import StaffService
from bastion.domain.transcript import TranscriptService
from bastion.domain.visitors import VisitorService
from bastion.domain.widgets import WidgetService
from bastion.jobs.backups import scheduled_backup
from bastion.jobs.runner import JobRunner
from bastion.mail.smtp import BackgroundMailer, SmtpMailer
from bastion.security.envelope import FileKeyStore
from bastion.security.headers import SecurityHeaders
from bastion.security.passwords import PasswordHasher
from bastion.security.ratelimit import RateLimiter
from bastion.security.webauthn import PyWebAuthn
from bastion.settings import RATE_DEFAULTS, Settings, load_settings
from bastion.storage.db import Database, DatabaseScrubber
from bastion.storage.files import DatabaseFileStore, LocalFileStore
from bastion.storage.jobs import SqlJobLedger
from bastion.storage.ledger import FileErasureLedger, ledger_path
from bastion.storage.uow import SqlUnitOfWorkFactory
from bastion.transport.context import Services
from bastion.transport.rest import (
    access,
    account,
    admin,
    api,
    bans,
    canned,
    errors,
    files,
    health,
    pages,
    passkeys,
    privacy,
    recovery,
    reports,
    transcript,
)
from bastion.transport.rest.bodyguard import BodyGuard
from bastion.transport.rest.throttle import Throttle
from bastion.transport.ws import routes as ws_routes
from bastion.transport.ws.connection import SocketLimits
from bastion.transport.ws.gate import ConnectionGate
from bastion.transport.ws.hub import Hub, LocalPresence, Presence

WEB_DIST = Path(__file__).with_name("web_dist")

log = structlog.get_logger(__name__)


def rate_rules(settings: Settings) -> dict[str, str]:
    """Every shared rate-limit rule, by the name callers hit it with (``rl_`` dropped)."""
    return {name.removeprefix("rl_"): getattr(settings, name) for name in RATE_DEFAULTS}


def file_store(settings: Settings, db: Database, clock: Clock) -> FileStore:
    """Where sealed file bytes go (BASTION_FILE_STORE): the database, which every node of a
    cluster shares, or ``<data dir>/files``.
    """
    if settings.resolved_file_store == "database":
        return DatabaseFileStore(db, clock)
    return LocalFileStore(settings.data_dir / "files")


def build_services(
    settings: Settings, *, clock: Clock | None = None, bus: Bus | None = None, demo: bool = False
) -> Services:
    clock = clock or SystemClock()
    presence: Presence = LocalPresence()
    if bus is None and settings.redis_url:
        # Many processes: events and presence go through Redis so every node sees them.
        bus = RedisBus(settings.redis_url, prefix=settings.redis_prefix)
        presence = RedisPresence(settings.redis_url, prefix=settings.redis_prefix)
    bus = bus or MemoryBus()
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    # Read on first use (serve loads it at start): building an app touches no files.
    keys = FileKeyStore(settings.resolved_kek_file)
    uow = SqlUnitOfWorkFactory(db, bus, keys, store=file_store(settings, db, clock))
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    # Under the deployment's Redis prefix, like the bus: deployments (and test runs)
    # sharing one Redis must never share counters.
    limiter = RateLimiter(
        rate_rules(settings),
        redis_url=settings.redis_url,
        prefix=f"{settings.redis_prefix}rl",
    )
    auth = AuthService(uow, clock, hasher, absolute_s=settings.session_absolute_s)
    mailer = (
        SmtpMailer(settings.smtp_url.reveal(), settings.mail_from, ca_file=settings.smtp_ca_file)
        if settings.mail_enabled
        else None
    )
    background = BackgroundMailer(mailer) if mailer else None
    rp = settings.webauthn_rp
    chat = ChatService(
        uow,
        clock,
        bus,
        limits=ChatLimits(
            message_max_chars=settings.message_max_chars,
            access_after_close_s=settings.agent_access_after_close_s,
            agent_max_chats=settings.agent_max_chats,
            spam=SpamLimits(
                duplicates=settings.spam_duplicates,
                links=settings.spam_links,
                window_s=settings.spam_window_s,
            ),
        ),
    )
    scanner = (
        ClamdScanner(settings.clamd, timeout_s=settings.clamd_timeout_s) if settings.clamd else None
    )
    svc = Services(
        settings=settings,
        db=db,
        bus=bus,
        hub=Hub(bus, presence),
        chat=chat,
        files=FileService(
            uow, clock, chat, scanner, limits=FileLimits(max_bytes=settings.upload_max_bytes)
        ),
        visitors=VisitorService(uow, clock, token_ttl_s=settings.visitor_token_ttl_s),
        staff=StaffService(
            uow,
            clock,
            hasher,
            idle_s=settings.session_idle_s,
            absolute_s=settings.session_absolute_s,
        ),
        auth=auth,
        passkeys=PasskeyService(uow, clock, hasher, auth, PyWebAuthn(rp[0], rp[1]) if rp else None),
        tokens=ApiTokenService(uow, clock),
        departments=DepartmentService(uow, clock),
        privacy=PrivacyService(
            uow,
            clock,
            FileErasureLedger(ledger_path(settings.resolved_kek_file), keys),
            DatabaseScrubber(db),
        ),
        widgets=WidgetService(uow, clock),
        socket_limits=SocketLimits(
            max_frame_bytes=settings.ws_max_frame_bytes,
            max_json_depth=settings.json_max_depth,
            idle_timeout_s=settings.ws_idle_timeout_s,
            queue_size=settings.ws_send_queue,
            frames_per_s=settings.ws_frames_per_s,
            frame_burst=settings.ws_frame_burst,
            max_strikes=settings.ws_max_strikes,
        ),
        # The audit seam: the audit-log issue passes its sink here.
        bans=BanService(uow, clock, bus=bus),
        limiter=limiter,
        gate=ConnectionGate(
            max_total=settings.ws_max_connections, max_per_ip=settings.ws_max_per_ip
        ),
        retention=RetentionService(uow, clock, default_days=settings.retention_days),
        transcripts=TranscriptService(uow),
        jobs=JobRunner(SqlJobLedger(db), clock, poll_s=settings.jobs_poll_s),
        web_dist=WEB_DIST,
        roles=RoleService(uow, clock),
        canned=CannedService(uow, clock),
        # Reset links go out in the background (the answer must not depend on delivery);
        # sign-in codes are sent while the person waits, so a failure can be shown.
        password_reset=PasswordResetService(
            uow,
            clock,
            hasher,
            background,
            limiter,
            ttl_s=settings.password_reset_ttl_s,
            base_url=settings.base_url,
        ),
        email_otp=EmailOtpService(
            uow, clock, hasher, auth, mailer, limiter, ttl_s=settings.email_otp_ttl_s
        ),
        outbox=background,
        demo=demo,
    )
    svc.on_start.append(uow.listen)
    register_jobs(svc, clock)
    return svc


def register_jobs(svc: Services, clock: Clock) -> None:
    """Every periodic job, in one place. Each runs at most once per interval across the
    cluster (jobs/runner.py); a new one is one ``svc.jobs.add(...)`` line here.
    """
    settings = svc.settings
    svc.jobs.add(
        "retention.purge",
        every=timedelta(seconds=settings.retention_every_s),
        run=svc.retention.purge,
        timeout_s=600,
    )
    if settings.idle_close_minutes > 0:
        idle_for = timedelta(minutes=settings.idle_close_minutes)
        svc.jobs.add(
            "conversations.close_idle",
            every=timedelta(minutes=1),
            run=lambda: svc.chat.close_idle(idle_for),
            timeout_s=50,
        )
    if settings.backup_interval_s > 0:
        svc.jobs.add(
            "backup.create",
            every=timedelta(seconds=settings.backup_interval_s),
            run=lambda: scheduled_backup(settings, clock, keep=settings.backup_keep),
            timeout_s=3600,
        )


def create_app(
    settings: Settings, *, clock: Clock | None = None, bus: Bus | None = None, demo: bool = False
) -> FastAPI:
    svc = build_services(settings, clock=clock, bus=bus, demo=demo)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not svc.files.enabled:
            # Fail closed, loudly: without a scanner nobody can share files.
            log.warning("file_sharing_off", reason="BASTION_CLAMD is not set; uploads are refused")
        # Background tasks need the server's loop, so they start here, not in build_services.
        if isinstance(svc.bus, RedisBus):
            await svc.bus.start()
        if isinstance(svc.hub.presence, RedisPresence):
            await svc.hub.presence.start()
        for hook in svc.on_start:
            await hook()
        if settings.jobs_enabled:
            svc.jobs.start()
        try:
            yield
        finally:
            await svc.jobs.stop()
            if isinstance(svc.hub.presence, RedisPresence):
                await svc.hub.presence.close()
            if svc.outbox is not None:
                await svc.outbox.drain()
            await svc.bus.close()
            await svc.limiter.close()
            await svc.db.dispose()

    app = FastAPI(
        title="Bastion",
        version=__version__,
        description="Security-first live chat. WebSocket protocol: docs/protocol.md.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = svc
    app.state.metrics = health.make_metrics(svc)
    app.state.csp_reports = reports.make_counter(app.state.metrics)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(account.router)
    app.include_router(passkeys.router)
    app.include_router(recovery.router)
    app.include_router(admin.router)
    app.include_router(bans.router)
    app.include_router(access.router)
    app.include_router(canned.router)
    app.include_router(privacy.router)
    app.include_router(files.router)
    app.include_router(reports.router)
    app.include_router(transcript.router)
    app.include_router(ws_routes.router)
    app.include_router(pages.apidocs_router())
    if demo:
        app.include_router(pages.demo_router())
    app.include_router(pages.router)
    # Added before SecurityHeaders so that 413/429 answers get the security headers too;
    # the body guard sits inside the throttle, so refused floods never read a body.
    app.add_middleware(
        BodyGuard, max_bytes=settings.http_max_json_bytes, max_depth=settings.json_max_depth
    )
    app.add_middleware(Throttle, limiter=svc.limiter, trusted=settings.trusted_proxies)
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.startswith("https://"))
    # Outermost: the chat sockets skip the HTTP-only layers above (docs/performance.md).
    app.add_middleware(ws_routes.WebSocketEdge)
    return app


def create_app_from_env() -> FastAPI:
    """The factory each ``serve --workers`` process calls: settings from the environment.

    The supervising ``serve`` exports its flags (host, port, demo) before the workers start.
    """
    return create_app(load_settings(), demo=os.environ.get("BASTION_SERVE_DEMO") == "1")
