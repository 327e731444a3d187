"""A small asyncio client for ClamAV's daemon: ``INSTREAM`` to scan, ``PING`` to check.

Protocol (clamd(8)): send ``zINSTREAM`` and a NUL, then the data as chunks each prefixed with
its length (4 bytes, network order), then a zero length; clamd answers one
NUL-terminated line: ``stream: OK``, ``stream: <signature> FOUND`` or ``… ERROR``.
Anything but OK or FOUND — a refused connection, a timeout, a size-limit error, an
unreadable answer — raises :class:`ScannerError`: the caller fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass

from bastion.domain.ports import ScannerError

CHUNK = 64 * 1024
MAX_REPLY = 4096


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str | None = None


class ClamdScanner:
    """Talks to clamd at ``tcp://HOST:PORT`` or a unix socket path, one connection per scan."""

    def __init__(self, address: str, *, timeout_s: float = 30.0) -> None:
        self._address = address
        self._timeout = timeout_s

    def __repr__(self) -> str:
        return f"ClamdScanner({self._address!r})"

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._address.startswith("tcp://"):
            host, _, port = self._address[len("tcp://") :].rpartition(":")
            return await asyncio.open_connection(host.strip("[]"), int(port))
        return await asyncio.open_unix_connection(self._address)

    async def _exchange(self, chunks: list[bytes]) -> bytes:
        reader, writer = await self._open()
        try:
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
            reply = await reader.readuntil(b"\0")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return reply[:MAX_REPLY].rstrip(b"\0").strip()

    async def _talk(self, chunks: list[bytes]) -> bytes:
        try:
            return await asyncio.wait_for(self._exchange(chunks), self._timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            raise ScannerError("the malware scanner did not answer") from None
        except ValueError:
            raise ScannerError("the malware scanner address is not usable") from None

    async def scan(self, data: bytes) -> Verdict:
        chunks = [b"zINSTREAM\0"]
        for i in range(0, len(data), CHUNK):
            part = data[i : i + CHUNK]
            chunks.append(struct.pack(">I", len(part)) + part)
        chunks.append(struct.pack(">I", 0))
        reply = (await self._talk(chunks)).decode("utf-8", "replace")
        _, _, result = reply.partition(": ")
        if result == "OK":
            return Verdict(clean=True)
        if result.endswith(" FOUND"):
            return Verdict(clean=False, signature=result[: -len(" FOUND")][:200])
        # "INSTREAM size limit exceeded. ERROR" and the like: no verdict.
        raise ScannerError("the malware scanner gave no verdict")

    async def ping(self) -> bool:
        try:
            return await self._talk([b"zPING\0"]) == b"PONG"
        except ScannerError:
            return False
