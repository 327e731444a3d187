"""Rate limits: named moving-window rules; rules parsed and Redis counted by `limits`.

One :class:`RateLimiter` per process. Its counters live in this process on a single
node (:class:`LocalWindows`), or in Redis when ``BASTION_REDIS_URL`` is set, so every
node counts against the same keys. Callers ask ``await limiter.hit("messages",
conversation_id)`` and get a :class:`Verdict`; they never see the backend.

The in-process counters are our own, not the library's ``MemoryStorage``: that one
sweeps every key through ``asyncio.to_thread`` after each hit, which cost a node about
5,000 thread hand-offs a second at 50 messages/s (docs/decisions/0008).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
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


class LocalWindows:
    """In-process counters: a moving window per key (a deque of hit times, at most
    ``limit`` long) and a fixed window per key for amounts.

    Every operation is O(1) amortised and runs on the event loop without awaiting, so a
    check-then-count is atomic. Keys whose windows have passed are swept at most once per
    ``sweep_every_s``, bounding memory by the keys active in the longest window.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic, sweep_every_s: float = 30):
        self._now = now
        self._sweep_every = sweep_every_s
        self._last_sweep = now()
        self._hits: dict[tuple[str, ...], tuple[float, deque[float]]] = {}
        self._amounts: dict[tuple[str, ...], list[float]] = {}  # key → [window end, used]

    def hit(self, key: tuple[str, ...], limit: int, window_s: float) -> float:
        """Count one hit; 0 when allowed, else the seconds until one would be."""
        now = self._now()
        self._maybe_sweep(now)
        entry = self._hits.get(key)
        if entry is None:
            entry = self._hits[key] = (window_s, deque(maxlen=max(limit, 1)))
        times = entry[1]
        while times and times[0] <= now - window_s:
            times.popleft()
        if len(times) >= limit:
            return max(times[0] + window_s - now, 0.001) if times else window_s
        times.append(now)
        return 0.0

    def charge(
        self, key: tuple[str, ...], limit: int, window_s: float, amount: int, *, dry_run: bool
    ) -> float:
        """Count ``amount`` in a fixed window unless it would overflow; as :meth:`hit`."""
        now = self._now()
        self._maybe_sweep(now)
        slot = self._amounts.get(key)
        if slot is None or slot[0] <= now:
            slot = [now + window_s, 0.0]
        if slot[1] + amount > limit:
            self._amounts[key] = slot
            return max(slot[0] - now, 0.001)
        if not dry_run:
            slot[1] += amount
            self._amounts[key] = slot
        return 0.0

    def size(self) -> int:
        return len(self._hits) + len(self._amounts)

    def _maybe_sweep(self, now: float) -> None:
        if now - self._last_sweep < self._sweep_every:
            return
        self._last_sweep = now
        self._hits = {k: (w, t) for k, (w, t) in self._hits.items() if t and t[-1] > now - w}
        self._amounts = {k: slot for k, slot in self._amounts.items() if slot[0] > now}


class RateLimiter:
    """Named rules (``{"messages": "30/minute", …}``) counted per key in a moving window.

    ``hit`` counts and answers in one step. If the shared storage is unreachable the
    hit is allowed and logged: an outage of Redis must not take the chat down with it
    (the per-socket and per-process caps still hold).
    """

    def __init__(
        self,
        rules: Mapping[str, str],
        *,
        redis_url: str = "",
        prefix: str = KEY_PREFIX,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._items: dict[str, RateLimitItem] = {name: parse(rate) for name, rate in rules.items()}
        self._now = now
        self._local: LocalWindows | None = None
        self._storage: RedisStorage | None = None
        if redis_url:
            self._storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=prefix,
                wrap_exceptions=True,
            )
            self._strategy = MovingWindowRateLimiter(self._storage)
            self._amounts = FixedWindowRateLimiter(self._storage)
        else:
            self._local = LocalWindows(now)

    def rate(self, rule: str) -> str:
        """The rule as configured, e.g. ``30 per 1 minute`` (for documentation and errors)."""
        return str(self._items[rule])

    async def hit(self, rule: str, *key: str) -> Verdict:
        """Count one event for ``key`` under ``rule``; refused when the window is full."""
        item = self._items[rule]
        if self._local is not None:
            wait = self._local.hit((rule, *key), item.amount, item.get_expiry())
            return ALLOWED if not wait else Verdict(False, retry_after=max(1, math.ceil(wait)))
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
        if self._local is not None:
            wait = self._local.charge(
                (rule, *key), item.amount, item.get_expiry(), amount, dry_run=dry_run
            )
            return ALLOWED if not wait else Verdict(False, retry_after=max(1, math.ceil(wait)))
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
        if self._local is not None:
            self._local = LocalWindows(self._now)
        elif self._storage is not None:
            await self._storage.reset()

    async def close(self) -> None:
        # The library keeps its Redis client on a "bridge" and offers no close of its own.
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()
