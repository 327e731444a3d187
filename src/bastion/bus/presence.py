"""Cluster-wide agent presence in Redis: a sorted set of expiring heartbeats.

Each node writes one member per locally available agent, ``{node}:{agent}``, scored
with the time it expires, and refreshes them every ``interval_s``. A node that dies
stops refreshing, so its agents drop out after ``ttl_s`` without anyone cleaning up.
``any_agent_available`` and ``available_agents`` answer from this node's sockets at once
and from the cluster's members as read on the last heartbeat, so they never wait on
Redis; when Redis is unreachable the answers fall back to this node's agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


class RedisPresence:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "bastion:",
        interval_s: float = 2.0,
        ttl_s: float = 10.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 0)
        )
        self._key = prefix + "presence"
        self._node = secrets.token_hex(6)
        self._interval_s = interval_s
        self._ttl_s = ttl_s
        # Scores are wall-clock seconds shared by all nodes: keep node clocks in NTP sync.
        self._now = wall_clock
        self._local: dict[str, int] = {}
        self._leaving: set[str] = set()
        self._cluster: frozenset[str] = frozenset()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def agent_available(self, user_id: str, available: bool) -> None:
        if available:
            self._local[user_id] = self._local.get(user_id, 0) + 1
            self._leaving.discard(user_id)
        else:
            left = self._local.get(user_id, 0) - 1
            if left > 0:
                self._local[user_id] = left
            else:
                self._local.pop(user_id, None)
                self._leaving.add(user_id)
        self._wake.set()  # publish the change now, not at the next tick

    def any_agent_available(self) -> bool:
        return bool(self._local) or bool(self._cluster)

    def available_agents(self) -> frozenset[str]:
        return self._cluster.union(self._local)

    async def heartbeat(self) -> None:
        """Write this node's agents, drop expired members, refresh the cluster count."""
        now = self._now()
        leaving, self._leaving = self._leaving, set()
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                if leaving:
                    pipe.zrem(self._key, *(f"{self._node}:{a}" for a in leaving))
                if self._local:
                    expires = now + self._ttl_s
                    pipe.zadd(self._key, {f"{self._node}:{a}": expires for a in self._local})
                pipe.zremrangebyscore(self._key, "-inf", now)
                pipe.zrange(self._key, 0, -1)
                results = await pipe.execute()
            # Members are "{node}:{agent}"; an agent with consoles on two nodes counts once.
            self._cluster = frozenset(
                (m.decode() if isinstance(m, bytes) else str(m)).split(":", 1)[1]
                for m in results[-1]
            )
        except (RedisError, OSError):
            self._leaving |= leaving - set(self._local)
            self._cluster = frozenset()
            log.warning("presence_heartbeat_failed")

    async def _loop(self) -> None:
        while True:
            await self.heartbeat()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Leave at once rather than after the TTL (best effort: we may be shutting down
        # because Redis is gone).
        self._leaving |= set(self._local)
        self._local.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.heartbeat(), 2)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()
