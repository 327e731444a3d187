"""An authenticated, chunked encryption format for backups (AES-256-GCM, STREAM-like).

Layout::

    MAGIC (16 bytes) ‖ header length (4, big-endian) ‖ header (JSON)
    ‖ { chunk length (4) ‖ AES-GCM(chunk) }*

The file key is HKDF-SHA256(backup key, salt from the header), so every file has its own
key and counter nonces never repeat. Each chunk's nonce is its index (8 bytes) ‖ 0 0 0 ‖
a final flag; its associated data is the SHA-256 of magic and header. So a changed
header or chunk, reordered or dropped chunks, a missing end (truncation) and bytes after
the end are all detected, and reported as such.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Iterator
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"BASTION-BACKUP\x00\x01"
CHUNK = 1024 * 1024
TAG = 16
MAX_HEADER = 64 * 1024


class StreamError(Exception):
    """The stream is not a valid backup; the message says how (never the key)."""


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(b"bastion-backup-key-id\0" + key).hexdigest()[:16]


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"bastion-backup/v1")
    return AESGCM(hkdf.derive(key))


def _nonce(index: int, final: bool) -> bytes:
    return struct.pack(">Q", index) + b"\0\0\0" + (b"\1" if final else b"\0")


class SealedWriter:
    """Encrypts what is written to it into ``out``; ``close()`` writes the final chunk."""

    def __init__(self, out: IO[bytes], key: bytes, header: dict[str, Any]) -> None:
        salt = os.urandom(32)
        full = {
            **header,
            "key_id": key_id_of(key),
            "salt": base64.b64encode(salt).decode(),
            "chunk": CHUNK,
        }
        raw = json.dumps(full, sort_keys=True).encode()
        out.write(MAGIC + struct.pack(">I", len(raw)) + raw)
        self._ad = hashlib.sha256(MAGIC + raw).digest()
        self._aead = _file_key(key, salt)
        self._out = out
        self._buf = bytearray()
        self._index = 0
        self.plain_bytes = 0

    def _emit(self, data: bytes, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index, final), data, self._ad)
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def write(self, data: bytes) -> None:
        self._buf += data
        self.plain_bytes += len(data)
        while len(self._buf) > CHUNK:  # keep at least one byte back for the final chunk
            self._emit(bytes(self._buf[:CHUNK]), final=False)
            del self._buf[:CHUNK]

    def close(self) -> None:
        self._emit(bytes(self._buf), final=True)
        self._buf.clear()


def read_header(src: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    """(header, raw header bytes); refuses anything that is not a Bastion backup."""
    if src.read(len(MAGIC)) != MAGIC:
        raise StreamError("not a Bastion backup (wrong magic)")
    size_raw = src.read(4)
    if len(size_raw) != 4:
        raise StreamError("the backup is truncated (in its header)")
    (size,) = struct.unpack(">I", size_raw)
    if size > MAX_HEADER:
        raise StreamError("the backup header is corrupt")
    raw = src.read(size)
    if len(raw) != size:
        raise StreamError("the backup is truncated (in its header)")
    try:
        header = json.loads(raw)
        assert isinstance(header, dict)
        base64.b64decode(header["salt"], validate=True)
    except (ValueError, KeyError, AssertionError, TypeError):
        raise StreamError("the backup header is corrupt") from None
    return header, raw


def decrypt(src: IO[bytes], key: bytes) -> Iterator[bytes]:
    """Plaintext chunks of a backup, each only after it authenticated.

    Raises :class:`StreamError` for another key, tampering, truncation or trailing data.
    A caller must consume the whole iterator before trusting what it wrote.
    """
    header, raw = read_header(src)
    if header.get("key_id") != key_id_of(key):
        raise StreamError("the backup was made with another backup key")
    aead = _file_key(key, base64.b64decode(header["salt"]))
    ad = hashlib.sha256(MAGIC + raw).digest()
    limit = int(header.get("chunk", CHUNK)) + TAG
    index = 0
    while True:
        size_raw = src.read(4)
        if len(size_raw) < 4:
            raise StreamError("the backup is truncated (its end is missing)")
        (size,) = struct.unpack(">I", size_raw)
        if size < TAG or size > limit:
            raise StreamError(f"the backup is corrupt at chunk {index}")
        sealed = src.read(size)
        if len(sealed) != size:
            raise StreamError("the backup is truncated (its end is missing)")
        try:
            plain = aead.decrypt(_nonce(index, False), sealed, ad)
            final = False
        except InvalidTag:
            try:
                plain = aead.decrypt(_nonce(index, True), sealed, ad)
                final = True
            except InvalidTag:
                raise StreamError(
                    f"the backup failed authentication at chunk {index} (changed or damaged)"
                ) from None
        yield plain
        index += 1
        if final:
            if src.read(1):
                raise StreamError("the backup has data after its end")
            return
