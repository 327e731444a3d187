"""The operator's path end to end over real processes (SQLite): a backup taken while the
server runs, erasure from the CLI, restore refused while the server runs, and after the
restore the erased visitor is nowhere in the database file or WAL while others remain.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.client import connect_agent, connect_visitor, login
from tests.support.server import AGENT_PASSWORD, Server, cli

# Many CLI processes and a server restart: slow on a busy 2-core machine.
pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(600)]

ERASED = ("Ona Petraitytė", "ona.petraityte@example.lt", "please deliver to Žirmūnų street")
KEPT = ("Jonas Kept", "jonas.kept@example.com", "my parcel number is large")


def database_bytes(data_dir: Path) -> bytes:
    files = [p for p in data_dir.iterdir() if p.name.endswith((".db", ".db-wal", ".db-shm"))]
    return b"".join(p.read_bytes() for p in files)


def sealed_of(db: Path, visitor: str) -> list[bytes]:
    conn = sqlite3.connect(db)
    try:
        rows = [
            bytes(
                conn.execute(
                    "SELECT wrapped FROM visitor_keys WHERE visitor_id=?", (visitor,)
                ).fetchone()[0]
            )
        ]
        rows += [
            r[0].encode()
            for r in conn.execute(
                "SELECT e.body FROM events e JOIN conversations c ON c.id = e.conversation_id"
                " WHERE c.visitor_id = ? AND e.body IS NOT NULL",
                (visitor,),
            )
        ]
        return rows
    finally:
        conn.close()


async def chat(server: Server, who: tuple[str, str, str]) -> tuple[str, str]:
    ws, hello = await connect_visitor(server.base, server.widget)
    start = await ws.cmd(
        "chat.start",
        fields={"name": who[0], "email": who[1]},
        consent={"accepted": True, "version": "2026-01"},
        message=who[2],
    )
    await ws.close()
    return hello["visitor"], start["conversation"]


async def test_backup_erase_restore_over_the_cli(sqlite_server: Server, tmp_path: Path) -> None:
    server = sqlite_server
    server.create_user("admin@example.com", "admin", name="Ada")
    erased_vid, _ = await chat(server, ERASED)
    _, kept_conv = await chat(server, KEPT)
    agent, _ = await connect_agent(server.base, "agent@example.com", AGENT_PASSWORD)
    await agent.close()
    env = server.env

    backup = tmp_path / "before.bbk"
    made = json.loads(cli(env, "backup", "create", "--out", str(backup), "--json").stdout)
    assert made["file"] == str(backup)
    raw = backup.read_bytes()
    for text in (*ERASED, *KEPT, "SQLite format 3"):
        assert text.encode() not in raw, text
    assert "ok: sqlite backup" in cli(env, "backup", "verify", str(backup)).stdout
    damaged = tmp_path / "damaged.bbk"
    damaged.write_bytes(raw[: len(raw) - 100])
    bad = cli(env, "backup", "verify", str(damaged), check=False)
    assert bad.returncode == 1 and "truncated" in bad.stderr and "Traceback" not in bad.stderr

    zip_path = tmp_path / "ona.zip"
    cli(env, "gdpr", "export", "--email", ERASED[1].upper(), "--out", str(zip_path))
    doc = json.loads(zipfile.ZipFile(io.BytesIO(zip_path.read_bytes())).read("person.json"))
    assert ERASED[2] in json.dumps(doc, ensure_ascii=False)
    assert KEPT[2] not in json.dumps(doc, ensure_ascii=False)

    sealed = sealed_of(server.data_dir / "bastion.db", erased_vid)
    refused = cli(env, "gdpr", "erase", "--email", ERASED[1], check=False)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    erased = json.loads(cli(env, "gdpr", "erase", "--email", ERASED[1], "--yes", "--json").stdout)
    assert erased["visitors"] == 1 and erased["scrubbed"] is True
    on_disk = database_bytes(server.data_dir)
    for value in sealed:
        assert value not in on_disk
    gone = cli(
        env, "gdpr", "export", "--email", ERASED[1], "--out", str(tmp_path / "x.zip"), check=False
    )
    assert gone.returncode == 1 and "nothing is stored" in gone.stderr

    # Restore needs the server stopped (every node): refused while it runs.
    running = cli(env, "backup", "restore", str(backup), "--yes", check=False)
    assert running.returncode == 1 and "server is running" in running.stderr
    server.stop()
    restored = json.loads(cli(env, "backup", "restore", str(backup), "--yes", "--json").stdout)
    assert restored["ledger"] == {"entries": 1, "visitors": 1}
    on_disk = database_bytes(server.data_dir)
    for value in sealed:
        assert value not in on_disk

    server.start()
    again = cli(
        env, "gdpr", "export", "--email", ERASED[1], "--out", str(tmp_path / "y.zip"), check=False
    )
    assert again.returncode == 1 and "nothing is stored" in again.stderr
    cookie, _ = await login(server.base, "admin@example.com", AGENT_PASSWORD)
    async with httpx.AsyncClient(base_url=server.base, headers={"Cookie": cookie}) as http:
        r = await http.get(f"/api/v1/conversations/{kept_conv}/events", params={"after": 0})
        assert r.status_code == 200
        assert KEPT[2] in [e["message"]["body"] for e in r.json()["events"] if e["t"] == "msg"]
