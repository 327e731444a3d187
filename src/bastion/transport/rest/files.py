"""Files: upload into a conversation, download as an attachment.

The upload body is the file itself (any ``Content-Type``; the type is sniffed from the
bytes). It is read in chunks and refused as soon as it passes the size cap, so an
oversize body is never held whole; a declared ``Content-Length`` over the cap or over
the caller's byte budget is refused before any of it is read.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from bastion.domain.errors import FileTooLarge, InvalidInput, RateLimited
from bastion.domain.files import check_size
from bastion.domain.principals import Principal, VisitorPrincipal
from bastion.transport.context import Services, ip_of, services
from bastion.transport.rest.api import ERRORS, ConversationId
from bastion.transport.rest.auth import any_principal

router = APIRouter(prefix="/api/v1", tags=["files"])

FileId = Annotated[str, Path(min_length=1, max_length=70, pattern=r"^[A-Za-z0-9_-]+$")]

# A download renders nothing and runs nothing, even if a browser is talked into
# displaying it: sandboxed, no sources, never framed, never sniffed.
DOWNLOAD_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes (the type is found from the content, not the name).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class FileOut(BaseModel):
    id: str
    name: str
    size: int
    type: str


class UploadOut(BaseModel):
    file: FileOut
    conversation: str
    seq: int


async def _charge(svc: Services, actor: Principal, ip: str, amount: int, dry_run: bool) -> None:
    """The byte budget, per address and per uploader (``BASTION_RL_UPLOAD_BYTES``)."""
    for key in (("ip", ip), ("actor", actor.key)):
        verdict = await svc.limiter.charge("upload_bytes", *key, amount=amount, dry_run=dry_run)
        if not verdict.allowed:
            raise RateLimited(
                f"Too much uploaded. Try again in {verdict.retry_after} s.",
                retry_after=verdict.retry_after,
            )


async def _read_capped(request: Request, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            # Stop reading here; the server closes the connection after answering.
            raise FileTooLarge(f"files may be at most {max_bytes} bytes", field="file")
    return bytes(body)


@router.post(
    "/conversations/{conversation_id}/files",
    response_model=UploadOut,
    status_code=201,
    responses={**ERRORS, 413: ERRORS[400], 415: ERRORS[400], 503: ERRORS[400]},
    openapi_extra=_UPLOAD_BODY,
)
async def upload_file(
    conversation_id: ConversationId,
    request: Request,
    actor: Annotated[Principal, Depends(any_principal)],
    name: Annotated[str, Query(min_length=1, max_length=255)] = "file",
) -> dict[str, Any]:
    """Share a file in a conversation you may write to. It appears to both sides as a
    ``file`` event once it is scanned clean. Errors: ``file_too_large`` (413),
    ``file_type_refused`` (415), ``file_infected`` (422), ``scanner_unavailable`` (503),
    ``rate_limited`` (429, byte budget).
    """
    svc = services(request)
    ip = ip_of(request)
    if isinstance(actor, VisitorPrincipal):
        await svc.bans.check_allowed(visitor_id=actor.visitor_id, ip=ip)
    # Before reading a byte: may this caller post here at all, and is the size plausible.
    await svc.files.check_may_upload(actor, conversation_id)
    if isinstance(actor, VisitorPrincipal):
        # A file is a message: it counts against the conversation's message rate (counted
        # only once the caller is known to be in the conversation).
        verdict = await svc.limiter.hit("messages", conversation_id)
        if not verdict.allowed:
            raise RateLimited(
                f"Too many messages. Try again in {verdict.retry_after} s.",
                retry_after=verdict.retry_after,
            )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidInput("Content-Length is not a number", field="file")
        check_size(int(declared), svc.files.limits)
        await _charge(svc, actor, ip, int(declared), dry_run=True)
    data = await _read_capped(request, svc.files.limits.max_bytes)
    check_size(len(data), svc.files.limits)
    await _charge(svc, actor, ip, len(data), dry_run=False)
    return await svc.files.upload(actor, conversation_id, name, data)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 one (RFC 6266)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/files/{file_id}",
    responses={**ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    response_class=Response,
)
async def download_file(
    file_id: FileId,
    request: Request,
    actor: Annotated[Principal, Depends(any_principal)],
) -> Response:
    """A clean file of a conversation you may see, as an attachment (visitors: their
    own conversations' files, with ``Authorization: Bearer``; staff: by session cookie).
    """
    got = await services(request).files.download(actor, file_id)
    return Response(
        got.content,
        media_type=got.file.content_type,
        headers={
            "Content-Disposition": content_disposition(got.file.name),
            "Content-Security-Policy": DOWNLOAD_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )
