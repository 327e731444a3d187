"""The rate limiter's contract, run against every storage: memory and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bastion.security.ratelimit import LocalWindows, RateLimiter
from tests.support.redis import require_redis, unique_prefix


@pytest.fixture(params=["memory", "redis"])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    made: list[RateLimiter] = []
    url = require_redis() if request.param == "redis" else ""
    prefix = unique_prefix()

    def make(rules: dict[str, str]) -> RateLimiter:
        limiter = RateLimiter(rules, redis_url=url, prefix=prefix)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.reset()  # deletes only this test's prefix
        await limiter.close()


async def test_refuses_over_the_limit_with_retry_after(make_limiter) -> None:  # type: ignore[no-untyped-def]
    limiter = make_limiter({"messages": "3/minute"})
    verdicts = [await limiter.hit("messages", "c_1") for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert 1 <= verdicts[-1].retry_after <= 60


async def test_keys_and_rules_are_counted_apart(make_limiter) -> None:  # type: ignore[no-untyped-def]
    limiter = make_limiter({"a": "1/minute", "b": "1/minute"})
    assert (await limiter.hit("a", "k1")).allowed
    assert (await limiter.hit("a", "k2")).allowed
    assert (await limiter.hit("b", "k1")).allowed
    assert not (await limiter.hit("a", "k1")).allowed


async def test_two_nodes_share_counters_through_redis() -> None:
    url = require_redis()
    prefix = unique_prefix()
    node_a = RateLimiter({"login": "2/minute"}, redis_url=url, prefix=prefix)
    node_b = RateLimiter({"login": "2/minute"}, redis_url=url, prefix=prefix)
    try:
        assert (await node_a.hit("login", "203.0.113.9")).allowed
        assert (await node_b.hit("login", "203.0.113.9")).allowed
        assert not (await node_a.hit("login", "203.0.113.9")).allowed
        assert not (await node_b.hit("login", "203.0.113.9")).allowed
    finally:
        await node_a.reset()
        await node_a.close()
        await node_b.close()


async def test_unreachable_redis_fails_open() -> None:
    # Port 1 on loopback refuses connections: the chat must keep working.
    limiter = RateLimiter({"x": "1/minute"}, redis_url="redis://127.0.0.1:1/0")
    try:
        assert (await limiter.hit("x", "k")).allowed
        assert (await limiter.hit("x", "k")).allowed
    finally:
        await limiter.close()


async def test_amounts_are_charged_and_a_dry_run_counts_nothing(make_limiter) -> None:  # type: ignore[no-untyped-def]
    limiter = make_limiter({"upload_bytes": "10000/hour"})
    assert (await limiter.charge("upload_bytes", "ip", "a", amount=6000, dry_run=True)).allowed
    assert (await limiter.charge("upload_bytes", "ip", "a", amount=6000)).allowed
    # 6000 + 6000 would overflow: refused, and the refusal counts nothing.
    refused = await limiter.charge("upload_bytes", "ip", "a", amount=6000)
    assert not refused.allowed and 1 <= refused.retry_after <= 3600
    assert not (await limiter.charge("upload_bytes", "ip", "a", amount=5000, dry_run=True)).allowed
    assert (await limiter.charge("upload_bytes", "ip", "a", amount=4000)).allowed
    assert not (await limiter.charge("upload_bytes", "ip", "a", amount=1)).allowed
    assert (await limiter.charge("upload_bytes", "ip", "b", amount=10000)).allowed


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_the_local_window_moves_with_the_clock() -> None:
    clock = FakeTime()
    limiter = RateLimiter({"messages": "3/minute"}, now=clock)
    for _ in range(3):
        assert (await limiter.hit("messages", "c_1")).allowed
        clock.t += 10
    # Hits at 0, 10 and 20 s; at 30 s the window is full until the first leaves it (60 s).
    refused = await limiter.hit("messages", "c_1")
    assert not refused.allowed and refused.retry_after == 30
    clock.t = 1000.0 + 60.5
    assert (await limiter.hit("messages", "c_1")).allowed
    assert not (await limiter.hit("messages", "c_1")).allowed  # 10, 20 and 60.5 s are in


async def test_local_amounts_reset_with_their_window() -> None:
    clock = FakeTime()
    limiter = RateLimiter({"upload_bytes": "100/hour"}, now=clock)
    assert (await limiter.charge("upload_bytes", "ip", amount=100)).allowed
    clock.t += 1800
    refused = await limiter.charge("upload_bytes", "ip", amount=1)
    assert not refused.allowed and refused.retry_after == 1800
    clock.t += 1800
    assert (await limiter.charge("upload_bytes", "ip", amount=100)).allowed


def test_idle_local_keys_are_swept() -> None:
    clock = FakeTime()
    windows = LocalWindows(clock, sweep_every_s=30)
    for i in range(500):
        assert windows.hit(("m", f"k{i}"), 5, 60) == 0
    assert windows.charge(("b", "ip"), 10, 60, 1, dry_run=False) == 0
    assert windows.size() == 501
    clock.t += 45
    assert windows.hit(("m", "fresh"), 5, 60) == 0  # sweeps; every key is still in its window
    assert windows.size() == 502
    clock.t += 40  # the first 501 keys' windows have passed
    assert windows.hit(("m", "fresh"), 5, 60) == 0
    assert windows.size() == 1
