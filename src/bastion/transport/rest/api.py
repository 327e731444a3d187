"""``/api/v1``: widget sessions, staff login, conversations and catch-up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bastion.domain.events import iso
from bastion.domain.models import ConvState, Widget
from bastion.domain.principals import Principal, StaffPrincipal
from bastion.domain.visitors import IdentityInput
from bastion.domain.widgets import KEEP, WidgetChange, admin_config, embed_snippet, public_config
from bastion.transport.context import ip_of, services
from bastion.transport.jsonlimits import NulFree
from bastion.transport.origin import request_origin
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


class Strict(NulFree):
    """A request body: no key it does not name, no NUL character in any text."""

    model_config = ConfigDict(extra="forbid")


# ---- widgets ----------------------------------------------------------------------------


# A text that is null is not set: the widget shows its own default for it, in the language
# it speaks to the visitor. A string is an admin's text, shown as written.
DefaultText = Annotated[
    str | None,
    Field(description="null: the widget's default text, in the visitor's language"),
]


class PrechatField(BaseModel):
    name: str
    label: DefaultText
    type: str
    required: bool


class ConsentConfig(BaseModel):
    required: bool
    # Recorded with each chat's consent, whether the text is the admin's or the default.
    version: str
    text: DefaultText
    privacy_url: str


class FilesConfig(BaseModel):
    max_bytes: int
    types: list[str]


class WidgetConfigOut(BaseModel):
    id: str
    name: str
    color: str
    greeting: DefaultText
    language: str
    prechat_fields: list[PrechatField]
    consent: ConsentConfig
    online: bool
    # Null while file sharing is off (no malware scanner configured): no attach button.
    files: FilesConfig | None = None
    # The longest message the server takes (BASTION_MESSAGE_MAX_CHARS, in characters):
    # the widget shows the limit instead of cutting text off.
    message_max_chars: int


@router.get(
    "/widgets/{widget_id}/config", response_model=WidgetConfigOut, responses=ERRORS, tags=["widget"]
)
async def widget_config(widget_id: WidgetId, request: Request) -> Response:
    """Public widget configuration (the only cross-origin readable endpoint)."""
    svc = services(request)
    widget = await svc.widgets.get(widget_id)
    files = (
        {"max_bytes": svc.files.limits.max_bytes, "types": svc.files.allowed_types()}
        if svc.files.enabled
        else None
    )
    body = WidgetConfigOut.model_validate(
        {
            **public_config(widget, online=svc.hub.any_agent_available()),
            "files": files,
            "message_max_chars": svc.settings.message_max_chars,
        }
    )
    return Response(
        body.model_dump_json(),
        media_type="application/json",
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
    )


class SessionIn(Strict):
    page_url: str = Field(min_length=1, max_length=2048)
    resume_token: str | None = Field(default=None, max_length=200)
    user_id: str | None = Field(default=None, max_length=200)
    user_hash: str | None = Field(default=None, max_length=200)
    identity_jwt: str | None = Field(default=None, max_length=4096)


class SessionOut(BaseModel):
    token: str
    visitor: str
    expires_at: str
    verified: bool


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
    """A visitor token bound to this widget; with ``resume_token``, the same visitor.

    A site that knows its user adds ``user_id`` + ``user_hash``
    (``"<unix issue time>.<hex HMAC-SHA256(secret, user_id:issue time)>"``, valid five
    minutes) or ``identity_jwt`` (signed with a key configured for the widget; ``aud`` =
    widget id, short ``exp``, unique ``jti``). Agents then see the visitor as verified.
    """
    svc = services(request)
    ip = ip_of(request)
    await svc.bans.check_allowed(ip=ip)
    identity = IdentityInput(
        user_id=body.user_id, user_hash=body.user_hash, identity_jwt=body.identity_jwt
    )
    issued = await svc.visitors.create_session(
        widget_id, body.page_url, body.resume_token, identity
    )
    # A banned visitor resuming gets the same neutral answer; the token is never handed out.
    await svc.bans.check_allowed(visitor_id=issued.visitor_id, ip=ip)
    return SessionOut(
        token=issued.token,
        visitor=issued.visitor_id,
        expires_at=iso(issued.expires_at),
        verified=issued.verified,
    )


class RedactionRule(Strict):
    name: str = Field(max_length=200)
    regex: str = Field(max_length=2000)


class IdentityConfig(Strict):
    mode: str = Field(max_length=20)  # "optional" or "strict"


class WidgetOut(BaseModel):
    """What an admin may see of a widget: its settings, never its identity keys."""

    id: str
    name: str
    allowed_origins: list[str]
    # The embed code for the widget's sites (README "Embedding the widget").
    snippet: str
    color: str
    greeting: DefaultText
    language: str
    prechat_fields: list[PrechatField]
    consent: ConsentConfig
    redaction_patterns: list[str | RedactionRule]
    identity: IdentityConfig
    # New chats from this widget queue for this department; null: for every agent.
    department_id: str | None


# A text given as null goes back to the widget's translated default; "" is refused (422
# naming the field), as an emptied field sent by mistake is not a choice of the default.
DefaultTextIn = Annotated[
    str | None,
    Field(
        max_length=5000,
        description="null: back to the widget's default text, shown in the visitor's language",
    ),
]


class PrechatFieldIn(Strict):
    name: str = Field(max_length=40)
    label: DefaultTextIn  # required, and may be null
    required: bool
    type: str | None = Field(default=None, max_length=40)  # as listed; fixed per field


class ConsentIn(Strict):
    required: bool
    text: DefaultTextIn  # required, and may be null
    version: str = Field(max_length=200)
    privacy_url: str = Field(max_length=5000)


# The sizes below only bound the request; the domain's checks give the precise rule.
class WidgetPatch(Strict):
    """Any of the widget's settings; those left out (or null) stay as they are, except
    ``department_id``, where null means no department, and ``greeting``, where null
    means the widget's default greeting, translated (as the labels and consent text given
    as null inside ``prechat_fields`` and ``consent``).
    """

    allowed_origins: list[Annotated[str, Field(max_length=300)]] | None = Field(
        default=None, max_length=100
    )
    color: str | None = Field(default=None, max_length=100)
    greeting: DefaultTextIn = None
    language: str | None = Field(default=None, max_length=40)
    prechat_fields: list[PrechatFieldIn] | None = Field(default=None, max_length=10)
    consent: ConsentIn | None = None
    redaction_patterns: list[Annotated[str, Field(max_length=200)] | RedactionRule] | None = Field(
        default=None, max_length=100
    )
    identity: IdentityConfig | None = None
    department_id: str | None = Field(default=None, max_length=40)


def widget_out(request: Request, widget: Widget) -> WidgetOut:
    svc = services(request)
    base = svc.settings.public_url or request_origin(request)
    return WidgetOut.model_validate(
        {**admin_config(widget), "snippet": embed_snippet(base, widget.id)}
    )


@router.get("/widgets", response_model=list[WidgetOut], responses=ERRORS, tags=["admin"])
async def list_widgets(
    request: Request, actor: Annotated[StaffPrincipal, Depends(staff_principal)]
) -> list[WidgetOut]:
    widgets = await services(request).widgets.list_all(actor)
    return [widget_out(request, w) for w in widgets]


def _settings_of(body: WidgetPatch) -> dict[str, Any]:
    """The look-and-text part of a PATCH, for ``check_settings``. Not ``exclude_none``: a
    null greeting, label or consent text is a value there (the default text).
    """
    settings: dict[str, Any] = {}
    if body.color is not None:
        settings["color"] = body.color
    if "greeting" in body.model_fields_set:
        # Given (null too) or left out: null is "the default greeting", not "unchanged".
        settings["greeting"] = body.greeting
    if body.language is not None:
        settings["language"] = body.language
    if body.prechat_fields is not None:
        # A field's type may be left out or null: it is fixed per field.
        settings["prechat_fields"] = [
            f.model_dump(exclude={"type"} if f.type is None else None) for f in body.prechat_fields
        ]
    if body.consent is not None:
        settings["consent"] = body.consent.model_dump()
    return settings


@router.patch("/widgets/{widget_id}", response_model=WidgetOut, responses=ERRORS, tags=["admin"])
async def update_widget(
    widget_id: WidgetId,
    body: WidgetPatch,
    request: Request,
    actor: Annotated[StaffPrincipal, Depends(staff_principal)],
) -> WidgetOut:
    """Change any of a widget's settings at once, all or nothing: a bad value is 422
    ``invalid_request`` naming the field; an unknown ``department_id`` is 404 ``not_found``
    with that field. ``greeting``, a pre-chat ``label`` or ``consent.text`` given as null
    goes back to the widget's default text, shown in each visitor's language; an empty
    one is refused.
    """
    change = WidgetChange(
        allowed_origins=body.allowed_origins,
        settings=_settings_of(body),
        redaction_patterns=(
            None
            if body.redaction_patterns is None
            else [r if isinstance(r, str) else r.model_dump() for r in body.redaction_patterns]
        ),
        identity_mode=body.identity.mode if body.identity else None,
        # Given (null too) or left out: null is "no department", not "unchanged".
        department_id=body.department_id if "department_id" in body.model_fields_set else KEEP,
    )
    widget = await services(request).widgets.update(actor, widget_id, change)
    return widget_out(request, widget)


# ---- conversations ----------------------------------------------------------------------


class AgentRef(BaseModel):
    id: str | None = None
    name: str | None


class VisitorRef(BaseModel):
    id: str
    name: str | None
    email: str | None
    verified: bool


class PageRef(BaseModel):
    url: str
    title: str | None
    ts: str


class ConversationOut(BaseModel):
    id: str
    state: str
    last_seq: int
    created_at: str
    agent: AgentRef | None
    visitor: VisitorRef | None = None
    preview: str | None = None
    page: PageRef | None = None


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
    events, last = await services(request).chat.events_after(
        actor, conversation_id, after, limit, audit_read=True
    )
    return EventsOut(events=events, last_seq=last)


class AccessIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


class AccessOut(BaseModel):
    conversation: str
    until: str | None


@router.post(
    "/conversations/{conversation_id}/access",
    response_model=AccessOut,
    responses=ERRORS,
    tags=["conversations"],
)
async def request_access(
    conversation_id: ConversationId,
    body: AccessIn,
    request: Request,
    actor: Annotated[StaffPrincipal, Depends(staff_principal)],
) -> dict[str, Any]:
    """Reopen an old conversation outside your current assignment; the reason is
    audited. A former agent gets an hour; supervisors' reads are put on record.
    """
    return await services(request).chat.request_access(actor, conversation_id, body.reason)
