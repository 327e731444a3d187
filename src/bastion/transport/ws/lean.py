"""uvicorn's WebSocket protocol with less kept per open socket (what ``serve`` runs).

Contract: exactly uvicorn's ``websockets-sansio`` protocol (same frames, limits, close
codes, handshake, denial responses), except for three memory-only changes that matter
when a node holds 10,000 idle visitor sockets (docs/performance.md):

- the ASGI receive queue is a ``Mailbox`` (an ``asyncio.Queue`` allocates four deques,
  ~3 KiB, per socket), effectively unbounded as uvicorn's is (reading pauses after
  each message anyway);
- the "transport writable" flag is a small flag instead of an ``asyncio.Event`` (one
  more deque per socket);
- the handshake's request and response (their header maps, ~3 KiB) are dropped once the
  handshake is complete: uvicorn does not read them again, the ASGI scope keeps the
  headers the application needs.

uvicorn is pinned in requirements.lock; ``tests/unit/transport/test_lean_protocol.py``
runs a real server with this class, so an upgrade that changes what it relies on fails
there rather than in production.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from bastion.transport.ws.mailbox import Mailbox


class _ReceiveQueue(Mailbox[Any]):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(sys.maxsize)

    def empty(self) -> bool:
        return len(self) == 0


class _Flag:
    """The part of ``asyncio.Event`` uvicorn uses for "the transport is writable"."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._waiters:
            waiters, self._waiters = self._waiters, None
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.queue = _ReceiveQueue()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete:
            self.__dict__.pop("request", None)
            self.__dict__.pop("response", None)
