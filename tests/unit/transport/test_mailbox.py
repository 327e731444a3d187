"""The socket's bounded FIFO keeps asyncio.Queue's meaning: order, bounds, waiting."""

from __future__ import annotations

import asyncio

import pytest

from bastion.transport.ws.mailbox import Mailbox


async def test_items_come_out_in_order_and_get_waits_for_one() -> None:
    box: Mailbox[int] = Mailbox(4)
    getter = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    assert not getter.done()
    box.put_nowait(1)
    box.put_nowait(2)
    assert await asyncio.wait_for(getter, 1) == 1
    assert await box.get() == 2
    assert len(box) == 0


async def test_put_nowait_refuses_beyond_maxsize() -> None:
    box: Mailbox[str] = Mailbox(2)
    box.put_nowait("a")
    box.put_nowait("b")
    assert box.full()
    with pytest.raises(asyncio.QueueFull):
        box.put_nowait("c")
    assert [await box.get(), await box.get()] == ["a", "b"]


async def test_put_waits_for_room_and_keeps_order() -> None:
    box: Mailbox[int] = Mailbox(1)
    box.put_nowait(0)
    putters = [asyncio.create_task(box.put(i)) for i in (1, 2)]
    await asyncio.sleep(0)
    assert not any(p.done() for p in putters)
    got = [await asyncio.wait_for(box.get(), 1) for _ in range(3)]
    await asyncio.wait_for(asyncio.gather(*putters), 1)
    assert got == [0, 1, 2]


async def test_a_cancelled_putter_does_not_block_the_others() -> None:
    box: Mailbox[int] = Mailbox(1)
    box.put_nowait(0)
    first = asyncio.create_task(box.put(1))
    second = asyncio.create_task(box.put(2))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    assert await box.get() == 0
    await asyncio.wait_for(second, 1)
    assert await box.get() == 2
    assert first.cancelled()


async def test_a_cancelled_getter_leaves_the_box_usable() -> None:
    box: Mailbox[int] = Mailbox(2)
    getter = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    box.put_nowait(7)
    assert await asyncio.wait_for(box.get(), 1) == 7


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        Mailbox(0)
