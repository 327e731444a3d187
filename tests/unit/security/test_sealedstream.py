"""The backup stream format: round trip, and every kind of damage named."""

from __future__ import annotations

import io
import os

import pytest

from bastion.security.sealedstream import CHUNK, SealedWriter, StreamError, decrypt

KEY = os.urandom(32)


def sealed(data: bytes) -> bytes:
    out = io.BytesIO()
    writer = SealedWriter(out, KEY, {"kind": "test"})
    for i in range(0, len(data), 100_000):
        writer.write(data[i : i + 100_000])
    writer.close()
    return out.getvalue()


def opened(blob: bytes, key: bytes = KEY) -> bytes:
    return b"".join(decrypt(io.BytesIO(blob), key))


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 2 * CHUNK + 5])
def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    blob = sealed(data)
    assert opened(blob) == data
    # A short plaintext's bytes turn up in any blob by chance; 16 random bytes do not.
    assert data[:64] not in blob or size < 16


def test_damage_is_detected_and_named() -> None:
    blob = sealed(os.urandom(2 * CHUNK + 10))
    with pytest.raises(StreamError, match="another backup key"):
        opened(blob, os.urandom(32))
    flipped = bytearray(blob)
    flipped[-5] ^= 1
    with pytest.raises(StreamError, match="failed authentication at chunk 2"):
        opened(bytes(flipped))
    with pytest.raises(StreamError, match="truncated"):
        opened(blob[:-1])
    # Dropping the last chunk whole leaves a stream that looks complete but has no end.
    header_and_two = blob[: len(blob) - (4 + 10 + 16)]
    with pytest.raises(StreamError, match="truncated"):
        opened(header_and_two)
    with pytest.raises(StreamError, match="after its end"):
        opened(blob + b"\0")
    header = bytearray(blob)
    header[30] ^= 1  # inside the JSON header: every chunk's associated data changes
    with pytest.raises(StreamError):
        opened(bytes(header))
    with pytest.raises(StreamError, match="wrong magic"):
        opened(b"PK\x03\x04" + blob[4:])
