"""Redis pub/sub bus: many nodes, one Redis, per-conversation channels.

Contract (beyond the Bus port): one pub/sub connection per node; handlers run on a
dispatcher task, in arrival order, so a slow handler never stalls the socket reader.
When Redis goes away, ``ping`` says False, publishes are dropped (the database is the
truth and clients catch up by seq), and a reconnect loop with capped, jittered backoff
resubscribes every channel. Because messages may have been lost meanwhile, every
handler then receives ``{"type": "resync"}`` once on each channel it follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bastion.domain.ports import BusHandler

log = structlog.get_logger(__name__)

RESYNC: dict[str, Any] = {"type": "resync"}
# A channel every node subscribes first: redis-py needs one subscription before it reads.
NODE_CHANNEL = "node"


class RedisBus:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "bastion:",
        queue_size: int = 10_000,
        max_backoff_s: float = 2.0,
    ) -> None:
        self._prefix = prefix
        self._max_backoff_s = max_backoff_s
        # No client-side retries: the reconnect loop below owns recovery, and a sender
        # (whose ack waits for its publish) must never sit in a retry backoff.
        self._redis = Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 0)
        )
        self._sub_redis = Redis.from_url(
            url, socket_connect_timeout=1, health_check_interval=5, retry=Retry(NoBackoff(), 0)
        )
        self._handlers: dict[str, list[BusHandler]] = {}
        self._pubsub: PubSub | None = None
        self._connected = False
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(queue_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        """Start the reader and the dispatcher; returns at once (Redis may still be down)."""
        if not self._tasks:
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._read_loop()), loop.create_task(self._dispatch())]

    # ---- the port ---------------------------------------------------------------------

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if self._tasks and not self._connected:
            # Known outage: drop at once rather than make the sender wait on a timeout.
            # (Not started — a command-line process that only publishes — it tries.)
            log.warning("bus_publish_dropped", channel=channel.split(":", 1)[0])
            return
        try:
            await self._redis.publish(self._prefix + channel, json.dumps(message))
        except (RedisError, OSError):
            # Quietly: subscribers catch up from the database by seq after the outage.
            log.warning("bus_publish_dropped", channel=channel.split(":", 1)[0])

    async def subscribe(self, channel: str, handler: BusHandler) -> None:
        handlers = self._handlers.setdefault(channel, [])
        handlers.append(handler)
        if len(handlers) == 1 and self._connected and self._pubsub is not None:
            try:
                await self._pubsub.subscribe(self._prefix + channel)
            except (RedisError, OSError):
                # The reconnect loop resubscribes every channel in _handlers.
                log.warning("bus_subscribe_deferred")

    async def unsubscribe(self, channel: str, handler: BusHandler) -> None:
        handlers = self._handlers.get(channel)
        if not handlers or handler not in handlers:
            return
        handlers.remove(handler)
        if handlers:
            return
        del self._handlers[channel]
        if self._connected and self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(self._prefix + channel)

    async def ping(self) -> bool:
        if not self._connected:
            return False
        try:
            return bool(await asyncio.wait_for(self._redis.ping(), 2))
        except (RedisError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._drop_pubsub()
        for client in (self._redis, self._sub_redis):
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()
        self._handlers.clear()

    # ---- reading ----------------------------------------------------------------------

    async def _read_loop(self) -> None:
        backoff = 0.05
        was_connected = False
        while not self._closed:
            try:
                await self._connect()
                if was_connected:
                    log.info("bus_reconnected")
                    self._resync_all()
                was_connected = True
                backoff = 0.05
                await self._read()
            except (RedisError, OSError) as err:
                if self._connected:
                    log.warning("bus_connection_lost", error=type(err).__name__)
            self._connected = False
            await self._drop_pubsub()
            # Jitter keeps a cluster from reconnecting in lock-step after a Redis restart.
            await asyncio.sleep(backoff * (0.5 + random.random()))  # noqa: S311 - not crypto
            backoff = min(backoff * 2, self._max_backoff_s)

    async def _connect(self) -> None:
        pubsub = self._sub_redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub = pubsub
        await pubsub.subscribe(self._prefix + NODE_CHANNEL)
        # Connected before the snapshot: a subscribe() racing with it then subscribes
        # itself (a duplicate is harmless) instead of falling between the two.
        self._connected = True
        channels = [self._prefix + c for c in self._handlers]
        if channels:
            await pubsub.subscribe(*channels)

    async def _read(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        while not self._closed:
            raw = await pubsub.get_message(timeout=1.0)
            if raw is None or raw.get("type") != "message":
                continue
            channel = raw["channel"].decode()[len(self._prefix) :]
            try:
                message = json.loads(raw["data"])
            except ValueError:
                log.warning("bus_message_undecodable", channel=channel.split(":", 1)[0])
                continue
            self._enqueue(channel, message)

    def _enqueue(self, channel: str, message: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait((channel, message))
        except asyncio.QueueFull:
            # Dropping is allowed by the port; followers fill gaps from the database.
            log.warning("bus_dispatch_queue_full")

    def _resync_all(self) -> None:
        for channel in list(self._handlers):
            self._enqueue(channel, dict(RESYNC))

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated upstream

    async def _dispatch(self) -> None:
        while True:
            channel, message = await self._queue.get()
            for handler in list(self._handlers.get(channel, ())):
                try:
                    await handler(channel, message)
                except Exception:
                    log.exception("bus_handler_failed", channel=channel.split(":", 1)[0])
