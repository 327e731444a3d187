"""Rate limits: named moving-window rules over the `limits` library.

One :class:`RateLimiter` per process. Its storage is in memory on a single node, or
Redis when ``BASTION_REDIS_URL`` is set, so every node counts against the same keys.
Callers ask ``await limiter.hit("messages", conversation_id)`` and get a
:class:`Verdict`; they never see the library, so the backend can change behind it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

log = structlog.get_logger(__name__)

KEY_PREFIX = "bastion:rl"


@dataclass(frozen=True)
class Verdict:
    """Whether a hit was allowed, and (when refused) how many seconds until it would be."""

    allowed: bool
    retry_after: int = 0


ALLOWED = Verdict(True)


def rate_limited_body(retry_after: int) -> dict[str, object]:
    """The JSON error every transport answers a refused hit with."""
    return {
        "code": "rate_limited",
        "message": f"Too many requests. Try again in {retry_after} s.",
        "retry_after": retry_after,
    }


class RateLimiter:
    """Named rules (``{"messages": "30/minute", …}``) counted per key in a moving window.

    ``hit`` counts and answers in one step. If the shared storage is unreachable the
    hit is allowed and logged: an outage of Redis must not take the chat down with it
    (the per-socket and per-process caps still hold).
    """

    def __init__(
        self, rules: Mapping[str, str], *, redis_url: str = "", prefix: str = KEY_PREFIX
    ) -> None:
        self._items: dict[str, RateLimitItem] = {name: parse(rate) for name, rate in rules.items()}
        self._storage: Storage
        if redis_url:
            self._storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=prefix,
                wrap_exceptions=True,
            )
        else:
            self._storage = MemoryStorage()
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._amounts = FixedWindowRateLimiter(self._storage)

    def rate(self, rule: str) -> str:
        """The rule as configured, e.g. ``30 per 1 minute`` (for documentation and errors)."""
        return str(self._items[rule])

    async def hit(self, rule: str, *key: str) -> Verdict:
        """Count one event for ``key`` under ``rule``; refused when the window is full."""
        item = self._items[rule]
        try:
            if await self._strategy.hit(item, rule, *key):
                return ALLOWED
            stats = await self._strategy.get_window_stats(item, rule, *key)
        except Exception as err:  # noqa: BLE001 - fail open on a storage outage, see docstring
            log.warning("ratelimit_storage_error", rule=rule, error_type=type(err).__name__)
            return ALLOWED
        return Verdict(False, retry_after=max(1, math.ceil(stats.reset_time - time.time())))

    async def charge(self, rule: str, *key: str, amount: int, dry_run: bool = False) -> Verdict:
        """Count ``amount`` units (bytes, say) for ``key``; refused when it would overflow.

        Amounts are counted in a fixed window: a moving window stores one entry per
        unit, which for byte counts would mean millions. With ``dry_run`` nothing is
        counted; the answer says whether the amount would fit now. A refused charge
        counts nothing either.
        """
        item = self._items[rule]
        amount = max(1, amount)
        try:
            # The library's fixed window counts a refused hit too; testing first keeps a
            # refusal free (two racing charges may overshoot by one amount: acceptable).
            ok = await self._amounts.test(item, rule, *key, cost=amount)
            if ok and not dry_run:
                ok = await self._amounts.hit(item, rule, *key, cost=amount)
            if ok:
                return ALLOWED
            stats = await self._amounts.get_window_stats(item, rule, *key)
        except Exception as err:  # noqa: BLE001 - fail open on a storage outage, as hit()
            log.warning("ratelimit_storage_error", rule=rule, error_type=type(err).__name__)
            return ALLOWED
        return Verdict(False, retry_after=max(1, math.ceil(stats.reset_time - time.time())))

    async def reset(self) -> None:
        """Forget every counter under this limiter's prefix (tests; never on a request)."""
        if isinstance(self._storage, MemoryStorage):
            # A fresh store: resetting in place races the library's expiry task.
            self._stop_expiry()
            self._storage = MemoryStorage()
            self._strategy = MovingWindowRateLimiter(self._storage)
            self._amounts = FixedWindowRateLimiter(self._storage)
        else:
            await self._storage.reset()

    async def close(self) -> None:
        self._stop_expiry()
        # The library keeps its Redis client on a "bridge" and offers no close of its own.
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()

    def _stop_expiry(self) -> None:
        timer = getattr(self._storage, "timer", None)
        if isinstance(timer, asyncio.Task):
            timer.cancel()
