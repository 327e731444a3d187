"""``GET /api/v1/conversations/{id}/transcript``: a visitor downloads their own chat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from bastion.domain.principals import VisitorPrincipal
from bastion.transport.context import services
from bastion.transport.rest.api import ERRORS, ConversationId
from bastion.transport.rest.auth import visitor_principal

router = APIRouter(prefix="/api/v1", tags=["widget"])


@router.get(
    "/conversations/{conversation_id}/transcript",
    responses={**ERRORS, 200: {"content": {"text/plain": {}}}},
    response_class=Response,
)
async def transcript(
    conversation_id: ConversationId,
    request: Request,
    actor: Annotated[VisitorPrincipal, Depends(visitor_principal)],
) -> Response:
    """The visitor's own conversation as a plain-text file (internal notes never appear).

    Sent as an attachment, never rendered: ``nosniff`` keeps browsers from guessing HTML.
    """
    name, text = await services(request).transcripts.for_visitor(actor, conversation_id)
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
