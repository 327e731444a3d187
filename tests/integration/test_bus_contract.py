"""One contract for every Bus adapter: the in-process bus and the Redis bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bastion.bus.memory import MemoryBus
from bastion.bus.redis import RedisBus
from bastion.domain.ports import Bus
from tests.support.redis import PrivateRedis, machine_redis_url, require_redis, unique_prefix

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    if request.param == "memory":
        memory = MemoryBus()
        yield memory
        await memory.close()
        return
    await asyncio.to_thread(require_redis)
    redis_bus = RedisBus(machine_redis_url(), prefix=unique_prefix())
    await redis_bus.start()
    await _until(redis_bus.ping)
    yield redis_bus
    await redis_bus.close()


async def _until(probe: Any, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await probe():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


class Inbox:
    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []
        self._new = asyncio.Event()

    async def __call__(self, channel: str, message: dict[str, Any]) -> None:
        self.got.append((channel, message))
        self._new.set()

    async def wait(self, count: int, timeout: float = 5) -> None:
        async def enough() -> bool:
            return len(self.got) >= count

        await _until(enough, timeout)


async def _settle() -> None:
    # Redis delivers asynchronously; a message that should *not* arrive gets this long.
    await asyncio.sleep(0.3)


async def test_subscribers_get_published_messages_in_order(bus: Bus) -> None:
    inbox = Inbox()
    await bus.subscribe("conv:c_1", inbox)
    await _settle()
    for n in range(5):
        await bus.publish("conv:c_1", {"type": "event", "n": n})
    await inbox.wait(5)
    assert inbox.got == [("conv:c_1", {"type": "event", "n": n}) for n in range(5)]


async def test_every_handler_of_a_channel_gets_each_message(bus: Bus) -> None:
    first, second = Inbox(), Inbox()
    await bus.subscribe("staff", first)
    await bus.subscribe("staff", second)
    await _settle()
    await bus.publish("staff", {"type": "notice"})
    await first.wait(1)
    await second.wait(1)
    assert first.got == second.got == [("staff", {"type": "notice"})]


async def test_channels_are_isolated(bus: Bus) -> None:
    mine, other = Inbox(), Inbox()
    await bus.subscribe("visitor:v_1", mine)
    await bus.subscribe("visitor:v_2", other)
    await _settle()
    await bus.publish("visitor:v_1", {"type": "notice", "to": 1})
    await mine.wait(1)
    await _settle()
    assert other.got == []


async def test_unsubscribed_handlers_get_nothing_more(bus: Bus) -> None:
    stays, leaves = Inbox(), Inbox()
    await bus.subscribe("conv:c_2", stays)
    await bus.subscribe("conv:c_2", leaves)
    await _settle()
    await bus.unsubscribe("conv:c_2", leaves)
    await bus.unsubscribe("conv:c_2", leaves)  # twice is harmless
    await bus.publish("conv:c_2", {"type": "event"})
    await stays.wait(1)
    await bus.unsubscribe("conv:c_2", stays)
    await _settle()
    await bus.publish("conv:c_2", {"type": "event", "late": True})
    await _settle()
    assert leaves.got == []
    assert stays.got == [("conv:c_2", {"type": "event"})]


async def test_a_failing_handler_does_not_stop_the_others(bus: Bus) -> None:
    inbox = Inbox()

    async def broken(_channel: str, _message: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    await bus.subscribe("conv:c_3", broken)
    await bus.subscribe("conv:c_3", inbox)
    await _settle()
    await bus.publish("conv:c_3", {"type": "event", "n": 1})
    await bus.publish("conv:c_3", {"type": "event", "n": 2})
    await inbox.wait(2)


async def test_publishing_to_nobody_is_fine_and_ping_is_true(bus: Bus) -> None:
    await bus.publish("conv:nobody", {"type": "event"})
    assert await bus.ping() is True


# ---- Redis only: the outage contract ------------------------------------------------------


async def test_redis_restart_resubscribes_and_asks_for_resync(tmp_path: Path) -> None:
    server = await asyncio.to_thread(PrivateRedis(tmp_path / "redis").start)
    bus = RedisBus(server.url, prefix="t:", max_backoff_s=0.5)
    try:
        await bus.start()
        await _until(bus.ping)
        inbox = Inbox()
        await bus.subscribe("conv:c_9", inbox)
        await _settle()

        await asyncio.to_thread(server.stop)
        await _until(lambda: _not(bus.ping))
        await bus.publish("conv:c_9", {"type": "event", "lost": True})  # dropped, no raise

        await asyncio.to_thread(server.start)  # same port
        await _until(bus.ping, timeout=15)
        await inbox.wait(1)
        assert inbox.got[0] == ("conv:c_9", {"type": "resync"})
        await bus.publish("conv:c_9", {"type": "event", "after": True})
        await inbox.wait(2)
        assert inbox.got[-1] == ("conv:c_9", {"type": "event", "after": True})
    finally:
        await bus.close()
        await asyncio.to_thread(server.stop)


async def _not(probe: Any) -> bool:
    return not await probe()
