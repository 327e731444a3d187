"""In-process bus for the single-node embedded default."""

from __future__ import annotations

from typing import Any

import structlog

from bastion.domain.ports import BusHandler

log = structlog.get_logger(__name__)


class MemoryBus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[BusHandler]] = {}

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                await handler(channel, message)
            except Exception:
                log.exception("bus_handler_failed", channel=channel.split(":", 1)[0])

    async def subscribe(self, channel: str, handler: BusHandler) -> None:
        self._handlers.setdefault(channel, []).append(handler)

    async def unsubscribe(self, channel: str, handler: BusHandler) -> None:
        handlers = self._handlers.get(channel)
        if handlers and handler in handlers:
            handlers.remove(handler)
            if not handlers:
                del self._handlers[channel]

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._handlers.clear()
