"""The lean uvicorn WebSocket protocol behaves like uvicorn's and keeps less per socket."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from bastion.transport.ws.lean import LeanWebSocketProtocol, _Flag
from bastion.transport.ws.mailbox import Mailbox


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        text = await ws.receive_text()
        if text == "bye":
            await ws.close(4001, "asked to")
            return
        await ws.send_text(text.upper())


@pytest.fixture
async def server() -> AsyncIterator[tuple[uvicorn.Server, str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Starlette(routes=[WebSocketRoute("/ws", echo)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="bastion.transport.ws.lean:LeanWebSocketProtocol",
        ws_per_message_deflate=False, log_level="warning", lifespan="off",
    )  # fmt: skip
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    for _ in range(200):
        if srv.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield srv, f"ws://127.0.0.1:{port}/ws"
    finally:
        srv.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


async def test_frames_round_trip_and_the_close_code_reaches_the_client(
    server: tuple[uvicorn.Server, str],
) -> None:
    srv, url = server
    async with websockets.connect(url, compression=None) as client:
        for word in ("hello", "ąčę", "x" * 10_000):
            await client.send(word)
            assert await asyncio.wait_for(client.recv(), 5) == word.upper()
        (proto,) = srv.server_state.connections
        assert isinstance(proto, LeanWebSocketProtocol)
        # Handshake over: its request and response are no longer held.
        assert "request" not in proto.__dict__ and "response" not in proto.__dict__
        assert isinstance(proto.queue, Mailbox)
        await client.send("bye")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(client.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_many_frames_in_one_write_all_arrive_in_order(
    server: tuple[uvicorn.Server, str],
) -> None:
    _srv, url = server
    async with websockets.connect(url, compression=None) as client:
        words = [f"w{i}" for i in range(200)]
        await asyncio.gather(*(client.send(w) for w in words))
        got = [await asyncio.wait_for(client.recv(), 5) for _ in words]
    assert got == [w.upper() for w in words]


async def test_the_writable_flag_wakes_waiters() -> None:
    flag = _Flag()
    assert await flag.wait()
    flag.clear()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    assert await asyncio.wait_for(waiter, 1)
