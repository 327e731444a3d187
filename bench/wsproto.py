"""A lean Bastion protocol client for load generation (not for tests: no buffering).

Contract: ``Socket.send_cmd`` assigns a fresh command id, sends the frame and, when the
matching ``ack``/``error`` arrives, calls ``on_reply(frame)`` once; every other frame goes
to ``on_event``. ``request`` awaits the reply instead. Nothing is kept per event, so a
socket costs O(outstanding commands) memory however long it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
from collections.abc import Callable
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

Frame = dict[str, Any]
Callback = Callable[[Frame], None]

_ids = itertools.count(1)


class Socket:
    def __init__(self, conn: ClientConnection, on_event: Callback | None = None) -> None:
        self.conn = conn
        self.on_event = on_event
        self.pending: dict[str, Callback] = {}
        self.closed = False
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        origin: str,
        cookie: str | None = None,
        compression: bool = False,
        on_event: Callback | None = None,
    ) -> Socket:
        """Browser-like handshake; ``compression`` offers permessage-deflate as browsers do."""
        conn = await websockets.connect(
            url,
            origin=origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": cookie} if cookie else None,
            compression="deflate" if compression else None,
            max_size=2**21,
            ping_interval=None,
            open_timeout=30,
        )
        return cls(conn, on_event)

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                frame = json.loads(raw)
                fid = frame.get("id")
                if fid is not None and frame.get("t") in ("ack", "error", "pong"):
                    cb = self.pending.pop(fid, None)
                    if cb is not None:
                        cb(frame)
                        continue
                if self.on_event is not None:
                    try:
                        self.on_event(frame)
                    except Exception as err:  # a bug in a callback must not end the reader
                        print(f"[wsproto] on_event failed: {err!r}", file=sys.stderr)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            for cb in self.pending.values():
                cb({"t": "error", "code": "socket_closed"})
            self.pending.clear()

    async def send_cmd(self, t: str, on_reply: Callback, **fields: Any) -> None:
        cid = f"lg{next(_ids)}"
        self.pending[cid] = on_reply
        try:
            await self.conn.send(json.dumps({"t": t, "id": cid, **fields}))
        except websockets.ConnectionClosed:
            self.pending.pop(cid, None)
            on_reply({"t": "error", "code": "socket_closed"})

    async def request(self, t: str, timeout: float = 30, **fields: Any) -> Frame:
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()

        def done(frame: Frame) -> None:
            if not fut.done():
                fut.set_result(frame)

        await self.send_cmd(t, done, **fields)
        reply = await asyncio.wait_for(fut, timeout)
        if reply.get("t") != "ack":
            raise RuntimeError(f"{t} failed: {reply}")
        return reply

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.close(), 5)
        self._reader.cancel()


async def visitor_token(http: httpx.AsyncClient, base: str, widget: str) -> str:
    # A pooled keep-alive connection the server has just closed fails once; retry twice.
    for attempt in range(3):
        try:
            r = await http.post(
                f"{base}/api/v1/widgets/{widget}/sessions", json={"page_url": f"{base}/demo/"}
            )
            break
        except httpx.TransportError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.2)
    if r.status_code != 201:
        raise RuntimeError(f"session: HTTP {r.status_code} {r.text[:200]}")
    return str(r.json()["token"])


async def agent_cookie(base: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{base}/api/v1/auth/login", json={"email": email, "password": password}
        )
        if r.status_code != 200:
            raise RuntimeError(f"login {email}: HTTP {r.status_code} {r.text[:200]}")
        return "; ".join(f"{k}={v}" for k, v in http.cookies.items())
