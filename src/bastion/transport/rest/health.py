"""Health, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bastion.transport.context import services

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    """The database and the bus are reachable."""
    svc = services(request)
    checks = {"database": await svc.db.ping(), "bus": await svc.bus.ping()}
    ok = all(checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


def make_metrics(request_services: object) -> CollectorRegistry:
    registry = CollectorRegistry()
    channels = Gauge("bastion_bus_channels", "Bus channels this node follows", registry=registry)
    svc = request_services
    channels.set_function(lambda: float(svc.hub.channel_count))  # type: ignore[attr-defined]  # Services
    return registry


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
