"""Test clients that pin a first connection to one node and reconnect through nginx,
resuming every conversation from the last seq they saw."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.client import WsClient, login, visitor_session
from tests.support.server import AGENT_PASSWORD


def ws_url(base: str, path: str) -> str:
    return base.replace("http", "ws", 1) + path


@dataclass
class Peer:
    """One visitor or agent across connections; ``frames`` holds what every one received."""

    public: str
    kind: str  # "visitor" or "agent"
    credential: str  # visitor token or agent cookie
    ws: WsClient | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    cursors: dict[str, int] = field(default_factory=dict)

    async def connect(self, node_base: str | None = None) -> dict[str, Any]:
        """Connect to one node directly (Origin still the public one), or through nginx."""
        self._collect()
        if self.ws is not None:
            await self.ws.close()
        base = node_base or self.public
        cookie = self.credential if self.kind == "agent" else None
        self.ws = await WsClient.connect(
            ws_url(base, f"/ws/{self.kind}"), origin=self.public, cookie=cookie
        )
        hello: dict[str, Any] = {"resume": dict(self.cursors)}
        if self.kind == "visitor":
            hello["token"] = self.credential
        return await self.ws.cmd("hello", **hello)

    def _collect(self) -> None:
        """Move frames of the current connection into ``frames`` and advance cursors."""
        if self.ws is None:
            return
        for frame in self.ws.events:
            self.frames.append(frame)
            if "seq" in frame and "conversation" in frame:
                conv = frame["conversation"]
                self.cursors[conv] = max(self.cursors.get(conv, 0), frame["seq"])
        self.ws.events.clear()

    def all_frames(self) -> list[dict[str, Any]]:
        self._collect()
        return list(self.frames)

    def message_seqs(self, conversation: str) -> list[int]:
        return [
            f["seq"]
            for f in self.all_frames()
            if f.get("t") == "msg" and f.get("conversation") == conversation
        ]

    async def wait_seq(self, conversation: str, seq: int, timeout: float = 15) -> None:
        assert self.ws is not None
        await self.ws.wait_for(
            lambda f: f.get("conversation") == conversation and f.get("seq", 0) >= seq,
            timeout=timeout,
        )
        self._collect()

    async def close(self) -> None:
        if self.ws is not None:
            self._collect()
            await self.ws.close()
            self.ws = None


async def new_visitor(public: str, widget: str, node_base: str | None = None) -> Peer:
    token = (await visitor_session(public, widget))["token"]
    peer = Peer(public, "visitor", token)
    await peer.connect(node_base)
    return peer


async def new_agent(public: str, email: str, node_base: str | None = None) -> Peer:
    cookie, _csrf = await login(public, email, AGENT_PASSWORD)
    peer = Peer(public, "agent", cookie)
    await peer.connect(node_base)
    return peer


async def eventually(probe: Any, timeout: float = 15, step: float = 0.1) -> None:
    """Poll an async predicate until true (bounded in time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await probe():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(step)


async def ready_status(base: str) -> int:
    async with httpx.AsyncClient() as http:
        try:
            return (await http.get(f"{base}/readyz", timeout=3)).status_code
        except httpx.HTTPError:
            return 0
