"""File sharing end to end: real server processes, real sockets, a real clamd.

Uploads are capped at 64 KiB here so the size tests stay small.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_at_rest import database_bytes
from tests.support import samples
from tests.support.clamd import EICAR, Clamd
from tests.support.client import WsClient, connect_visitor, login
from tests.support.server import AGENT_PASSWORD, Server

pytestmark = pytest.mark.asyncio

CAP = 64 * 1024


def _server(tmp: Path, db: str | None, clamd: Clamd | None, **env: str) -> Server:
    data = tmp / "data"
    data.mkdir()
    extra = {"BASTION_UPLOAD_MAX_BYTES": str(CAP), **env}
    if clamd is not None:
        extra["BASTION_CLAMD"] = clamd.address
    srv = Server(data_dir=data, database_url=db, extra_env=extra)
    srv.start()
    srv.create_user("agent@example.com", "agent", name="Jonas")
    return srv


@pytest.fixture
def fsrv(backend: str | None, tmp_path: Path, clamd: Clamd) -> Iterator[Server]:
    srv = _server(tmp_path, backend, clamd)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def msrv(tmp_path_factory: pytest.TempPathFactory, clamd: Clamd) -> Iterator[Server]:
    """One SQLite server for the refusal tests."""
    srv = _server(tmp_path_factory.mktemp("files"), None, clamd)
    try:
        yield srv
    finally:
        srv.stop()


class Chat:
    def __init__(self, srv: Server) -> None:
        self.srv = srv
        self.visitor: WsClient
        self.agent: WsClient
        self.conv = ""
        self.vauth: dict[str, str] = {}
        self.aauth: dict[str, str] = {}

    async def open(self, *, accept: bool = True) -> Chat:
        self.visitor, hello = await connect_visitor(self.srv.base, self.srv.widget)
        self.vauth = {"Authorization": f"Bearer {hello['token']}"}
        start = await self.visitor.cmd(
            "chat.start", consent={"accepted": True, "version": "2026-01"}
        )
        self.conv = start["conversation"]
        cookie, csrf = await login(self.srv.base, "agent@example.com", AGENT_PASSWORD)
        self.aauth = {"Cookie": cookie, "X-CSRF-Token": csrf}
        ws_url = self.srv.base.replace("http", "ws", 1) + "/ws/agent"
        self.agent = await WsClient.connect(ws_url, origin=self.srv.base, cookie=cookie)
        await self.agent.cmd("hello", resume={self.conv: 0})
        if accept:
            await self.agent.cmd("conv.accept", conversation=self.conv)
        return self

    async def upload(
        self, auth: dict[str, str], name: str, data: bytes, conv: str | None = None
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.srv.base) as http:
            return await http.post(
                f"/api/v1/conversations/{conv or self.conv}/files",
                params={"name": name},
                content=data,
                headers={**auth, "Content-Type": "application/octet-stream"},
            )

    async def download(self, auth: dict[str, str], file_id: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.srv.base) as http:
            return await http.get(f"/api/v1/files/{file_id}", headers=auth)

    async def close(self) -> None:
        await self.visitor.close()
        await self.agent.close()


async def test_a_clean_file_reaches_the_other_side_live(fsrv: Server) -> None:
    chat = await Chat(fsrv).open()
    try:
        async with httpx.AsyncClient(base_url=fsrv.base) as http:
            me = await http.get("/api/v1/auth/me", headers=chat.aauth)
        assert me.json()["files_available"] is True
        r = await chat.upload(chat.vauth, "Kvitas 2026.pdf", samples.pdf("receipt 7731"))
        assert r.status_code == 201, r.text
        up: dict[str, Any] = r.json()
        assert up["file"]["type"] == "application/pdf"
        seen = await chat.agent.wait_for(lambda f: f.get("t") == "file")
        assert seen["seq"] == up["seq"] and seen["file"]["id"] == up["file"]["id"]
        assert seen["file"]["author"]["kind"] == "visitor"
        assert seen["file"]["name"] == "Kvitas 2026.pdf"
        await chat.visitor.wait_for(lambda f: f.get("t") == "file" and f["seq"] == up["seq"])

        got = await chat.download({"Cookie": chat.aauth["Cookie"]}, up["file"]["id"])
        assert got.status_code == 200 and got.content == samples.pdf("receipt 7731")
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"] == (
            "attachment; filename=\"Kvitas 2026.pdf\"; filename*=UTF-8''Kvitas%202026.pdf"
        )
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
        assert got.headers["cache-control"] == "private, no-store"

        # The agent answers with a photo; its EXIF (a position) never reaches the visitor.
        photo = samples.jpeg_with_exif("GPS 54.6872N 25.2797E")
        r = await chat.upload(chat.aauth, "photo.jpg", photo)
        assert r.status_code == 201, r.text
        back = r.json()
        await chat.visitor.wait_for(lambda f: f.get("t") == "file" and f["seq"] == back["seq"])
        got = await chat.download(chat.vauth, back["file"]["id"])
        assert got.status_code == 200 and got.content.startswith(b"\xff\xd8")
        assert b"GPS" not in got.content and got.headers["content-type"] == "image/jpeg"
        # An agent's write needs the CSRF token like every cookie write.
        r = await chat.upload({"Cookie": chat.aauth["Cookie"]}, "x.pdf", samples.pdf())
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
    finally:
        await chat.close()


async def test_eicar_is_refused_and_never_downloadable(msrv: Server) -> None:
    chat = await Chat(msrv).open()
    try:
        r = await chat.upload(chat.vauth, "invoice.txt", EICAR)
        assert r.status_code == 422 and r.json()["code"] == "file_infected", r.text
        async with httpx.AsyncClient(base_url=msrv.base) as http:
            events = (
                await http.get(f"/api/v1/conversations/{chat.conv}/events", headers=chat.vauth)
            ).json()["events"]
        assert [e for e in events if e["t"] == "file"] == []
        store = msrv.data_dir / "files"
        assert not any(EICAR in p.read_bytes() for p in store.glob("*")) if store.exists() else True
    finally:
        await chat.close()


@pytest.mark.parametrize(
    ("name", "data"),
    [("cat.png", samples.HTML), ("logo.png", samples.SVG), ("report.pdf", samples.ELF)],
)
async def test_types_are_judged_by_content(msrv: Server, name: str, data: bytes) -> None:
    chat = await Chat(msrv).open(accept=False)
    try:
        r = await chat.upload(chat.vauth, name, data)
        assert r.status_code == 415 and r.json()["code"] == "file_type_refused", r.text
    finally:
        await chat.close()


def _raw_post(srv: Server, path: str, headers: list[str], body: bytes) -> bytes:
    """Send a request head and only part of its body; return what the server answers."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(h + "\r\n" for h in headers)
        s.sendall(head.encode() + b"\r\n" + body)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            part = s.recv(4096)
            if not part:
                break
            reply += part
        return reply


async def test_oversize_is_refused_before_the_body_is_read(msrv: Server) -> None:
    chat = await Chat(msrv).open(accept=False)
    try:
        path = f"/api/v1/conversations/{chat.conv}/files?name=big.txt"
        auth = chat.vauth["Authorization"]
        # Declared too large: answered at once, though only 8 KiB of 50 MiB were sent.
        reply = await asyncio.to_thread(
            _raw_post,
            msrv,
            path,
            [f"Authorization: {auth}", f"Content-Length: {50 * 1024 * 1024}"],
            b"a" * 8192,
        )
        assert reply.startswith(b"HTTP/1.1 413") and b"file_too_large" in reply, reply[:200]
        # Undeclared (chunked): answered once the cap is passed; the body never ended.
        chunk = b"a" * 16384
        body = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * (CAP // len(chunk) + 2)
        reply = await asyncio.to_thread(
            _raw_post, msrv, path, [f"Authorization: {auth}", "Transfer-Encoding: chunked"], body
        )
        assert reply.startswith(b"HTTP/1.1 413") and b"file_too_large" in reply, reply[:200]
    finally:
        await chat.close()


async def test_others_cannot_download(msrv: Server) -> None:
    chat = await Chat(msrv).open(accept=False)
    other = await Chat(msrv).open(accept=False)
    try:
        r = await chat.upload(chat.vauth, "mine.txt", samples.text("private"))
        fid = r.json()["file"]["id"]
        assert (await chat.download(chat.vauth, fid)).status_code == 200
        r = await chat.download(other.vauth, fid)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = await chat.download({}, fid)
        assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
        r = await other.upload(other.vauth, "x.txt", samples.text("intruder"), conv=chat.conv)
        assert r.status_code == 404
    finally:
        await chat.close()
        await other.close()


async def test_file_bytes_are_not_on_disk_in_plaintext(msrv: Server) -> None:
    marker = "Klaipėdos g. 7, sąskaita LT601010012345678901"
    chat = await Chat(msrv).open(accept=False)
    try:
        r = await chat.upload(chat.vauth, "adresas Vilnius.txt", samples.text(marker))
        assert r.status_code == 201
        fid = r.json()["file"]["id"]
        assert marker.encode() in (await chat.download(chat.vauth, fid)).content
    finally:
        await chat.close()
    blobs = b"".join(p.read_bytes() for p in (msrv.data_dir / "files").iterdir())
    on_disk = database_bytes(msrv.data_dir) + blobs
    for needle in (marker.encode(), b"Klaip", b"LT601010012345678901", b"adresas Vilnius"):
        assert needle not in on_disk, needle


async def test_the_byte_budget_answers_429(tmp_path: Path, clamd: Clamd) -> None:
    srv = _server(tmp_path, None, clamd, BASTION_RL_UPLOAD_BYTES="100000/hour")
    try:
        chat = await Chat(srv).open(accept=False)
        try:
            payload = samples.text("x" * 60000)
            assert (await chat.upload(chat.vauth, "a.txt", payload)).status_code == 201
            r = await chat.upload(chat.vauth, "b.txt", payload)
            assert r.status_code == 429 and r.json()["code"] == "rate_limited"
            assert int(r.headers["retry-after"]) > 0
        finally:
            await chat.close()
    finally:
        srv.stop()


async def test_without_a_scanner_file_sharing_is_off(tmp_path: Path) -> None:
    srv = _server(tmp_path, None, None)
    try:
        async with httpx.AsyncClient(base_url=srv.base) as http:
            config = (await http.get(f"/api/v1/widgets/{srv.widget}/config")).json()
        assert config["files"] is None
        chat = await Chat(srv).open(accept=False)
        try:
            r = await chat.upload(chat.vauth, "a.txt", samples.text("unscanned"))
            assert r.status_code == 503 and r.json()["code"] == "scanner_unavailable"
            # The console is told too, so it does not offer attaching.
            async with httpx.AsyncClient(base_url=srv.base) as http:
                me = await http.get("/api/v1/auth/me", headers=chat.aauth)
            assert me.json()["files_available"] is False
        finally:
            await chat.close()
    finally:
        srv.stop()
