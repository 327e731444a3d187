"""Admin routes: staff accounts, security policy, audit log (admins and owners)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from bastion.domain.apitokens import token_summary
from bastion.domain.errors import Forbidden
from bastion.domain.permissions import Perm, allowed
from bastion.domain.principals import StaffPrincipal
from bastion.domain.staff import user_summary
from bastion.domain.widgets import WidgetChange
from bastion.transport.context import ip_of, services
from bastion.transport.rest.api import ERRORS, Strict
from bastion.transport.rest.auth import staff_principal

router = APIRouter(prefix="/api/v1", tags=["admin"])

Staff = Annotated[StaffPrincipal, Depends(staff_principal)]
UserId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: str
    status: str
    totp_enabled: bool
    # TOTP is on but its stored secret does not open: the user must set the app up again.
    totp_unreadable: bool = False
    disabled: bool


@router.get("/users", response_model=list[UserOut], responses=ERRORS)
async def list_users(request: Request, actor: Staff) -> list[UserOut]:
    users = await services(request).staff.list_users(actor)
    return [
        UserOut(
            **user_summary(u),
            totp_enabled=u.totp_enabled,
            totp_unreadable=u.totp_unreadable,
            disabled=u.disabled,
        )
        for u in users
    ]


class UserIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    role: str = Field(min_length=1, max_length=20)  # built-in or custom role name
    name: str | None = Field(default=None, max_length=80)


@router.post("/users", response_model=UserOut, status_code=201, responses=ERRORS)
async def create_user(body: UserIn, request: Request, actor: Staff) -> UserOut:
    user = await services(request).staff.create_user(
        actor, email=body.email, password=body.password, role=body.role, name=body.name
    )
    return UserOut(**user_summary(user), totp_enabled=False, totp_unreadable=False, disabled=False)


class RoleIn(Strict):
    role: str = Field(min_length=1, max_length=20)  # built-in or custom role name


@router.put("/users/{user_id}/role", status_code=204, responses=ERRORS)
async def set_role(user_id: UserId, body: RoleIn, request: Request, actor: Staff) -> Response:
    """Change a role; the user's sessions end (a privilege change needs a new login)."""
    await services(request).staff.set_role(actor, user_id, body.role, ip_of(request))
    return Response(status_code=204)


@router.post("/users/{user_id}/sessions/end", status_code=204, responses=ERRORS)
async def end_user_sessions(user_id: UserId, request: Request, actor: Staff) -> Response:
    """Log a user out everywhere."""
    await services(request).auth.end_user_sessions(actor, user_id, ip_of(request))
    return Response(status_code=204)


class PolicyOut(BaseModel):
    require_2fa_roles: list[str]
    ip_allowlist: list[str]
    allow_email_otp: bool = True


class PolicyIn(Strict):
    require_2fa_roles: list[Annotated[str, Field(max_length=20)]] | None = Field(
        default=None, max_length=50
    )
    ip_allowlist: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=200
    )
    # Off: e-mailed codes are neither sent nor accepted (authenticator apps only).
    allow_email_otp: bool | None = None


def _check_admin(actor: StaffPrincipal) -> None:
    if not allowed(actor, Perm.USERS_MANAGE):
        raise Forbidden("your role cannot see security settings")


@router.get("/security/policy", response_model=PolicyOut, responses=ERRORS)
async def get_policy(request: Request, actor: Staff) -> dict[str, Any]:
    _check_admin(actor)
    return await services(request).auth.policy()


@router.put("/security/policy", response_model=PolicyOut, responses=ERRORS)
async def put_policy(body: PolicyIn, request: Request, actor: Staff) -> dict[str, Any]:
    """Roles that must use two-step login, and the staff IP allow-list (CIDR ranges;
    empty = anywhere). A list that would exclude your own address is refused. All or
    nothing: a refused field leaves every field as it was.
    """
    return await services(request).auth.set_policy(
        actor,
        ip_of(request),
        require_2fa_roles=body.require_2fa_roles,
        ip_allowlist=body.ip_allowlist,
        allow_email_otp=body.allow_email_otp,
    )


class AuditOut(BaseModel):
    at: str
    action: str
    actor: str | None
    target: str | None
    # The staff member an actor or target id names (null for visitors, the CLI, unknown ids).
    actor_name: str | None
    target_name: str | None
    ip: str | None
    details: dict[str, Any]
    # Its place in the tamper-evident chain (null on entries from before the chain).
    seq: int | None = None


class ChainHead(BaseModel):
    seq: int
    mac: str


class ChainOut(BaseModel):
    ok: bool
    entries: int
    # Entries written before the chain existed, not covered by it.
    unchained: int
    head: ChainHead
    # The first problems, by entry number, never an entry's content.
    problems: list[str]


@router.get("/audit/verify", response_model=ChainOut, responses=ERRORS)
async def audit_verify(request: Request, actor: Staff) -> ChainOut:
    """Check the audit log's hash chain: every entry against its MAC and the one before,
    and the last against the head (``bastion audit verify`` does the same).
    """
    return ChainOut.model_validate(await services(request).auth.verify_audit(actor))


@router.get("/audit", response_model=list[AuditOut], responses=ERRORS)
async def audit_log(
    request: Request,
    actor: Staff,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[str | None, Query(max_length=60, pattern=r"^[a-z0-9_.]*$")] = None,
) -> list[AuditOut]:
    """Recent security events, newest first."""
    auth = services(request).auth
    entries = await auth.audit(actor, limit, action)
    names = await auth.staff_names(actor, {i for e in entries for i in (e.actor, e.target) if i})
    return [
        AuditOut(
            at=e.at.isoformat(),
            action=e.action,
            actor=e.actor,
            target=e.target,
            actor_name=names.get(e.actor or ""),
            target_name=names.get(e.target or ""),
            ip=e.ip,
            details=e.details,
            seq=e.seq,
        )
        for e in entries
    ]


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=80)
    scopes: list[Annotated[str, Field(max_length=40)]] = Field(min_length=1, max_length=20)
    days: int = Field(ge=1, le=365)


class TokenOut(BaseModel):
    id: str
    name: str
    user_id: str
    scopes: list[str]
    created_at: str
    expires_at: str
    last_used_at: str | None
    revoked: bool


class TokenCreatedOut(TokenOut):
    token: str


@router.post("/tokens", response_model=TokenCreatedOut, status_code=201, responses=ERRORS)
async def create_token(body: TokenIn, request: Request, actor: Staff) -> dict[str, Any]:
    """An API token for an integration, shown only in this response. Use it as
    ``Authorization: Bearer bt_…``; it acts for you, limited to ``scopes``.
    """
    secret, record = await services(request).tokens.create(
        actor, body.name, body.scopes, body.days, ip_of(request)
    )
    return {**token_summary(record), "token": secret}


@router.get("/tokens", response_model=list[TokenOut], responses=ERRORS)
async def list_tokens(request: Request, actor: Staff) -> list[dict[str, Any]]:
    return [token_summary(t) for t in await services(request).tokens.list_all(actor)]


@router.delete("/tokens/{token_id}", status_code=204, responses=ERRORS)
async def revoke_token(token_id: UserId, request: Request, actor: Staff) -> Response:
    await services(request).tokens.revoke(actor, token_id, ip_of(request))
    return Response(status_code=204)


class DepartmentOut(BaseModel):
    id: str
    name: str
    # Days closed chats are kept; null: the deployment's default; 0: forever.
    retention_days: int | None = None


class DepartmentIn(Strict):
    name: str = Field(min_length=1, max_length=80)


@router.get("/departments", response_model=list[DepartmentOut], responses=ERRORS)
async def list_departments(request: Request, actor: Staff) -> list[DepartmentOut]:
    deps = await services(request).departments.list_all(actor)
    return [DepartmentOut(id=d.id, name=d.name, retention_days=d.retention_days) for d in deps]


@router.post("/departments", response_model=DepartmentOut, status_code=201, responses=ERRORS)
async def create_department(body: DepartmentIn, request: Request, actor: Staff) -> DepartmentOut:
    dep = await services(request).departments.create(actor, body.name)
    return DepartmentOut(id=dep.id, name=dep.name)


class RetentionIn(Strict):
    days: int | None = Field(ge=0, le=36500)


@router.put(
    "/departments/{department_id}/retention", response_model=DepartmentOut, responses=ERRORS
)
async def set_department_retention(
    department_id: UserId, body: RetentionIn, request: Request, actor: Staff
) -> DepartmentOut:
    """Delete the department's conversations ``days`` days after they close (0: keep
    them; null: follow ``BASTION_RETENTION_DAYS``). Purges are audited by count.
    """
    dep = await services(request).departments.set_retention(actor, department_id, body.days)
    return DepartmentOut(id=dep.id, name=dep.name, retention_days=dep.retention_days)


class RetentionOut(BaseModel):
    # Days closed chats are kept where a department sets none (0: forever).
    default_days: int


@router.get("/retention", response_model=RetentionOut, responses=ERRORS)
async def retention_default(request: Request, actor: Staff) -> RetentionOut:
    """The deployment's retention (``BASTION_RETENTION_DAYS``), which departments follow
    unless they set their own.
    """
    return RetentionOut(default_days=services(request).retention.default_days(actor))


class UserDepartmentsIn(Strict):
    departments: list[Annotated[str, Field(max_length=40)]] = Field(max_length=50)


@router.put("/users/{user_id}/departments", response_model=list[str], responses=ERRORS)
async def set_user_departments(
    user_id: UserId, body: UserDepartmentsIn, request: Request, actor: Staff
) -> list[str]:
    """An agent sees the waiting chats and visitors of these departments only."""
    return await services(request).departments.set_user_departments(
        actor, user_id, body.departments
    )


class WidgetDepartmentIn(Strict):
    department: str | None = Field(default=None, max_length=40)


@router.put("/widgets/{widget_id}/department", status_code=204, responses=ERRORS)
async def set_widget_department(
    widget_id: UserId, body: WidgetDepartmentIn, request: Request, actor: Staff
) -> Response:
    """New chats from this widget belong to the department (null: visible to all agents).
    The same change as ``PATCH /widgets/{id}`` with ``department_id``.
    """
    change = WidgetChange(department_id=body.department)
    await services(request).widgets.update(actor, widget_id, change)
    return Response(status_code=204)
