"""hypothesis fuzzing of every visitor command over a live WebSocket.

Each case sends one frame — well-formed, or with fields of any JSON type — and then a
``ping``: the socket must answer ``pong``, so no input crashed the handler or closed
the connection. Examples are bounded per command.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.client import WsClient, connect_visitor
from tests.support.server import Server

LOUD = "100000/minute"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
texts = st.text(max_size=200) | st.sampled_from(
    ["", " ", "\x00", "\u202e", "<script>alert(1)</script>", "a" * 5000, "https://x.example/?q=1"]
)
urls = st.sampled_from(
    ["https://a.example/p", "javascript:alert(1)", "data:text/html,x", "//x", "http://[::1"]
) | st.text(max_size=60)
ids = st.uuids().map(str) | st.text(max_size=80) | json_values


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly plausible values, sometimes anything at all."""
    return st.one_of(valid, valid, json_values)


def frames(conv: str) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    convs = st.sampled_from([conv, "c_nope", ""]) | st.text(max_size=50)
    return {
        "hello": st.fixed_dictionaries(
            {"t": st.just("hello"), "token": maybe(st.text(max_size=20))}
        ),
        "chat.start": st.fixed_dictionaries(
            {"t": st.just("chat.start"), "id": ids},
            optional={
                "fields": maybe(st.dictionaries(st.sampled_from(["name", "email", "x"]), texts)),
                "consent": maybe(
                    st.fixed_dictionaries(
                        {"accepted": maybe(st.booleans())}, optional={"version": texts}
                    )
                ),
                "message": maybe(texts),
            },
        ),
        "msg.send": st.fixed_dictionaries(
            {
                "t": st.just("msg.send"),
                "id": ids,
                "conversation": maybe(convs),
                "body": maybe(texts),
            }
        ),
        "typing": st.fixed_dictionaries(
            {"t": st.just("typing"), "conversation": maybe(convs), "on": maybe(st.booleans())}
        ),
        "page": st.fixed_dictionaries(
            {"t": st.just("page"), "url": maybe(urls)},
            optional={"title": maybe(texts), "referrer": maybe(urls), "id": ids},
        ),
        "chat.end": st.fixed_dictionaries(
            {"t": st.just("chat.end"), "id": ids, "conversation": maybe(convs)}
        ),
        "rating": st.fixed_dictionaries(
            {
                "t": st.just("rating"),
                "id": ids,
                "conversation": maybe(convs),
                "score": maybe(st.sampled_from(["good", "bad", "meh"])),
            },
            optional={"comment": maybe(texts)},
        ),
        "ping": st.fixed_dictionaries({"t": st.just("ping")}, optional={"id": ids}),
    }


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data: Path = tmp_path_factory.mktemp("wsfuzz") / "data"
    data.mkdir()
    env = {
        f"BASTION_RL_{n}": LOUD for n in ("MESSAGES", "CONVERSATIONS_VISITOR", "CONVERSATIONS_IP")
    }
    env |= {
        "BASTION_WS_MAX_STRIKES": "100000",
        "BASTION_WS_FRAMES_PER_S": "10000",
        "BASTION_WS_FRAME_BURST": "10000",
        "BASTION_SPAM_DUPLICATES": "100000",
        "BASTION_SPAM_LINKS": "100000",
    }
    server = Server(data_dir=data, database_url=None, extra_env=env)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def live(srv: Server) -> Iterator[tuple[asyncio.Runner, WsClient, str]]:
    with asyncio.Runner() as runner:

        async def open_chat() -> tuple[WsClient, str]:
            ws, _ = await connect_visitor(srv.base, srv.widget)
            start = await ws.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
            return ws, str(start["conversation"])

        ws, conv = runner.run(open_chat())
        yield runner, ws, conv
        runner.run(ws.close())


COMMANDS = ["hello", "chat.start", "msg.send", "typing", "page", "chat.end", "rating", "ping"]


@pytest.mark.parametrize("command", COMMANDS)
def test_visitor_command_never_breaks_the_socket(
    command: str, live: tuple[asyncio.Runner, WsClient, str], srv: Server
) -> None:
    runner, ws, conv = live

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(frame=frames(conv)[command])
    def case(frame: dict[str, Any]) -> None:
        async def exchange() -> None:
            await ws.send_raw(json.dumps(frame))
            pong = await ws.request("ping", id=f"p-{uuid.uuid4()}", timeout=10)
            assert pong["t"] == "pong", pong

        assert not ws.closed.done(), ws.closed
        runner.run(exchange())

    case()
    errors = [e for e in ws.events if e.get("t") == "error"]
    assert all(e["code"] != "internal_error" for e in errors)
    assert srv.log_path is not None
    log = srv.log_path.read_text()
    assert "Traceback" not in log and "unhandled_error" not in log
