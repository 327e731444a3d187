"""``/api/v1/admin/gdpr``: export or erase everything stored about a person (admins;
cookie + CSRF like every admin write, or an API token with the ``privacy.gdpr`` scope).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from bastion.domain.principals import StaffPrincipal
from bastion.transport.context import ip_of, services
from bastion.transport.rest.api import ERRORS, Strict
from bastion.transport.rest.auth import staff_principal

router = APIRouter(prefix="/api/v1/admin/gdpr", tags=["privacy"])

Staff = Annotated[StaffPrincipal, Depends(staff_principal)]


class ExportIn(Strict):
    email: str = Field(min_length=3, max_length=254)


class EraseIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    reason: str = Field(min_length=1, max_length=500)


class EraseOut(BaseModel):
    visitors: int
    counts: dict[str, int]
    scrubbed: bool


@router.post(
    "/export",
    responses={**ERRORS, 200: {"content": {"application/zip": {}}}},
    response_class=Response,
)
async def export_person(body: ExportIn, request: Request, actor: Staff) -> Response:
    """A ZIP (``person.json``) of everything stored about the person with this e-mail
    address; ``not_found`` when nothing is. POST, not GET: the address stays out of URLs
    and logs.
    """
    export = await services(request).privacy.export_person(actor, body.email, ip_of(request))
    return Response(
        content=export.data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/erase", response_model=EraseOut, responses=ERRORS)
async def erase_person(body: EraseIn, request: Request, actor: Staff) -> EraseOut:
    """Destroy the person's data keys and delete their rows; recorded in the erasure
    ledger so that restoring an older backup erases them again. Cannot be undone.
    """
    result = await services(request).privacy.erase_person(
        actor, body.email, body.reason, ip_of(request)
    )
    return EraseOut(**result)
