"""The wired services: the domain, storage, bus and limits one process runs on.

Built without the HTTP application, so the command line (``bastion user create``, …)
starts without building every route (about a second of CPU per command).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

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
from bastion.security.passwords import PasswordHasher
from bastion.security.ratelimit import RateLimiter
from bastion.security.webauthn import PyWebAuthn
from bastion.settings import RATE_DEFAULTS, Settings
from bastion.storage.auditchain import head as audit_head
from bastion.storage.db import Database, DatabaseScrubber
from bastion.storage.files import DatabaseFileStore, LocalFileStore
from bastion.storage.jobs import SqlJobLedger
from bastion.storage.ledger import FileErasureLedger, ledger_path
from bastion.storage.uow import SqlUnitOfWorkFactory
from bastion.transport.context import Services
from bastion.transport.ws.connection import SocketLimits
from bastion.transport.ws.gate import ConnectionGate
from bastion.transport.ws.hub import Hub, LocalPresence, Presence

WEB_DIST = Path(__file__).with_name("web_dist")


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
    store = file_store(settings, db, clock)
    uow = SqlUnitOfWorkFactory(db, bus, keys, store=store)
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
    auth = AuthService(
        uow, clock, hasher, absolute_s=settings.session_absolute_s, mail=settings.mail_enabled
    )
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
            uow,
            clock,
            chat,
            scanner,
            limits=FileLimits(max_bytes=settings.upload_max_bytes),
            store=store,
        ),
        visitors=VisitorService(uow, clock, token_ttl_s=settings.visitor_token_ttl_s),
        staff=StaffService(
            uow,
            clock,
            hasher,
            idle_s=settings.session_idle_s,
            absolute_s=settings.session_absolute_s,
            release_chats=chat.release_unheld,
        ),
        auth=auth,
        passkeys=PasskeyService(uow, clock, auth, PyWebAuthn(rp[0], rp[1]) if rp else None),
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
            session_recheck_s=settings.ws_session_recheck_s,
            queue_size=settings.ws_send_queue,
            frames_per_s=settings.ws_frames_per_s,
            frame_burst=settings.ws_frame_burst,
            max_strikes=settings.ws_max_strikes,
        ),
        # The audit seam: the audit-log issue passes its sink here.
        bans=BanService(
            uow,
            clock,
            bus=bus,
            close_chats=lambda visitor: chat.close_for_visitor(visitor, reason="banned"),
            sees_visitor=chat.may_see_visitor,
        ),
        limiter=limiter,
        gate=ConnectionGate(
            max_total=settings.ws_max_connections, max_per_ip=settings.ws_max_per_ip
        ),
        retention=RetentionService(uow, clock, default_days=settings.retention_days),
        transcripts=TranscriptService(uow),
        jobs=JobRunner(SqlJobLedger(db), clock, poll_s=settings.jobs_poll_s),
        web_dist=WEB_DIST,
        roles=RoleService(uow, clock, release_chats=chat.release_unheld),
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
    # The backstop of release_unheld: chats of agents locked or stripped of chat.handle
    # by a process that stopped before it requeued them.
    svc.jobs.add(
        "conversations.release_unheld",
        every=timedelta(minutes=1),
        run=svc.chat.release_unheld,
        timeout_s=50,
    )
    # The audit chain's head into the log (job_done seq=… mac=…), away from the database.
    svc.jobs.add(
        "audit.checkpoint",
        every=timedelta(hours=1),
        run=lambda: audit_head(svc.db),
        timeout_s=60,
    )
    svc.jobs.add(
        "files.sweep_orphans",
        every=timedelta(hours=1),
        run=svc.files.sweep_orphans,
        timeout_s=600,
    )
    if settings.backup_interval_s > 0:
        svc.jobs.add(
            "backup.create",
            every=timedelta(seconds=settings.backup_interval_s),
            run=lambda: scheduled_backup(settings, clock, keep=settings.backup_keep),
            timeout_s=3600,
        )
