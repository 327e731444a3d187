"""The ASGI app factory: the HTTP and WebSocket routes and middlewares around the services
(``bastion.services`` wires those).
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from bastion import __version__
from bastion.bus.presence import RedisPresence
from bastion.bus.redis import RedisBus
from bastion.domain.ports import Bus, Clock
from bastion.logs import configure_logging
from bastion.security.headers import SecurityHeaders
from bastion.services import build_services
from bastion.settings import Settings, load_settings
from bastion.transport.rest import (
    access,
    account,
    admin,
    agents,
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

__all__ = ["create_app", "create_app_from_env"]

log = structlog.get_logger(__name__)


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
        # What start-up built lives as long as the process: moved out of the cyclic GC's
        # reach, a full collection under load scans only what serving allocates (a
        # 138 ms pause of every socket became 14 ms; docs/performance.md).
        gc.collect()
        gc.freeze()
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
    app.include_router(agents.router)
    app.include_router(privacy.router)
    app.include_router(files.router)
    app.include_router(reports.router)
    app.include_router(transcript.router)
    app.include_router(ws_routes.router)
    app.include_router(pages.apidocs_router())
    if demo:
        app.include_router(pages.demo_router())
    app.include_router(pages.router)
    # Innermost: an unexpected exception is answered here, logged by type only.
    app.add_middleware(errors.LastResort)
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
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings, demo=os.environ.get("BASTION_SERVE_DEMO") == "1")
