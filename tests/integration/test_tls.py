"""HTTPS and wss with a certificate from a test CA (trustme): HSTS, Secure cookies, a
visitor hello over wss, and a clear refusal of a key that does not match.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
import websockets

from tests.support.server import AGENT_PASSWORD, Server, base_env, cli


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(tmp_path: Path, ca: trustme.CA) -> Iterator[Server]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key_path))
    client = ssl.create_default_context()
    ca.configure_trust(client)
    srv = Server(
        data_dir=tmp_path / "data",
        database_url=None,
        extra_args=["--tls-cert", str(cert_path), "--tls-key", str(key_path)],
        scheme="https",
        verify=client,
    )
    srv.data_dir.mkdir()
    srv.start()
    srv.create_user("agent@example.com", "agent", name="Jonas")
    try:
        yield srv
    finally:
        srv.stop()


async def test_https_serves_hsts_secure_cookies_and_wss(tls_server: Server) -> None:
    srv = tls_server
    async with httpx.AsyncClient(base_url=srv.base, verify=srv.verify) as http:
        health = await http.get("/healthz")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"].startswith("max-age=31536000")
        login = await http.post(
            "/api/v1/auth/login", json={"email": "agent@example.com", "password": AGENT_PASSWORD}
        )
        assert login.status_code == 200
        assert "secure" in login.headers["set-cookie"].lower()
        session = await http.post(
            f"/api/v1/widgets/{srv.widget}/sessions", json={"page_url": f"{srv.base}/demo/"}
        )
        assert session.status_code == 201, session.text
        token = session.json()["token"]

    url = srv.base.replace("https", "wss", 1) + "/ws/visitor"
    async with websockets.connect(url, origin=srv.base, ssl=srv.verify) as ws:
        await ws.send(json.dumps({"t": "hello", "id": "c1", "token": token, "resume": {}}))
        ack = json.loads(await ws.recv())
        assert ack["t"] == "ack" and ack["id"] == "c1" and ack["visitor"]

    # Plain HTTP to the TLS port gets nowhere.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{srv.port}/healthz", timeout=2)


def test_serve_refuses_a_key_that_does_not_match(tmp_path: Path, ca: trustme.CA) -> None:
    one, other = ca.issue_cert("127.0.0.1"), ca.issue_cert("localhost")
    one.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    other.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    env = base_env(tmp_path / "data", None)
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    proc = cli(env, "serve", "--tls-cert", cert, "--tls-key", key, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        "bastion: cannot load the TLS certificate and key (check the paths and that they match)"
    ]
