"""A socket whose command hits a bug answers it, logs the type only and closes cleanly."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from starlette.websockets import WebSocketState
from structlog.testing import capture_logs

from bastion.transport.ws.codec import VISITOR_FRAMES, Ping
from bastion.transport.ws.connection import ClientSocket, SocketLimits


class FakeWebSocket:
    application_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_a_bug_in_a_command_is_an_error_frame_and_a_clean_close() -> None:
    """QA: an exception that was not a domain error (a database error on PostgreSQL)
    dropped the socket without a close frame and logged the traceback, parameters and all.
    """

    async def broken(_sock: ClientSocket, _frame: Ping) -> None:
        raise RuntimeError("INSERT … ('ona@example.com')")

    ws = FakeWebSocket()
    sock = ClientSocket(
        cast(Any, ws),
        chat=cast(Any, None),
        hub=cast(Any, None),
        limits=SocketLimits(),
        registry=VISITOR_FRAMES,
        handlers={"ping": broken},
    )
    with capture_logs() as logs:
        await sock._handle(Ping(t="ping", id="p1"))
        for _ in range(10):  # the writer task sends, then closes
            await asyncio.sleep(0)
    assert ws.sent == [
        {"t": "error", "id": "p1", "code": "internal_error", "message": "internal error"}
    ]
    assert ws.closed == (1011, "internal error")
    assert logs == [
        {"event": "ws_unhandled_error", "error_type": "RuntimeError", "log_level": "error"}
    ]
