"""Per-node copies of rarely changing data that a hot path reads (bans, redaction rules).

A copy is kept until a message on its bus channel says the data changed — every node
hears it, so a change made anywhere holds everywhere at once — or until ``ttl_s`` has
passed, which bounds how long a node that missed the message (a bus outage, a change made
by a process that shares no bus) works from old data. Any message on the channel,
including the bus's ``resync`` after an outage, drops every copy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from bastion.domain.ports import Bus

V = TypeVar("V")


class AnnouncedCopies(Generic[V]):
    def __init__(self, bus: Bus | None, channel: str, ttl_s: int) -> None:
        self._bus = bus
        self._channel = channel
        self._ttl = timedelta(seconds=ttl_s)
        self._held: dict[str, tuple[datetime, V]] = {}
        self._generation = 0  # bumped by every reason to drop the copies
        self._listening = False

    async def get(
        self,
        key: str,
        now: datetime,
        load: Callable[[], Awaitable[V]],
        *,
        defer: Callable[[Callable[[], None]], None] | None = None,
    ) -> V:
        """The copy of ``key``, or what ``load`` reads. The value read is kept only if no
        change was announced meanwhile; with ``defer`` (a unit of work's ``after_commit``)
        only once that transaction has committed, so nothing uncommitted is kept.
        """
        if not self._listening and self._bus is not None:
            await self._bus.subscribe(self._channel, self._on_notice)
            self._listening = True
        held = self._held.get(key)
        if held is not None and now < held[0]:
            return held[1]
        generation = self._generation
        value = await load()

        def keep() -> None:
            if generation == self._generation:
                self._held[key] = (now + self._ttl, value)

        if defer is not None:
            defer(keep)
        else:
            keep()
        return value

    def forget(self) -> None:
        self._held.clear()
        self._generation += 1

    async def _on_notice(self, _channel: str, _message: dict[str, Any]) -> None:
        self.forget()
