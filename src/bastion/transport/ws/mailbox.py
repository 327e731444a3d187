"""A bounded FIFO for one consumer task, small enough to keep two per idle socket.

Contract: the subset of ``asyncio.Queue`` a socket uses, with the same meaning:
``put_nowait`` raises ``asyncio.QueueFull`` when ``maxsize`` items are queued, ``put``
waits for room, ``get`` waits for an item; items come out in the order they went in.
One task calls ``get`` at a time (the socket's consumer or writer); any number may put.

Why not ``asyncio.Queue``: each one allocates four deques up front (its items, getters,
putters and an ``Event``'s waiters), about 3 KiB, and a socket had two of them while its
queues are nearly always empty. Here an empty mailbox is a list and two ``None``s; the
futures are made only while someone actually waits (docs/performance.md, idle sockets).
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    __slots__ = ("_getter", "_items", "_maxsize", "_putters")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be 1 or more")
        self._maxsize = maxsize
        self._items: list[T] = []
        self._getter: asyncio.Future[None] | None = None
        self._putters: list[asyncio.Future[None]] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        return len(self._items) >= self._maxsize

    def put_nowait(self, item: T) -> None:
        if self.full():
            raise asyncio.QueueFull
        self._items.append(item)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    async def put(self, item: T) -> None:
        while self.full():
            waiter = asyncio.get_running_loop().create_future()
            if self._putters is None:
                self._putters = []
            self._putters.append(waiter)
            try:
                await waiter
            finally:
                if self._putters is not None and waiter in self._putters:
                    self._putters.remove(waiter)
        self.put_nowait(item)

    async def get(self) -> T:
        while not self._items:
            if self._getter is not None:
                raise RuntimeError("Mailbox.get: one consumer at a time")
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        item = self._items.pop(0)
        if self._putters:
            # Wake every waiting putter; each re-checks for room (at most 257 items, few
            # putters: the reader and the consumer), so no wake-up can be lost to a cancel.
            putters, self._putters = self._putters, None
            for waiter in putters:
                if not waiter.done():
                    waiter.set_result(None)
        return item
