"""``/api/v1/bans``: staff ban visitors, addresses and ranges (cookie + CSRF)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from bastion.domain.events import iso
from bastion.domain.models import Ban
from bastion.domain.principals import StaffPrincipal
from bastion.transport.context import services
from bastion.transport.rest.api import ERRORS, Strict
from bastion.transport.rest.auth import staff_principal

router = APIRouter(prefix="/api/v1", tags=["bans"])

BanId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class BanIn(Strict):
    """Exactly one of ``visitor`` (a visitor id) or ``ip`` (an address or CIDR range)."""

    visitor: str | None = Field(default=None, min_length=1, max_length=40)
    ip: str | None = Field(default=None, min_length=1, max_length=64)
    duration_s: int = Field(ge=60, le=365 * 24 * 3600)
    reason: str = Field(min_length=1, max_length=500)


class BanOut(BaseModel):
    id: str
    kind: str
    target: str
    reason: str
    actor_id: str
    created_at: str
    expires_at: str


def _out(ban: Ban) -> BanOut:
    return BanOut(
        id=ban.id,
        kind=ban.kind.value,
        target=ban.target,
        reason=ban.reason,
        actor_id=ban.actor_id,
        created_at=iso(ban.created_at),
        expires_at=iso(ban.expires_at),
    )


@router.post("/bans", response_model=BanOut, status_code=201, responses=ERRORS)
async def create_ban(
    body: BanIn, request: Request, actor: Annotated[StaffPrincipal, Depends(staff_principal)]
) -> BanOut:
    """Ban a visitor or a network until ``now + duration_s`` (permission ``visitors.ban``)."""
    ban = await services(request).bans.ban(
        actor, visitor=body.visitor, ip=body.ip, duration_s=body.duration_s, reason=body.reason
    )
    return _out(ban)


@router.get("/bans", response_model=list[BanOut], responses=ERRORS)
async def list_bans(
    request: Request, actor: Annotated[StaffPrincipal, Depends(staff_principal)]
) -> list[BanOut]:
    """Bans in force (not expired, not lifted), newest first."""
    return [_out(b) for b in await services(request).bans.list_active(actor)]


@router.delete("/bans/{ban_id}", status_code=204, responses=ERRORS)
async def lift_ban(
    ban_id: BanId, request: Request, actor: Annotated[StaffPrincipal, Depends(staff_principal)]
) -> Response:
    """Lift a ban now (it stays on record with who lifted it and when)."""
    await services(request).bans.lift(actor, ban_id)
    return Response(status_code=204)
