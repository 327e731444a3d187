"""The clamd client against a real clamd, and against servers that give no verdict."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bastion.adapters.clamd import ClamdScanner
from bastion.domain.ports import ScannerError
from tests.support.clamd import EICAR, SIGNATURE, Clamd


async def test_clean_infected_and_ping(clamd: Clamd) -> None:
    scanner = ClamdScanner(clamd.address, timeout_s=30)
    assert await scanner.ping()
    assert (await scanner.scan(b"an ordinary text\n")).clean
    # Several chunks (64 KiB each), with the signature in the middle of nothing.
    assert (await scanner.scan(b"x" * 300_000)).clean
    verdict = await scanner.scan(EICAR)
    assert not verdict.clean and verdict.signature is not None
    assert verdict.signature.startswith(SIGNATURE)


async def test_an_unreachable_scanner_raises() -> None:
    scanner = ClamdScanner("tcp://127.0.0.1:9", timeout_s=2)
    assert not await scanner.ping()
    with pytest.raises(ScannerError):
        await scanner.scan(b"data")
    with pytest.raises(ScannerError):
        await ClamdScanner("/nonexistent/clamd.sock").scan(b"data")


@pytest.fixture
async def liar() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that answers every scan with an error line, then one that never answers."""
    replies = [b"stream: INSTREAM size limit exceeded. ERROR\0"]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(65536)
            if replies:
                writer.write(replies[0])
                await writer.drain()
            else:
                # Silent until the client gives up and hangs up.
                while await reader.read(65536):
                    pass
        except ConnectionError:
            pass
        finally:
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"tcp://127.0.0.1:{port}", replies
    finally:
        server.close()
        await server.wait_closed()


async def test_no_verdict_is_an_error_not_a_pass(liar: tuple[str, list[bytes]]) -> None:
    address, replies = liar
    with pytest.raises(ScannerError, match="no verdict"):
        await ClamdScanner(address, timeout_s=2).scan(b"data")
    replies.clear()
    with pytest.raises(ScannerError, match="did not answer"):
        await ClamdScanner(address, timeout_s=0.5).scan(b"data")
