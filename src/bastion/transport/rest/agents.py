"""``/api/v1/agents``: the colleagues a responder may hand a chat to (``conv.transfer``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from bastion.domain.principals import StaffPrincipal
from bastion.domain.staff import responder_summary
from bastion.transport.context import services
from bastion.transport.rest.api import ERRORS
from bastion.transport.rest.auth import staff_principal

router = APIRouter(prefix="/api/v1", tags=["agents"])

Staff = Annotated[StaffPrincipal, Depends(staff_principal)]


class AgentOut(BaseModel):
    id: str
    name: str
    # The availability the agent chose (status.set), kept while they are away from the console.
    status: Literal["online", "away", "offline"]
    # Taking chats right now: online with a console open, on any node (live presence).
    available: bool


@router.get("/agents", response_model=list[AgentOut], responses=ERRORS)
async def list_agents(request: Request, actor: Staff) -> list[AgentOut]:
    """Active staff who may handle chats (the caller too); needs ``chat.handle``."""
    svc = services(request)
    users = await svc.staff.list_responders(actor)
    present = svc.hub.available_agents()
    return [
        AgentOut.model_validate({**responder_summary(u), "available": u.id in present})
        for u in users
    ]
