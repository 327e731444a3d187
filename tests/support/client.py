"""Protocol clients for tests: real WebSocket connections to a real server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection


class ProtocolError(AssertionError):
    pass


class WsClient:
    """Sends commands with ids, matches acks and errors, and buffers events."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._new = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self.closed: asyncio.Future[tuple[int | None, str | None]] = (
            asyncio.get_running_loop().create_future()
        )

    @classmethod
    async def connect(
        cls, url: str, *, origin: str, cookie: str | None = None, max_size: int = 2**21
    ) -> WsClient:
        headers = {"Cookie": cookie} if cookie else None
        conn = await websockets.connect(
            url,
            origin=origin,
            additional_headers=headers,
            max_size=max_size,  # type: ignore[arg-type]
        )
        return cls(conn)

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                frame = json.loads(raw)
                fid = frame.get("id")
                if frame.get("t") in ("ack", "error", "pong") and fid in self._replies:
                    fut = self._replies.pop(fid)
                    if not fut.done():
                        fut.set_result(frame)
                    if frame.get("t") != "ack" or fid is not None:
                        # errors with an id are replies; keep a copy for assertions too
                        pass
                else:
                    self.events.append(frame)
                    self._new.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result((self.conn.close_code, self.conn.close_reason))
            self._new.set()

    async def send_raw(self, data: str | bytes) -> None:
        await self.conn.send(data)

    async def request(
        self, t: str, *, id: str | None = None, timeout: float = 10, **fields: Any
    ) -> dict[str, Any]:
        cid = id or str(uuid.uuid4())
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[cid] = fut
        await self.conn.send(json.dumps({"t": t, "id": cid, **fields}))
        return await asyncio.wait_for(fut, timeout)

    async def cmd(self, t: str, **fields: Any) -> dict[str, Any]:
        """Like request, but an error reply fails the test."""
        reply = await self.request(t, **fields)
        if reply["t"] != "ack":
            raise ProtocolError(f"{t} failed: {reply}")
        return reply

    async def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10, start: int = 0
    ) -> dict[str, Any]:
        """The first buffered frame from index ``start`` on that matches ``pred``."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = start
        while True:
            for frame in self.events[seen:]:
                if pred(frame):
                    return frame
            seen = len(self.events)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self.closed.done():
                raise ProtocolError(f"no matching frame; got {self.events[-5:]}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)

    def messages(self, conversation: str) -> list[dict[str, Any]]:
        return [
            e for e in self.events if e.get("t") == "msg" and e.get("conversation") == conversation
        ]

    async def close(self) -> None:
        await self.conn.close()
        self._reader.cancel()


async def visitor_session(
    base: str, widget: str, page_url: str | None = None, resume: str | None = None
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        body: dict[str, Any] = {"page_url": page_url or f"{base}/demo/"}
        if resume:
            body["resume_token"] = resume
        r = await http.post(f"/api/v1/widgets/{widget}/sessions", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


async def connect_visitor(
    base: str, widget: str, *, token: str | None = None, resume: dict[str, int] | None = None
) -> tuple[WsClient, dict[str, Any]]:
    if token is None:
        token = (await visitor_session(base, widget))["token"]
    ws = await WsClient.connect(base.replace("http", "ws", 1) + "/ws/visitor", origin=base)
    ack = await ws.cmd("hello", token=token, resume=resume or {})
    ack["token"] = token
    return ws, ack


async def login(base: str, email: str, password: str) -> tuple[str, str]:
    """Returns (cookie header value, csrf token)."""
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        return cookie, r.json()["csrf_token"]


async def connect_agent(
    base: str, email: str, password: str, resume: dict[str, int] | None = None
) -> tuple[WsClient, dict[str, Any]]:
    cookie, _csrf = await login(base, email, password)
    ws = await WsClient.connect(
        base.replace("http", "ws", 1) + "/ws/agent", origin=base, cookie=cookie
    )
    ack = await ws.cmd("hello", resume=resume or {})
    return ws, ack
