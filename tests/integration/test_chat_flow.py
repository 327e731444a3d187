"""A visitor and an agent talk over real sockets to a real server (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.client import connect_agent, connect_visitor, login
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.asyncio


async def test_visitor_and_agent_chat_end_to_end(server: Server) -> None:
    visitor, hello = await connect_visitor(server.base, server.widget)
    assert hello["conversations"] == []
    agent, agent_hello = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    assert agent_hello["agent"]["name"] == "Jonas"

    start = await visitor.cmd(
        "chat.start", fields={"name": "Ona"}, consent={"accepted": True, "version": "2026-01"}
    )
    conv = start["conversation"]
    assert start["state"] == "waiting"
    assert start["queue"]["position"] == 1

    # The agent sees the new waiting chat live, with the visitor's name.
    waiting = await agent.wait_for(
        lambda f: f.get("t") == "conv.state" and f["conversation"] == conv
    )
    assert waiting["state"] == "waiting"
    assert waiting["visitor"]["name"] == "Ona"

    sent = await visitor.cmd("msg.send", conversation=conv, body="Hello")
    seen = await agent.wait_for(lambda f: f.get("t") == "msg" and f["seq"] == sent["seq"])
    assert seen["message"]["body"] == "Hello"
    assert seen["message"]["author"] == {"kind": "visitor", "name": "Ona", "id": hello["visitor"]}

    await agent.cmd("conv.accept", conversation=conv)
    state = await visitor.wait_for(lambda f: f.get("t") == "conv.state" and f["state"] == "active")
    assert state["agent"] == {"name": "Jonas"}

    await agent.request("typing", conversation=conv, on=True)
    typing = await visitor.wait_for(lambda f: f.get("t") == "typing")
    assert typing["on"] is True and typing["author"]["kind"] == "agent"

    reply = await agent.cmd("msg.send", conversation=conv, body="Hi Ona!")
    got = await visitor.wait_for(lambda f: f.get("t") == "msg" and f["seq"] == reply["seq"])
    assert got["message"]["author"] == {"kind": "agent", "name": "Jonas"}

    note = await agent.cmd("note.send", conversation=conv, body="VIP customer")
    await agent.wait_for(lambda f: f.get("t") == "note" and f["seq"] == note["seq"])

    closed = await agent.cmd("conv.close", conversation=conv)
    await visitor.wait_for(lambda f: f.get("t") == "conv.state" and f["state"] == "closed")

    # Seqs on the agent side are gap-free; the visitor never sees the note.
    agent_seqs = [f["seq"] for f in agent.events if f.get("conversation") == conv and "seq" in f]
    assert sorted(set(agent_seqs)) == list(range(1, closed["seq"] + 1))
    assert len(agent_seqs) == len(set(agent_seqs))
    assert not [f for f in visitor.events if f.get("t") == "note"]
    assert "VIP customer" not in str(visitor.events)
    await visitor.close()
    await agent.close()


async def test_a_new_agent_is_available_on_opening_the_console_and_away_is_kept(
    server: Server,
) -> None:
    async def widget_online() -> bool:
        async with httpx.AsyncClient() as http:
            r = await http.get(f"{server.base}/api/v1/widgets/{server.widget}/config")
            return bool(r.json()["online"])

    assert not await widget_online()
    # A new account has never chosen a status: its first console session takes chats.
    agent, hello = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    assert hello["agent"]["status"] == "online"
    assert await widget_online()
    await agent.cmd("status.set", status="away")
    assert not await widget_online()
    await agent.close()
    # Away was chosen: the next session keeps it.
    again, hello = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    assert hello["agent"]["status"] == "away"
    assert not await widget_online()
    await again.close()


async def test_reconnect_resumes_without_duplicates(server: Server) -> None:
    visitor, hello = await connect_visitor(server.base, server.widget)
    start = await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
    conv = start["conversation"]
    first = await visitor.cmd("msg.send", conversation=conv, body="one")
    await visitor.close()

    # While the visitor is away, the agent accepts and replies.
    agent, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    await agent.cmd("conv.accept", conversation=conv)
    await agent.cmd("msg.send", conversation=conv, body="two")

    again, hello2 = await connect_visitor(
        server.base, server.widget, token=hello["token"], resume={conv: first["seq"]}
    )
    assert [c["id"] for c in hello2["conversations"]] == [conv]
    reply = await again.wait_for(lambda f: f.get("t") == "msg" and f["message"]["body"] == "two")
    assert reply["seq"] > first["seq"]
    await again.close()

    # A full replay (resume from 0) has every message exactly once, in seq order.
    fresh, _ = await connect_visitor(
        server.base, server.widget, token=hello["token"], resume={conv: 0}
    )
    await fresh.wait_for(lambda f: f.get("t") == "msg" and f["message"]["body"] == "two")
    seqs = [f["seq"] for f in fresh.events if f.get("conversation") == conv and "seq" in f]
    assert seqs == sorted(set(seqs))
    bodies = [m["message"]["body"] for m in fresh.messages(conv)]
    assert bodies == ["one", "two"]
    await fresh.close()
    await agent.close()


async def test_proactive_invite_and_visitor_page_reach_the_right_side(server: Server) -> None:
    visitor, hello = await connect_visitor(server.base, server.widget)
    agent, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    await visitor.request("page", url=f"{server.base}/pricing", title="Pricing")
    seen = await agent.wait_for(
        lambda f: f.get("t") == "visitor.page" and f["url"] == f"{server.base}/pricing"
    )
    assert seen["visitor"] == hello["visitor"] and seen["title"] == "Pricing"
    await agent.cmd("invite", visitor=hello["visitor"], body="Questions about pricing?")
    invite = await visitor.wait_for(lambda f: f.get("t") == "invite")
    assert invite["message"] == "Questions about pricing?" and invite["agent"] == {"name": "Jonas"}
    # The visitor answers: a chat starts, and the agent's summary shows the page.
    conv = (await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
        "conversation"
    ]
    import httpx

    from tests.support.client import login

    cookie, _csrf = await login(server.base, "agent@example.com", AGENT_PASSWORD)
    async with httpx.AsyncClient(base_url=server.base) as http:
        listed = (await http.get("/api/v1/conversations", headers={"Cookie": cookie})).json()
    mine = next(c for c in listed if c["id"] == conv)
    assert mine["page"]["url"] == f"{server.base}/pricing"
    # Another visitor never receives it.
    other, other_hello = await connect_visitor(server.base, server.widget)
    await agent.cmd("invite", visitor=other_hello["visitor"], body="Hi other")
    await other.wait_for(lambda f: f.get("t") == "invite")
    assert [f for f in visitor.events if f.get("t") == "invite"] == [invite]
    for c in (visitor, agent, other):
        await c.close()


async def test_the_queue_promises_no_wait_time_while_no_agent_is_available(
    server: Server,
) -> None:
    first, _ = await connect_visitor(server.base, server.widget)
    start = await first.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
    assert start["queue"] == {"position": 1, "eta_s": None}

    agent, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    # The visitor already waiting hears that someone is there now: an estimate, unasked.
    told = await first.wait_for(lambda f: f.get("t") == "queue" and f["eta_s"] is not None)
    assert told["position"] == 1 and told["eta_s"] >= 5
    second, _ = await connect_visitor(server.base, server.widget)
    queued = (await second.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
        "queue"
    ]
    assert queued["position"] == 2 and queued["eta_s"] >= 5

    # The queue moves while an agent is online: positions come with an estimate.
    await agent.cmd("conv.accept", conversation=start["conversation"])
    moved = await second.wait_for(lambda f: f.get("t") == "queue" and f["position"] == 1)
    assert moved["eta_s"] >= 5
    # Away: the waiting visitor's estimate goes at once, and the next move says where the
    # visitor stands, without a time.
    await agent.cmd("status.set", status="away")
    gone = await second.wait_for(lambda f: f.get("t") == "queue" and f["eta_s"] is None)
    assert gone["position"] == 1
    await agent.cmd("conv.close", conversation=start["conversation"])
    third, _ = await connect_visitor(server.base, server.widget)
    later = (await third.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
        "queue"
    ]
    assert later == {"position": 2, "eta_s": None}
    for ws in (first, second, third, agent):
        await ws.close()


async def test_a_console_opened_later_lists_who_is_on_the_site_now(server: Server) -> None:
    visitor, hello = await connect_visitor(server.base, server.widget)
    await visitor.request("page", url=f"{server.base}/cart", title="Cart")
    await visitor.request("page", url=f"{server.base}/checkout", title="Checkout")
    # The agent opens the console afterwards: the visitor's latest page comes with it.
    agent, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    seen = await agent.wait_for(
        lambda f: f.get("t") == "visitor.page" and f["visitor"] == hello["visitor"]
    )
    assert seen["url"] == f"{server.base}/checkout" and seen["title"] == "Checkout"
    assert set(seen) == {"t", "visitor", "url", "title", "ts"}
    assert [f["visitor"] for f in agent.events if f.get("t") == "visitor.page"].count(
        hello["visitor"]
    ) == 1
    await visitor.close()
    await agent.close()


async def test_clients_are_told_the_message_limit_the_server_holds(tmp_path: Path) -> None:
    # The widget and the console show this limit rather than cutting text off at their own.
    srv = Server(
        data_dir=tmp_path / "data",
        database_url=None,
        extra_env={"BASTION_MESSAGE_MAX_CHARS": "100"},
    )
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user("agent@example.com", "agent", name="Jonas")
        cookie, _csrf = await login(srv.base, "agent@example.com", AGENT_PASSWORD)
        async with httpx.AsyncClient(base_url=srv.base) as http:
            config = (await http.get(f"/api/v1/widgets/{srv.widget}/config")).json()
            me = (await http.get("/api/v1/auth/me", headers={"Cookie": cookie})).json()
        assert config["message_max_chars"] == 100
        assert me["message_max_chars"] == 100

        visitor, _ = await connect_visitor(srv.base, srv.widget)
        conv = (await visitor.cmd("chat.start", consent={"accepted": True, "version": "2026-01"}))[
            "conversation"
        ]
        # Counted in characters (code points), as the clients count them.
        await visitor.cmd("msg.send", conversation=conv, body="\U0001f600" * 100)
        refused = await visitor.request("msg.send", conversation=conv, body="x" * 101)
        assert refused["t"] == "error" and refused["field"] == "body"
        await visitor.close()
    finally:
        srv.stop()
