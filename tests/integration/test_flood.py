"""One client floods far above its limits while another visitor chats calmly.

Clients are told apart by X-Forwarded-For from a trusted proxy (the test itself, on
loopback), which also proves the trusted-proxy path. Every loop is bounded in count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.support.client import WsClient, login
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.asyncio

FLOODER = "203.0.113.66"
CALM = "198.51.100.7"
AGENT = "192.0.2.10"
CALM_MESSAGES = 10


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data: Path = tmp_path_factory.mktemp("flood") / "data"
    data.mkdir()
    server = Server(
        data_dir=data,
        database_url=None,
        extra_env={
            "BASTION_TRUSTED_PROXIES": "127.0.0.1/32",
            "BASTION_RL_HTTP": "60/minute",
            "BASTION_RL_MESSAGES": "20/minute",
            "BASTION_WS_MAX_STRIKES": "20",
            "BASTION_WS_MAX_PER_IP": "4",
            "BASTION_RL_HTTP_CREDENTIAL": "50/minute",
            "BASTION_HTTP_MAX_JSON_BYTES": "4096",
        },
    )
    try:
        server.start()
        server.create_user("agent@example.com", "agent", name="Jonas")
        yield server
    finally:
        server.stop()


async def _session(http: httpx.AsyncClient, srv: Server, ip: str) -> dict[str, Any]:
    r = await http.post(
        f"/api/v1/widgets/{srv.widget}/sessions",
        json={"page_url": f"{srv.base}/demo/"},
        headers={"X-Forwarded-For": ip},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _socket(srv: Server, path: str, ip: str, cookie: str | None = None) -> WsClient:
    headers = {"X-Forwarded-For": ip}
    if cookie:
        headers["Cookie"] = cookie
    conn = await websockets.connect(
        srv.base.replace("http", "ws", 1) + path, origin=srv.base, additional_headers=headers
    )
    return WsClient(conn)


async def test_flood_is_limited_and_the_calm_visitor_is_fully_delivered(srv: Server) -> None:
    cookie, _ = await login(srv.base, "agent@example.com", AGENT_PASSWORD)
    agent = await _socket(srv, "/ws/agent", AGENT, cookie)
    await agent.cmd("hello")
    async with httpx.AsyncClient(base_url=srv.base) as http:
        flood_token = (await _session(http, srv, FLOODER))["token"]
        calm_token = (await _session(http, srv, CALM))["token"]
        flooder = await _socket(srv, "/ws/visitor", FLOODER)
        await flooder.cmd("hello", token=flood_token)
        flood_conv = (
            await flooder.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
        )["conversation"]
        calm = await _socket(srv, "/ws/visitor", CALM)
        await calm.cmd("hello", token=calm_token)
        calm_conv = (
            await calm.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
        )["conversation"]

        async def http_flood() -> list[httpx.Response]:
            out = []
            for _ in range(150):
                out.append(
                    await http.get(
                        f"/api/v1/widgets/{srv.widget}/config", headers={"X-Forwarded-For": FLOODER}
                    )
                )
            return out

        async def ws_flood() -> None:
            # Fire without waiting for acks: 400 frames, far above every limit.
            with contextlib.suppress(websockets.ConnectionClosed):
                for i in range(400):
                    frame = {"t": "msg.send", "id": f"f{i}", "conversation": flood_conv}
                    await flooder.send_raw(json.dumps({**frame, "body": f"spam {i}"}))

        async def calm_chat() -> list[dict[str, Any]]:
            acks = []
            for i in range(CALM_MESSAGES):
                acks.append(
                    await calm.cmd("msg.send", conversation=calm_conv, body=f"question {i}")
                )
                await asyncio.sleep(0.3)
            return acks

        responses, _, acks = await asyncio.wait_for(
            asyncio.gather(http_flood(), ws_flood(), calm_chat()), 90
        )

        # HTTP: refused with 429, Retry-After and the JSON body; the calm IP is untouched.
        limited = [r for r in responses if r.status_code == 429]
        assert len(limited) >= 80
        assert int(limited[0].headers["retry-after"]) >= 1
        assert limited[0].json()["code"] == "rate_limited"
        assert "x-content-type-options" in limited[0].headers
        r = await http.get(
            f"/api/v1/widgets/{srv.widget}/config", headers={"X-Forwarded-For": CALM}
        )
        assert r.status_code == 200

    # WebSocket: rate_limited frames with retry_after, then close 1008 for repeated abuse.
    code, _reason = await asyncio.wait_for(flooder.closed, 30)
    assert code == 1008
    errors = [f for f in flooder.events if f.get("t") == "error"]
    assert any(f["code"] == "rate_limited" and f["retry_after"] >= 1 for f in errors)
    # Each refusal names the frame it refused, so a client knows which message was not sent.
    refused = [f for f in errors if f["code"] == "rate_limited"]
    assert refused and all(str(f["id"]).startswith("f") for f in refused)
    stored = [f for f in flooder.events if f.get("t") == "msg"]
    assert len(stored) <= 20, "messages per conversation are capped"

    # Every calm message reached the agent, in order.
    last_seq = acks[-1]["seq"]
    await agent.wait_for(
        lambda f: f.get("t") == "msg" and f["conversation"] == calm_conv and f["seq"] == last_seq,
        timeout=30,
    )
    bodies = [m["message"]["body"] for m in agent.messages(calm_conv)]
    assert bodies == [f"question {i}" for i in range(CALM_MESSAGES)]
    await calm.close()
    await agent.close()


async def test_connections_per_ip_are_capped_at_the_handshake(srv: Server) -> None:
    ip = "203.0.113.99"
    opened: list[WsClient] = []
    refused: list[int] = []
    try:
        for _ in range(7):
            try:
                opened.append(await _socket(srv, "/ws/visitor", ip))
            except InvalidStatus as err:
                refused.append(err.response.status_code)
        assert len(opened) == 4
        assert refused and set(refused) == {429}  # denial response, with Retry-After
        # Another address is not affected.
        other = await _socket(srv, "/ws/visitor", "203.0.113.100")
        pong = await other.request("ping")
        assert pong["t"] == "pong"
        await other.close()
    finally:
        for ws in opened:
            await ws.close()


async def test_login_and_session_limits_per_ip(srv: Server) -> None:
    async with httpx.AsyncClient(base_url=srv.base) as http:
        codes = []
        for i in range(12):
            # A new address each time: the per-account lockout (5 failures) is tested
            # elsewhere; this is the per-IP request limit in front of it.
            r = await http.post(
                "/api/v1/auth/login",
                json={"email": f"nobody{i}@example.com", "password": "wrong password 123"},
                headers={"X-Forwarded-For": "203.0.113.50"},
            )
            codes.append(r.status_code)
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
        assert r.json()["code"] == "rate_limited"
        # Another address may still log in.
        r = await http.post(
            "/api/v1/auth/login",
            json={"email": "agent@example.com", "password": AGENT_PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.51"},
        )
        assert r.status_code == 200
        codes = []
        for _ in range(32):
            r = await http.post(
                f"/api/v1/widgets/{srv.widget}/sessions",
                json={"page_url": f"{srv.base}/demo/"},
                headers={"X-Forwarded-For": "203.0.113.52"},
            )
            codes.append(r.status_code)
        assert codes.count(201) == 30 and codes[30:] == [429, 429]
        assert r.json()["code"] == "rate_limited" and "retry-after" in r.headers


async def test_new_conversations_per_visitor_are_limited(srv: Server) -> None:
    ip = "203.0.113.60"
    async with httpx.AsyncClient(base_url=srv.base) as http:
        token = (await _session(http, srv, ip))["token"]
    ws = await _socket(srv, "/ws/visitor", ip)
    await ws.cmd("hello", token=token)
    replies = []
    for _ in range(11):
        reply = await ws.request("chat.start", consent={"accepted": True, "version": "2026-01"})
        if reply["t"] == "ack":
            await ws.cmd("chat.end", conversation=reply["conversation"])
        replies.append(reply)
    assert all(r["t"] == "ack" for r in replies[:10])
    assert replies[10]["code"] == "rate_limited"
    assert 1 <= replies[10]["retry_after"] <= 3600
    await ws.close()


async def test_a_stored_message_resent_while_rate_limited_is_acknowledged(srv: Server) -> None:
    """A widget that lost its ack (a dropped connection) resends the message with the same
    id; at the rate limit that resend was answered rate_limited, and the widget reported a
    stored message as not sent."""
    ip = "203.0.113.61"
    async with httpx.AsyncClient(base_url=srv.base) as http:
        token = (await _session(http, srv, ip))["token"]
    ws = await _socket(srv, "/ws/visitor", ip)
    await ws.cmd("hello", token=token)
    consent = {"accepted": True, "version": "2026-01"}
    conv = (await ws.cmd("chat.start", consent=consent))["conversation"]
    acks = [
        await ws.cmd("msg.send", id=f"m-{i}", conversation=conv, body=f"question {i}")
        for i in range(20)
    ]
    refused = await ws.request("msg.send", id="m-new", conversation=conv, body="one more")
    assert refused["code"] == "rate_limited"
    again = await ws.request("msg.send", id="m-5", conversation=conv, body="question 5")
    assert again["t"] == "ack" and again["seq"] == acks[5]["seq"]
    still = await ws.request("msg.send", id="m-new", conversation=conv, body="one more")
    assert still["code"] == "rate_limited"  # a new message is still refused
    await ws.close()
    replay = await _socket(srv, "/ws/visitor", ip)
    hello = await replay.cmd("hello", token=token, resume={conv: 0})
    assert [c["last_seq"] for c in hello["conversations"] if c["id"] == conv] == [acks[-1]["seq"]]
    await replay.close()


async def test_one_token_from_many_addresses_is_held_to_one_budget(srv: Server) -> None:
    """Per-credential limit: a leaked token spread over addresses still gets 50/minute."""
    async with httpx.AsyncClient(base_url=srv.base) as http:
        token = (await _session(http, srv, "203.0.113.70"))["token"]
        codes = []
        for i in range(55):  # each address stays far below the per-IP limit (60/minute)
            r = await http.get(
                "/api/v1/conversations/c_none/events",
                headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": f"198.18.0.{i}"},
            )
            codes.append(r.status_code)
        assert 429 not in codes[:50] and codes[50:] == [429] * 5
        assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        # Another token from the same addresses is not affected.
        other = (await _session(http, srv, "203.0.113.71"))["token"]
        r = await http.get(
            "/api/v1/conversations/c_none/events",
            headers={"Authorization": f"Bearer {other}", "X-Forwarded-For": "198.18.0.1"},
        )
        assert r.status_code != 429


async def test_json_bodies_are_capped_in_size_and_depth(srv: Server) -> None:
    url = f"/api/v1/widgets/{srv.widget}/sessions"
    async with httpx.AsyncClient(base_url=srv.base) as http:
        big = {"page_url": f"{srv.base}/demo/", "pad": "x" * 5000}
        r = await http.post(url, json=big, headers={"X-Forwarded-For": "203.0.113.80"})
        assert r.status_code == 413 and r.json()["code"] == "too_large"
        assert r.headers["x-content-type-options"] == "nosniff"

        async def chunked() -> Any:
            for _ in range(10):  # no Content-Length: the cap is counted as it arrives
                yield b" " * 1000

        r = await http.post(
            url,
            content=chunked(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.80"},
        )
        assert r.status_code == 413 and r.json()["code"] == "too_large"

        deep = '{"page_url": "x", "a": ' + "[" * 20 + "]" * 20 + "}"
        r = await http.post(
            url,
            content=deep,
            headers={"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.80"},
        )
        assert r.status_code == 400 and r.json()["code"] == "json_too_deep"
        # Within the caps the same route works.
        r = await http.post(
            url, json={"page_url": f"{srv.base}/demo/"}, headers={"X-Forwarded-For": "203.0.113.80"}
        )
        assert r.status_code == 201
