"""`bastion keys rotate` while a server takes messages: nothing written during the
rotation is lost or unreadable, every data key ends under the new KEK, the old KEK file
is gone, and a restarted server (only the new KEK on disk) reads everything.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.client import WsClient, connect_visitor, login
from tests.support.server import AGENT_PASSWORD, Server

# Many CLI processes and a server restart: slow on a busy 2-core machine.
pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(600)]

LIFTED = {
    "BASTION_RL_HTTP": "100000/minute",
    "BASTION_RL_HTTP_CREDENTIAL": "100000/minute",
    "BASTION_RL_SESSIONS": "100000/minute",
    "BASTION_RL_MESSAGES": "100000/minute",
    "BASTION_RL_CONVERSATIONS_IP": "100000/hour",
    "BASTION_RL_WS_CONNECTS": "100000/minute",
    # Each chatter sends every 10 ms once acked: past the per-socket frame bucket (20/s)
    # as soon as the server answers quickly, and a refused frame is never acked.
    "BASTION_WS_FRAMES_PER_S": "1000",
    "BASTION_WS_FRAME_BURST": "1000",
}


def kek_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT DISTINCT kek_id FROM visitor_keys")}
    finally:
        conn.close()


async def test_rotation_under_load_keeps_every_message_readable(tmp_path: Path) -> None:
    srv = Server(data_dir=tmp_path / "data", database_url=None, extra_env=LIFTED)
    srv.data_dir.mkdir()
    try:
        srv.start()
        srv.create_user("admin@example.com", "admin", name="Ada")
        kek = srv.data_dir / "kek.key"
        old_kek = kek.read_bytes()
        # Idle visitors, so the rotation has batches to work through.
        async with httpx.AsyncClient(base_url=srv.base) as http:
            for _ in range(40):
                r = await http.post(
                    f"/api/v1/widgets/{srv.widget}/sessions", json={"page_url": f"{srv.base}/demo/"}
                )
                assert r.status_code == 201
        old_ids = kek_ids(srv.data_dir / "bastion.db")
        assert len(old_ids) == 1

        sent: dict[str, list[str]] = {}
        clients: list[WsClient] = []
        stop = asyncio.Event()

        async def chatter(tag: str) -> None:
            ws, _ = await connect_visitor(srv.base, srv.widget)
            clients.append(ws)
            start = await ws.cmd(
                "chat.start",
                consent={"accepted": True, "version": "2026-01"},
                message=f"{tag} hello",
            )
            conv = start["conversation"]
            sent[conv] = [f"{tag} hello"]
            i = 0
            while not stop.is_set() and i < 400:
                body = f"{tag} message {i}"
                await ws.cmd("msg.send", conversation=conv, body=body)
                sent[conv].append(body)
                i += 1
                await asyncio.sleep(0.01)

        async def newcomers() -> None:
            i = 0
            while not stop.is_set() and i < 100:
                await chatter(f"newcomer{i}")
                i += 1

        writers = [asyncio.create_task(chatter(f"v{n}")) for n in range(3)]
        writers.append(asyncio.create_task(newcomers()))
        await asyncio.sleep(0.5)
        rotate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bastion",
            "keys",
            "rotate",
            "--batch-size",
            "2",
            "--grace-s",
            "1",
            "--json",
            env=srv.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(rotate.communicate(), 120)
        await asyncio.sleep(0.3)  # writes right after the rotation, under the new KEK only
        stop.set()
        await asyncio.wait_for(asyncio.gather(*writers), 60)
        for ws in clients:
            await ws.close()
        assert rotate.returncode == 0, err.decode()
        report = json.loads(out)
        assert report["rewrapped"] >= 40
        assert sum(len(v) for v in sent.values()) > 50  # the server really was busy

        # The old KEK is gone from disk; every data key is under the new one.
        assert kek.read_bytes() != old_kek
        assert not (srv.data_dir / "kek.key.old").exists()
        assert not (srv.data_dir / "kek.key.next").exists()
        assert kek_ids(srv.data_dir / "bastion.db") == {report["kek_id"]}

        # A fresh process, holding only the new KEK, reads every acknowledged message.
        srv.stop()
        srv.start()
        cookie, _csrf = await login(srv.base, "admin@example.com", AGENT_PASSWORD)
        async with httpx.AsyncClient(base_url=srv.base, headers={"Cookie": cookie}) as http:
            for conv, bodies in sent.items():
                r = await http.get(f"/api/v1/conversations/{conv}/events", params={"after": 0})
                assert r.status_code == 200, r.text
                got = [e["message"]["body"] for e in r.json()["events"] if e["t"] == "msg"]
                assert got == bodies
    finally:
        srv.stop()
