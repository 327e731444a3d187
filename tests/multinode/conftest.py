"""Fixtures: a three-node cluster behind nginx on fresh PostgreSQL and the machine's Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.multinode.cluster import Cluster, require_nginx, start_cluster
from tests.support.postgres import create_database, drop_database, require_postgres
from tests.support.redis import machine_redis_url, require_redis, unique_prefix
from tests.support.server import AGENT_PASSWORD

MAX_CHATS = 2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_nginx()
    require_postgres()
    require_redis()
    url, name = create_database()
    tmp: Path = tmp_path_factory.mktemp("cluster")
    try:
        c = start_cluster(
            tmp,
            url,
            machine_redis_url(),
            unique_prefix(),
            nodes=3,
            BASTION_AGENT_MAX_CHATS=str(MAX_CHATS),
        )
        try:
            for i in range(3):
                c.nodes[0].create_user(f"agent{i}@example.com", "agent", name=f"Agent{i}")
            yield c
        finally:
            c.stop()
    finally:
        drop_database(name)


__all__ = ["AGENT_PASSWORD", "MAX_CHATS"]
