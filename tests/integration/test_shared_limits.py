"""Two server processes sharing Redis count one client's requests together."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.redis import require_redis, unique_prefix
from tests.support.server import Server

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    url = require_redis()
    env = {
        "BASTION_REDIS_URL": url,
        "BASTION_TRUSTED_PROXIES": "127.0.0.1/32",
        "BASTION_RL_HTTP": "20/minute",
        # Counters live under the deployment's prefix: this run's own, never a past run's.
        "BASTION_REDIS_PREFIX": unique_prefix(),
    }
    started: list[Server] = []
    try:
        for name in ("a", "b"):
            data: Path = tmp_path_factory.mktemp(f"node-{name}") / "data"
            data.mkdir()
            started.append(Server(data_dir=data, database_url=None, extra_env=env).start())
        yield started[0], started[1]
    finally:
        for srv in started:
            srv.stop()


async def test_http_limit_holds_across_nodes(nodes: tuple[Server, Server]) -> None:
    a, b = nodes
    # A fresh address per run: counters in Redis never mix with another run's.
    ip = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    headers = {"X-Forwarded-For": ip}
    codes: dict[str, list[int]] = {"a": [], "b": []}
    for _ in range(12):
        for name, srv in (("a", a), ("b", b)):
            async with httpx.AsyncClient(base_url=srv.base) as http:
                r = await http.get(f"/api/v1/widgets/{srv.widget}/config", headers=headers)
                codes[name].append(r.status_code)
    allowed = codes["a"].count(200) + codes["b"].count(200)
    # Each node alone saw 12 requests, under its limit of 20; only a shared count refuses.
    assert allowed == 20, codes
    assert 429 in codes["a"] and 429 in codes["b"], codes
