"""``/api/v1/canned``: canned responses (list scoped by department; manage with
``canned.manage``). Rules in ``domain/canned.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from bastion.domain.canned import BODY_MAX, TITLE_MAX, canned_summary
from bastion.domain.principals import StaffPrincipal
from bastion.transport.context import ip_of, services
from bastion.transport.rest.api import ERRORS, Strict
from bastion.transport.rest.auth import staff_principal

router = APIRouter(prefix="/api/v1", tags=["canned"])

Staff = Annotated[StaffPrincipal, Depends(staff_principal)]
CannedId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class CannedOut(BaseModel):
    id: str
    shortcut: str
    title: str
    body: str
    department: str | None
    author: str | None
    updated_at: str


class CannedIn(Strict):
    shortcut: str = Field(min_length=1, max_length=33)
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX)
    department: str | None = Field(default=None, max_length=40)


@router.get("/canned", response_model=list[CannedOut], responses=ERRORS)
async def list_canned(request: Request, actor: Staff) -> list[dict[str, Any]]:
    """Global responses and those of your departments (all of them with canned.manage)."""
    return [canned_summary(c) for c in await services(request).canned.list_for(actor)]


@router.post("/canned", response_model=CannedOut, status_code=201, responses=ERRORS)
async def create_canned(body: CannedIn, request: Request, actor: Staff) -> dict[str, Any]:
    canned = await services(request).canned.create(
        actor,
        shortcut=body.shortcut,
        title=body.title,
        body=body.body,
        department_id=body.department,
        ip=ip_of(request),
    )
    return canned_summary(canned)


@router.put("/canned/{canned_id}", response_model=CannedOut, responses=ERRORS)
async def update_canned(
    canned_id: CannedId, body: CannedIn, request: Request, actor: Staff
) -> dict[str, Any]:
    canned = await services(request).canned.update(
        actor,
        canned_id,
        shortcut=body.shortcut,
        title=body.title,
        body=body.body,
        department_id=body.department,
        ip=ip_of(request),
    )
    return canned_summary(canned)


@router.delete("/canned/{canned_id}", status_code=204, responses=ERRORS)
async def delete_canned(canned_id: CannedId, request: Request, actor: Staff) -> Response:
    await services(request).canned.delete(actor, canned_id, ip_of(request))
    return Response(status_code=204)
