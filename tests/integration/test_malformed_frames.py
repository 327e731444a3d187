"""Bad frames get coded error frames; the socket and server survive; nothing is stored."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.support.client import WsClient, connect_visitor
from tests.support.server import Server

pytestmark = pytest.mark.asyncio


async def _events(server: Server, token: str, conv: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.get(
            f"/api/v1/conversations/{conv}/events",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 200
    return list(r.json()["events"])


async def test_malformed_frames_get_coded_errors_and_store_nothing(server: Server) -> None:
    visitor, hello = await connect_visitor(server.base, server.widget)
    conv = (await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
        "conversation"
    ]
    before = await _events(server, hello["token"], conv)

    cases: list[tuple[str | bytes, str]] = [
        ("{not json", "invalid_json"),
        ("[1,2,3]", "invalid_json"),
        ('"just a string"', "invalid_json"),
        ("[" * 3000 + "]" * 3000, "json_too_deep"),
        (b"\x00\x01binary", "invalid_json"),
        (json.dumps({"t": "bogus"}), "unknown_type"),
        (json.dumps({"t": 42}), "invalid_frame"),
        (json.dumps({"no_type": True}), "invalid_frame"),
        (
            json.dumps({"t": "msg.send", "id": "x1", "conversation": conv, "body": 12}),
            "invalid_frame",
        ),
        (json.dumps({"t": "msg.send", "id": "x2", "conversation": conv}), "invalid_frame"),
        (
            json.dumps({"t": "msg.send", "id": "x3", "conversation": ["a"], "body": "hi"}),
            "invalid_frame",
        ),
        (
            json.dumps(
                {"t": "msg.send", "id": "x4", "conversation": conv, "body": "hi", "extra": 1}
            ),
            "invalid_frame",
        ),
        (json.dumps({"t": "typing", "conversation": conv, "on": "yes"}), "invalid_frame"),
        (
            json.dumps({"t": "msg.send", "id": "x5", "conversation": conv, "body": "   "}),
            "invalid_frame",
        ),
        (
            json.dumps({"t": "msg.send", "id": "x6", "conversation": conv, "body": "a" * 4001}),
            "invalid_frame",
        ),
        (
            json.dumps({"t": "msg.send", "id": "x7", "conversation": conv, "body": "bell\x07"}),
            "invalid_frame",
        ),
        (
            json.dumps({"t": "msg.send", "id": "x8", "conversation": conv, "body": "x" * 17000}),
            "frame_too_large",
        ),
        (
            json.dumps({"t": "msg.send", "id": "x9", "conversation": "c_nope", "body": "hi"}),
            "not_found",
        ),
        (
            json.dumps({"t": "rating", "id": "x10", "conversation": conv, "score": "meh"}),
            "invalid_frame",
        ),
        (json.dumps({"t": "conv.accept", "id": "x11", "conversation": conv}), "unknown_type"),
        (json.dumps({"t": "hello", "id": "x12", "token": "again"}), "already_authenticated"),
    ]
    for raw, code in cases:
        before_count = len(visitor.events)
        await visitor.send_raw(raw)
        frame = await visitor.wait_for(
            lambda f: f.get("t") == "error", timeout=5, start=before_count
        )
        assert frame["code"] == code, (raw if isinstance(raw, bytes) else raw[:80], frame)
        assert "Traceback" not in frame["message"]

    # Errors with ids are matched to their command; the socket still works.
    reply = await visitor.request("msg.send", conversation=conv, body=None)
    assert reply["t"] == "error" and reply["code"] == "invalid_frame" and reply["field"] == "body"
    ok = await visitor.cmd("msg.send", conversation=conv, body="still here")
    assert ok["seq"] == before[-1]["seq"] + 1  # nothing was stored by the bad frames

    after = await _events(server, hello["token"], conv)
    assert [e for e in after if e["t"] == "msg"] == [
        e for e in after if e["t"] == "msg" and e["message"]["body"] == "still here"
    ]
    async with httpx.AsyncClient(base_url=server.base) as http:
        assert (await http.get("/healthz")).status_code == 200
    await visitor.close()


async def test_commands_before_hello_are_refused_and_closed(server: Server) -> None:
    ws = await WsClient.connect(
        server.base.replace("http", "ws") + "/ws/visitor", origin=server.base
    )
    reply = await ws.request("msg.send", conversation="c_x", body="hi")
    assert reply["code"] == "not_authenticated"
    code, _reason = await ws.closed
    assert code == 1008


async def test_a_malformed_hello_is_answered_and_closed(server: Server) -> None:
    """Not left open until the hello timeout (10 s) with abuse strikes to spend."""
    for frame in ({"t": "hello", "id": "h1"}, {"t": "hello", "id": "h1", "token": 7}):
        ws = await WsClient.connect(
            server.base.replace("http", "ws") + "/ws/visitor", origin=server.base
        )
        await ws.send_raw(json.dumps(frame))
        code, _reason = await asyncio.wait_for(ws.closed, 3)
        assert code == 1008
        assert [(e["t"], e["id"], e["code"]) for e in ws.events] == [
            ("error", "h1", "invalid_frame")
        ]


async def test_bad_token_is_refused(server: Server) -> None:
    ws = await WsClient.connect(
        server.base.replace("http", "ws") + "/ws/visitor", origin=server.base
    )
    reply = await ws.request("hello", token="vt_forged")
    assert reply["code"] == "not_authenticated"
    assert (await ws.closed)[0] == 1008


async def test_foreign_origin_handshake_is_refused(server: Server) -> None:
    import websockets

    for path in ("/ws/visitor", "/ws/agent"):
        with pytest.raises(websockets.InvalidStatus) as info:
            await WsClient.connect(
                server.base.replace("http", "ws") + path, origin="https://evil.example"
            )
        assert info.value.response.status_code == 403


async def test_agent_socket_without_session_is_refused(server: Server) -> None:
    ws = await WsClient.connect(server.base.replace("http", "ws") + "/ws/agent", origin=server.base)
    reply = await ws.request("hello", resume={})
    assert reply["code"] == "not_authenticated"
    assert (await ws.closed)[0] == 1008
