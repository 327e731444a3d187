"""Caps on request bodies (a pure ASGI middleware): size, then a JSON body's nesting depth.

A body larger than the cap is refused from its ``Content-Length`` before any of it is
read, or as soon as a chunked body passes the cap; a JSON body nested deeper than the cap
is refused before the framework parses it. The size cap holds whatever the declared type:
the framework reads a body of another type whole before refusing it (QA: 300 MB sent as
``text/plain`` to the open session route were held in memory). Uploads, the one route
whose body is neither JSON nor small, are capped by that route (files.py).
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.transport.jsonlimits import too_deep

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UPLOAD = re.compile(r"/api/v1/conversations/[^/]+/files")
# A refused body is still read (and dropped) up to this much before the answer, so the
# client, still sending, reads a clean 413 instead of a connection reset. Beyond it the
# connection is simply closed: reading more would be the very cost the cap prevents.
DRAIN_BYTES = 1024 * 1024


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media.endswith((b"/json", b"+json"))
    return False


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyGuard:
    def __init__(self, app: ASGIApp, *, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _WRITES
            or _UPLOAD.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await _drain(receive, DRAIN_BYTES - size)
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _is_json(scope) and too_deep(body.decode("utf-8", "replace"), self.max_depth):
            await _refuse(
                send, 400, "json_too_deep", f"JSON is limited to {self.max_depth} levels of nesting"
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _refuse(
            send, 413, "too_large", f"request bodies are limited to {self.max_bytes} bytes"
        )


async def _drain(receive: Receive, budget: int) -> None:
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        budget -= len(message.get("body", b""))


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps({"code": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
