"""A file shared through one node is downloaded through another: the sealed bytes live in
PostgreSQL (``BASTION_FILE_STORE=auto``), not in a node's own data directory."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.multinode.cluster import Cluster, require_nginx, start_cluster
from tests.multinode.peers import new_agent, new_visitor
from tests.support import samples
from tests.support.clamd import Clamd
from tests.support.client import login
from tests.support.postgres import create_database, drop_database, require_postgres
from tests.support.redis import machine_redis_url, require_redis, unique_prefix
from tests.support.server import AGENT_PASSWORD

pytestmark = pytest.mark.asyncio

CONSENT = {"accepted": True, "version": "2026-01"}


@pytest.fixture(scope="module")
def file_cluster(tmp_path_factory: pytest.TempPathFactory, clamd: Clamd) -> Iterator[Cluster]:
    """Two nodes, each with its own data directory, scanning with the test clamd."""
    require_nginx()
    require_postgres()
    require_redis()
    url, name = create_database()
    try:
        c = start_cluster(
            tmp_path_factory.mktemp("files-cluster"),
            url,
            machine_redis_url(),
            unique_prefix(),
            nodes=2,
            BASTION_CLAMD=clamd.address,
        )
        try:
            c.nodes[0].create_user("agent@example.com", "agent", name="Jonas")
            yield c
        finally:
            c.stop()
    finally:
        drop_database(name)


async def test_a_file_uploaded_on_one_node_downloads_on_another(file_cluster: Cluster) -> None:
    n0, n1 = (n.base for n in file_cluster.nodes)
    pub = file_cluster.base
    visitor = await new_visitor(pub, file_cluster.widget, n0)
    agent = await new_agent(pub, "agent@example.com", n1)
    assert visitor.ws is not None and agent.ws is not None
    start = await visitor.ws.cmd("chat.start", consent=CONSENT)
    conv = start["conversation"]
    await agent.wait_seq(conv, start["seq"])
    await agent.ws.cmd("conv.accept", conversation=conv)
    vauth = {"Authorization": f"Bearer {visitor.credential}"}
    cookie, csrf = await login(pub, "agent@example.com", AGENT_PASSWORD)
    aauth = {"Cookie": cookie, "X-CSRF-Token": csrf}
    # About 1 MiB, so the blob is more than a page or two of the database.
    notes = samples.text("\n".join(f"order line {i:06d}" for i in range(60000)))
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(
                f"{n0}/api/v1/conversations/{conv}/files",
                params={"name": "notes.txt"},
                content=notes,
                headers={**vauth, "Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 201, r.text
            up = r.json()
            await agent.wait_seq(conv, up["seq"])
            got = await http.get(f"{n1}/api/v1/files/{up['file']['id']}", headers=aauth)
            assert got.status_code == 200, got.text
            assert got.content == notes

            # And back: the agent's file, uploaded on node 1, reaches the visitor on node 0.
            r = await http.post(
                f"{n1}/api/v1/conversations/{conv}/files",
                params={"name": "reply.pdf"},
                content=samples.pdf("reply 42"),
                headers={**aauth, "Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 201, r.text
            back = r.json()
            await visitor.wait_seq(conv, back["seq"])
            got = await http.get(f"{n0}/api/v1/files/{back['file']['id']}", headers=vauth)
            assert got.status_code == 200 and got.content == samples.pdf("reply 42")
        # Neither node kept a copy in its own data directory.
        for node in file_cluster.nodes:
            assert not (node.data_dir / "files").exists()
    finally:
        await visitor.close()
        await agent.close()
