"""Three nodes behind nginx on one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.multinode.cluster import Cluster
from tests.multinode.conftest import MAX_CHATS
from tests.multinode.peers import Peer, eventually, new_agent, new_visitor
from tests.support.client import visitor_session

pytestmark = pytest.mark.asyncio

CONSENT = {"accepted": True, "version": "2026-01"}


async def _online_via(node_base: str, widget: str) -> bool:
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{node_base}/api/v1/widgets/{widget}/config", timeout=3)
        return bool(r.json()["online"])


async def test_messages_presence_and_typing_cross_nodes(cluster: Cluster) -> None:
    n0, n1, n2 = (n.base for n in cluster.nodes)
    pub, widget = cluster.base, cluster.widget
    assert not await _online_via(n2, widget)

    agent = await new_agent(pub, "agent0@example.com", n1)
    assert agent.ws is not None
    await agent.ws.cmd("status.set", status="online")
    # Presence crosses nodes: node 2 has no agent socket, yet the widget shows "online",
    # and the colleague list read through node 2 shows this agent available.
    await eventually(lambda: _online_via(n2, widget))

    async def available_via_n2() -> bool:
        async with httpx.AsyncClient() as http:
            r = await http.get(
                f"{n2}/api/v1/agents", headers={"Cookie": agent.credential}, timeout=3
            )
            return any(a["available"] for a in r.json() if a["name"] == "Agent0")

    await eventually(available_via_n2)

    ona = await new_visitor(pub, widget, n0)
    petras = await new_visitor(pub, widget, n2)
    assert ona.ws is not None and petras.ws is not None
    convs = []
    for visitor in (ona, petras):
        assert visitor.ws is not None
        start = await visitor.ws.cmd("chat.start", fields={"name": "V"}, consent=CONSENT)
        conv = start["conversation"]
        # The waiting chat appears live on the agent's node.
        await agent.wait_seq(conv, start["seq"])
        await agent.ws.cmd("conv.accept", conversation=conv)
        convs.append(conv)
    c_ona, c_petras = convs

    sent = await ona.ws.cmd("msg.send", conversation=c_ona, body="hello from node 0")
    await agent.wait_seq(c_ona, sent["seq"])
    sent = await petras.ws.cmd("msg.send", conversation=c_petras, body="hello from node 2")
    await agent.wait_seq(c_petras, sent["seq"])
    for conv, visitor in ((c_ona, ona), (c_petras, petras)):
        reply = await agent.ws.cmd("msg.send", conversation=conv, body="hi from node 1")
        await visitor.wait_seq(conv, reply["seq"])

    await agent.ws.request("typing", conversation=c_ona, on=True)
    typing = await ona.ws.wait_for(lambda f: f.get("t") == "typing")
    assert typing["author"]["kind"] == "agent"
    await petras.ws.request("typing", conversation=c_petras, on=True)
    await agent.ws.wait_for(lambda f: f.get("t") == "typing" and f["conversation"] == c_petras)
    # Typing is only relayed to the conversation's other side.
    assert not [f for f in petras.all_frames() if f.get("t") == "typing"]

    for conv in convs:
        await agent.ws.cmd("conv.close", conversation=conv)
    for peer in (ona, petras, agent):
        await peer.close()
    # Presence leaves the cluster when the agent's socket closes.
    await eventually(lambda: _not(_online_via(n2, widget)))


async def _not(awaitable: object) -> bool:
    return not await awaitable  # type: ignore[misc]


async def test_capacity_race_across_two_nodes(cluster: Cluster) -> None:
    n0, n1 = cluster.nodes[0].base, cluster.nodes[1].base
    pub, widget = cluster.base, cluster.widget
    agents = [
        await new_agent(pub, "agent1@example.com", n0),
        await new_agent(pub, "agent2@example.com", n1),
    ]
    visitors = await asyncio.gather(*(new_visitor(pub, widget) for _ in range(8)))

    async def start(v: object) -> str:
        assert v.ws is not None  # type: ignore[attr-defined]
        ack = await v.ws.cmd("chat.start", consent=CONSENT)  # type: ignore[attr-defined]
        return str(ack["conversation"])

    convs = await asyncio.gather(*(start(v) for v in visitors))

    async def grab(peer: object) -> list[str]:
        replies = await asyncio.gather(
            *(peer.ws.request("conv.accept", conversation=c) for c in convs)  # type: ignore[attr-defined]
        )
        for reply in replies:
            assert reply["t"] == "ack" or reply["code"] in ("at_capacity", "invalid_state"), reply
        return [r["conversation"] for r in replies if r["t"] == "ack"]

    won = await asyncio.gather(*(grab(a) for a in agents))
    assert all(len(w) <= MAX_CHATS for w in won), won
    assert not set(won[0]) & set(won[1]), "a conversation was given to two agents"
    assert len(won[0]) + len(won[1]) == 2 * MAX_CHATS

    # The database agrees: a fresh hello lists each agent's own active chats.
    for agent, mine in zip(agents, won, strict=True):
        hello = await agent.connect()
        active = [c["id"] for c in hello["conversations"] if c["state"] == "active"]
        assert sorted(active) == sorted(mine)
        for conv in mine:
            assert agent.ws is not None
            await agent.ws.cmd("conv.close", conversation=conv)
        await agent.close()
    for v in visitors:
        await v.close()


async def test_a_ban_closes_the_visitor_socket_on_another_node(cluster: Cluster) -> None:
    n0, n2 = cluster.nodes[0].base, cluster.nodes[2].base
    pub, widget = cluster.base, cluster.widget
    banned = Peer(pub, "visitor", (await visitor_session(pub, widget))["token"])
    visitor_id = (await banned.connect(n2))["visitor"]
    bystander = await new_visitor(pub, widget, n2)
    agent = await new_agent(pub, "agent0@example.com", n0)
    assert banned.ws is not None and bystander.ws is not None and agent.ws is not None
    await agent.ws.cmd("visitor.ban", visitor=visitor_id, duration_s=600, reason="abuse")
    notice = await banned.ws.wait_for(lambda f: f.get("t") == "error")
    assert notice["code"] == "unavailable"
    assert (await asyncio.wait_for(banned.ws.closed, 10))[0] == 1008
    assert (await bystander.ws.request("ping"))["t"] == "pong"
    for peer in (banned, bystander, agent):
        await peer.close()


async def test_sigkill_a_node_clients_resume_through_nginx(cluster: Cluster) -> None:
    victim = cluster.nodes[2]
    pub, widget = cluster.base, cluster.widget
    visitor = await new_visitor(pub, widget, victim.base)
    agent = await new_agent(pub, "agent0@example.com", victim.base)
    assert visitor.ws is not None and agent.ws is not None
    start = await visitor.ws.cmd("chat.start", consent=CONSENT)
    conv = start["conversation"]
    await agent.wait_seq(conv, start["seq"])
    await agent.ws.cmd("conv.accept", conversation=conv)

    acked: dict[str, list[int]] = {"visitor": [], "agent": []}
    for n in range(3):
        acked["visitor"].append(
            (await visitor.ws.cmd("msg.send", conversation=conv, body=f"v{n}"))["seq"]
        )
        acked["agent"].append(
            (await agent.ws.cmd("msg.send", conversation=conv, body=f"a{n}"))["seq"]
        )
    try:
        victim.kill()
        await asyncio.gather(visitor.ws.closed, agent.ws.closed)
        # Reconnect through nginx: it routes around the dead node; resume by seq.
        await visitor.connect()
        await agent.connect()
        for n in range(3, 5):
            acked["visitor"].append(
                (await visitor.ws.cmd("msg.send", conversation=conv, body=f"v{n}"))["seq"]
            )
            acked["agent"].append(
                (await agent.ws.cmd("msg.send", conversation=conv, body=f"a{n}"))["seq"]
            )
        last = max(acked["visitor"] + acked["agent"])
        await visitor.wait_seq(conv, last)
        await agent.wait_seq(conv, last)
        everything = sorted(acked["visitor"] + acked["agent"])
        # Every acknowledged message, exactly once, on both sides (across both sockets).
        assert visitor.message_seqs(conv) == everything
        assert agent.message_seqs(conv) == everything
        await agent.ws.cmd("conv.close", conversation=conv)
    finally:
        await visitor.close()
        await agent.close()
        victim.start()
