"""Redis restarts under a two-node cluster: readiness reports it, delivery resumes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.multinode.cluster import require_nginx, start_cluster
from tests.multinode.peers import eventually, new_agent, new_visitor, ready_status
from tests.support.postgres import create_database, drop_database, require_postgres
from tests.support.redis import PrivateRedis

pytestmark = pytest.mark.asyncio


async def test_redis_restart_loses_nothing_acknowledged(tmp_path: Path) -> None:
    await asyncio.to_thread(require_nginx)
    await asyncio.to_thread(require_postgres)
    redis = await asyncio.to_thread(PrivateRedis(tmp_path / "redis").start)
    url, name = await asyncio.to_thread(create_database)
    cluster = None
    try:
        cluster = await asyncio.to_thread(
            start_cluster, tmp_path, url, redis.url, "restart:", nodes=2
        )
        await asyncio.to_thread(cluster.nodes[0].create_user, "agent@example.com", "agent")
        n0, n1 = (n.base for n in cluster.nodes)
        visitor = await new_visitor(cluster.base, cluster.widget, n0)
        agent = await new_agent(cluster.base, "agent@example.com", n1)
        assert visitor.ws is not None and agent.ws is not None
        start = await visitor.ws.cmd("chat.start", consent={"accepted": True, "version": "2026-01"})
        conv = start["conversation"]
        await agent.wait_seq(conv, start["seq"])
        await agent.ws.cmd("conv.accept", conversation=conv)

        acked = [(await visitor.ws.cmd("msg.send", conversation=conv, body="before"))["seq"]]
        await agent.wait_seq(conv, acked[-1])

        await asyncio.to_thread(redis.stop)
        for base in (n0, n1):
            await eventually(lambda b=base: _status_is(b, 503))
        # The database still takes messages: they are acknowledged during the outage.
        acked.append((await visitor.ws.cmd("msg.send", conversation=conv, body="during"))["seq"])
        acked.append((await agent.ws.cmd("msg.send", conversation=conv, body="during"))["seq"])

        await asyncio.to_thread(redis.start)  # same port
        for base in (n0, n1):
            await eventually(lambda b=base: _status_is(b, 200), timeout=20)
        # The nodes resubscribed and told their sockets to re-read: no client action.
        await visitor.wait_seq(conv, acked[-1], timeout=20)
        await agent.wait_seq(conv, acked[-1], timeout=20)
        acked.append((await visitor.ws.cmd("msg.send", conversation=conv, body="after"))["seq"])
        await agent.wait_seq(conv, acked[-1])
        await visitor.wait_seq(conv, acked[-1])

        # Every acknowledged message exactly once on both sides (senders get theirs too).
        assert agent.message_seqs(conv) == sorted(acked)
        assert visitor.message_seqs(conv) == sorted(acked)
        await visitor.close()
        await agent.close()
    finally:
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)
        await asyncio.to_thread(redis.stop)
        await asyncio.to_thread(drop_database, name)


async def _status_is(base: str, status: int) -> bool:
    return await ready_status(base) == status
