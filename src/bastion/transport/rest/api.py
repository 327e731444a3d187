"""``/api/v1``: widget sessions, staff login, conversations and catch-up."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bastion.domain.errors import Forbidden
from bastion.domain.events import iso
from bastion.domain.models import ConvState
from bastion.domain.principals import Principal, StaffPrincipal
from bastion.domain.staff import user_summary
from bastion.domain.widgets import public_config
from bastion.security.tokens import csrf_for
from bastion.transport.client_ip import scope_client_ip
from bastion.transport.context import SESSION_COOKIE, services
from bastion.transport.rest.auth import any_principal, staff_principal

router = APIRouter(prefix="/api/v1")

WidgetId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
ConversationId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class ErrorOut(BaseModel):
    code: str
    message: str
    field: str | None = None
    retry_after: int | None = None  # seconds, on 429


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
    429: {"model": ErrorOut},
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- widgets ----------------------------------------------------------------------------


class PrechatField(BaseModel):
    name: str
    label: str
    type: str
    required: bool


class ConsentConfig(BaseModel):
    required: bool
    version: str
    text: str
    privacy_url: str


class WidgetConfigOut(BaseModel):
    id: str
    name: str
    color: str
    greeting: str
    language: str
    prechat_fields: list[PrechatField]
    consent: ConsentConfig
    online: bool


@router.get(
    "/widgets/{widget_id}/config", response_model=WidgetConfigOut, responses=ERRORS, tags=["widget"]
)
async def widget_config(widget_id: WidgetId, request: Request) -> Response:
    """Public widget configuration (the only cross-origin readable endpoint)."""
    svc = services(request)
    widget = await svc.widgets.get(widget_id)
    body = WidgetConfigOut.model_validate(
        public_config(widget, online=svc.hub.any_agent_available())
    )
    return Response(
        body.model_dump_json(),
        media_type="application/json",
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
    )


class SessionIn(Strict):
    page_url: str = Field(min_length=1, max_length=2048)
    resume_token: str | None = Field(default=None, max_length=200)


class SessionOut(BaseModel):
    token: str
    visitor: str
    expires_at: str


@router.post(
    "/widgets/{widget_id}/sessions",
    response_model=SessionOut,
    status_code=201,
    responses=ERRORS,
    tags=["widget"],
)
async def create_visitor_session(
    widget_id: WidgetId, body: SessionIn, request: Request
) -> SessionOut:
    """A visitor token bound to this widget; with ``resume_token``, the same visitor."""
    svc = services(request)
    ip = scope_client_ip(request.scope, svc.settings.trusted_proxies)
    await svc.bans.check_allowed(ip=ip)
    issued = await svc.visitors.create_session(widget_id, body.page_url, body.resume_token)
    # A banned visitor resuming gets the same neutral answer; the token is never handed out.
    await svc.bans.check_allowed(visitor_id=issued.visitor_id, ip=ip)
    return SessionOut(
        token=issued.token, visitor=issued.visitor_id, expires_at=iso(issued.expires_at)
    )


class WidgetOut(BaseModel):
    id: str
    name: str
    allowed_origins: list[str]


class WidgetPatch(Strict):
    allowed_origins: list[Annotated[str, Field(max_length=300)]] = Field(max_length=100)


@router.get("/widgets", response_model=list[WidgetOut], responses=ERRORS, tags=["admin"])
async def list_widgets(
    request: Request, actor: Annotated[StaffPrincipal, Depends(staff_principal)]
) -> list[WidgetOut]:
    widgets = await services(request).widgets.list_all(actor)
    return [
        WidgetOut(id=w.id, name=w.name, allowed_origins=list(w.allowed_origins)) for w in widgets
    ]


@router.patch("/widgets/{widget_id}", response_model=WidgetOut, responses=ERRORS, tags=["admin"])
async def update_widget(
    widget_id: WidgetId,
    body: WidgetPatch,
    request: Request,
    actor: Annotated[StaffPrincipal, Depends(staff_principal)],
) -> WidgetOut:
    w = await services(request).widgets.set_allowed_origins(actor, widget_id, body.allowed_origins)
    return WidgetOut(id=w.id, name=w.name, allowed_origins=list(w.allowed_origins))


# ---- staff authentication ---------------------------------------------------------------


class LoginIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(default=None, max_length=20)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: str
    status: str


class LoginOut(BaseModel):
    csrf_token: str
    user: UserOut


def _client_ip(request: Request) -> str | None:
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def _cookie_secure(request: Request) -> bool:
    # Secure everywhere except plain-http loopback development, where browsers would
    # otherwise drop the cookie.
    if request.url.scheme == "https":
        return True
    host = (request.url.hostname or "").lower()
    return host not in ("127.0.0.1", "localhost", "::1")


@router.post("/auth/login", response_model=LoginOut, responses=ERRORS, tags=["auth"])
async def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    """Sets an HttpOnly, SameSite=Strict session cookie; returns the CSRF token."""
    svc = services(request)
    result = await svc.staff.login(
        body.email,
        body.password,
        ip=_client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        max_age=svc.settings.session_absolute_s,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
        path="/",
    )
    return LoginOut(
        csrf_token=csrf_for(result.session_token),
        user=UserOut.model_validate(user_summary(result.user)),
    )


@router.post("/auth/logout", status_code=204, responses=ERRORS, tags=["auth"])
async def logout(
    request: Request,
    response: Response,
    _actor: Annotated[StaffPrincipal, Depends(staff_principal)],
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    assert token is not None
    await services(request).staff.logout(token)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return out


class MeOut(BaseModel):
    csrf_token: str
    user: UserOut


@router.get("/auth/me", response_model=MeOut, responses=ERRORS, tags=["auth"])
async def me(request: Request) -> MeOut:
    token = request.cookies.get(SESSION_COOKIE)
    _principal, user = await services(request).staff.authenticate(token)
    assert token is not None
    return MeOut(csrf_token=csrf_for(token), user=UserOut.model_validate(user_summary(user)))


# ---- conversations ----------------------------------------------------------------------


class AgentRef(BaseModel):
    id: str | None = None
    name: str | None


class VisitorRef(BaseModel):
    id: str
    name: str | None
    email: str | None
    verified: bool


class ConversationOut(BaseModel):
    id: str
    state: str
    last_seq: int
    created_at: str
    agent: AgentRef | None
    visitor: VisitorRef | None = None
    preview: str | None = None


@router.get(
    "/conversations", response_model=list[ConversationOut], responses=ERRORS, tags=["conversations"]
)
async def list_conversations(
    request: Request,
    actor: Annotated[StaffPrincipal, Depends(staff_principal)],
    state: Annotated[ConvState | None, Query()] = None,
) -> list[dict[str, Any]]:
    return await services(request).chat.summaries_for_staff(actor, state)


class EventsOut(BaseModel):
    events: list[dict[str, Any]]
    last_seq: int


@router.get(
    "/conversations/{conversation_id}/events",
    response_model=EventsOut,
    responses=ERRORS,
    tags=["conversations"],
)
async def conversation_events(
    conversation_id: ConversationId,
    request: Request,
    actor: Annotated[Principal, Depends(any_principal)],
    after: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> EventsOut:
    """Events after ``after`` that the caller may see: the catch-up path of the protocol."""
    events, last = await services(request).chat.events_after(actor, conversation_id, after, limit)
    return EventsOut(events=events, last_seq=last)


__all__ = ["Forbidden", "router"]
