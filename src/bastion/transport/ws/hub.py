"""The connection hub: which sockets of this node follow which bus channels.

The hub subscribes a channel on the bus once, however many local sockets follow it, and
hands every message to those sockets' inboxes without waiting on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from bastion.domain.ports import Bus


class Follower(Protocol):
    def post(self, channel: str, message: dict[str, Any]) -> None:
        """Queue a bus message for the socket; must not block."""
        ...


class Presence(Protocol):
    """Which agents are available to take chats: this node's, or the whole cluster's."""

    def agent_available(self, user_id: str, available: bool) -> None:
        """Count one socket of ``user_id`` in or out; must not block."""
        ...

    def any_agent_available(self) -> bool: ...

    def available_agents(self) -> frozenset[str]:
        """The agents available now (online, with a console open), on any node."""
        ...


class LocalPresence:
    """Presence of this node's agents only: right for a single process (MemoryBus)."""

    def __init__(self) -> None:
        self._online_agents: dict[str, int] = {}

    def agent_available(self, user_id: str, available: bool) -> None:
        if available:
            self._online_agents[user_id] = self._online_agents.get(user_id, 0) + 1
        else:
            left = self._online_agents.get(user_id, 0) - 1
            if left > 0:
                self._online_agents[user_id] = left
            else:
                self._online_agents.pop(user_id, None)

    def any_agent_available(self) -> bool:
        return bool(self._online_agents)

    def available_agents(self) -> frozenset[str]:
        return frozenset(self._online_agents)


class Hub:
    def __init__(self, bus: Bus, presence: Presence | None = None) -> None:
        self._bus = bus
        self._channels: dict[str, set[Follower]] = {}
        self.presence: Presence = presence or LocalPresence()

    async def follow(self, follower: Follower, channel: str) -> None:
        members = self._channels.get(channel)
        if members is None:
            members = self._channels[channel] = set()
            await self._bus.subscribe(channel, self._dispatch)
        members.add(follower)

    async def unfollow(self, follower: Follower, channel: str) -> None:
        members = self._channels.get(channel)
        if members is None:
            return
        members.discard(follower)
        if not members:
            del self._channels[channel]
            await self._bus.unsubscribe(channel, self._dispatch)

    async def unfollow_all(self, follower: Follower, channels: Iterable[str]) -> None:
        for channel in list(channels):
            await self.unfollow(follower, channel)

    async def _dispatch(self, channel: str, message: dict[str, Any]) -> None:
        for follower in list(self._channels.get(channel, ())):
            follower.post(channel, message)

    # Presence is delegated: in-process for one node, Redis-backed for a cluster.
    def agent_available(self, user_id: str, available: bool) -> None:
        self.presence.agent_available(user_id, available)

    def any_agent_available(self) -> bool:
        return self.presence.any_agent_available()

    def available_agents(self) -> frozenset[str]:
        return self.presence.available_agents()

    @property
    def channel_count(self) -> int:
        return len(self._channels)
