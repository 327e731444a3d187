"""Access-control administration: ``/api/v1/roles`` (custom roles), ``/api/v1/permissions``,
account locking and department memberships.

Thin: each route calls one domain function; the rules live in ``domain/roles.py`` and
``domain/staff.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from bastion.domain.permissions import Perm, permissions_of
from bastion.domain.principals import StaffPrincipal
from bastion.domain.roles import RoleSummary, role_summary
from bastion.transport.context import ip_of, services
from bastion.transport.rest.api import ERRORS, Strict
from bastion.transport.rest.auth import staff_principal

router = APIRouter(prefix="/api/v1", tags=["roles"])

Staff = Annotated[StaffPrincipal, Depends(staff_principal)]
RoleName = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[a-z][a-z0-9_-]*$")]
UserId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
PermName = Annotated[str, Field(min_length=1, max_length=40)]


class PermissionsOut(BaseModel):
    all: list[str]
    mine: list[str]


@router.get("/permissions", response_model=PermissionsOut, responses=ERRORS)
async def permissions(actor: Staff) -> PermissionsOut:
    """Every permission there is, and the ones you hold (the console shows its admin
    area from these; the server checks each call regardless).
    """
    return PermissionsOut(
        all=[p.value for p in Perm], mine=sorted(p.value for p in permissions_of(actor))
    )


class RoleOut(BaseModel):
    name: str
    builtin: bool
    permissions: list[str]
    users: int = 0


class RoleIn(Strict):
    name: str = Field(min_length=1, max_length=20)
    permissions: list[PermName] = Field(max_length=40)


class RolePermsIn(Strict):
    permissions: list[PermName] = Field(max_length=40)


@router.get("/roles", response_model=list[RoleOut], responses=ERRORS)
async def list_roles(request: Request, actor: Staff) -> list[RoleSummary]:
    """Built-in and custom roles with their permissions and how many users hold each."""
    return [role_summary(r, n) for r, n in await services(request).roles.list_all(actor)]


@router.post("/roles", response_model=RoleOut, status_code=201, responses=ERRORS)
async def create_role(body: RoleIn, request: Request, actor: Staff) -> RoleSummary:
    """A custom role: any subset of the permissions you hold yourself."""
    role = await services(request).roles.create(actor, body.name, body.permissions, ip_of(request))
    return role_summary(role, 0)


@router.put("/roles/{name}", response_model=RoleOut, responses=ERRORS)
async def update_role(
    name: RoleName, body: RolePermsIn, request: Request, actor: Staff
) -> RoleSummary:
    """Replace a custom role's permissions; the sessions of its holders end."""
    role = await services(request).roles.update(actor, name, body.permissions, ip_of(request))
    return role_summary(role)


@router.delete("/roles/{name}", status_code=204, responses=ERRORS)
async def delete_role(name: RoleName, request: Request, actor: Staff) -> Response:
    """Refused with ``role_in_use`` while a user holds the role."""
    await services(request).roles.delete(actor, name, ip_of(request))
    return Response(status_code=204)


class LockIn(Strict):
    disabled: bool


@router.put("/users/{user_id}/disabled", status_code=204, responses=ERRORS)
async def set_user_disabled(
    user_id: UserId, body: LockIn, request: Request, actor: Staff
) -> Response:
    """Lock (true) or unlock an account; locking ends the user's sessions."""
    await services(request).staff.set_disabled(actor, user_id, body.disabled, ip_of(request))
    return Response(status_code=204)


@router.get("/department-members", response_model=dict[str, list[str]], responses=ERRORS)
async def department_members(request: Request, actor: Staff) -> dict[str, list[str]]:
    """User id → the ids of their departments (users without any are left out)."""
    return await services(request).departments.memberships(actor)
