"""Envelope encryption: a key-encryption key (KEK) outside the database wraps one
AES-256-GCM data key per visitor; data keys seal that visitor's fields and messages.

Contracts:

- ``seal(key, text, ad)`` → ``"e1:" + base64(nonce ‖ ciphertext ‖ tag)``; ``unseal`` needs
  the same ``ad`` (associated data naming the row and column), so a ciphertext copied to
  another row or column fails authentication instead of decrypting.
- ``FileKeyStore`` holds the KEK, read from (or created in) a file that only its owner
  may read; the KEK never leaves this object and never appears in ``repr`` or errors.
- A value without the ``e1:`` prefix is a row written before encryption (migration
  0005 is expand-only); ``unseal`` returns it as it is.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "e1:"
NONCE_BYTES = 12  # random 96-bit nonces: far below the 2^32 messages-per-key bound
KEY_BYTES = 32


class DecryptionFailed(Exception):
    """A ciphertext did not authenticate: wrong key, wrong row, or tampered with."""


class KeyFileError(Exception):
    """The KEK file is missing, unreadable, malformed or readable by others."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _ad(ad: str) -> bytes:
    return b"bastion/v1\0" + ad.encode()


def seal(key: bytes, text: str, ad: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + AESGCM(key).encrypt(nonce, text.encode(), _ad(ad))
    return PREFIX + base64.b64encode(blob).decode("ascii")


def unseal(key: bytes, token: str, ad: str) -> str:
    if not token.startswith(PREFIX):
        return token  # written before 0004 (plaintext until re-encrypted)
    try:
        blob = base64.b64decode(token[len(PREFIX) :], validate=True)
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _ad(ad)).decode()
    except (InvalidTag, ValueError):
        raise DecryptionFailed(ad.split(":", 1)[0]) from None


def _read_or_create_kek(path: Path) -> bytes:
    """Read the KEK file, or create it (mode 0600, never overwritten) on first run."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(base64.b64encode(os.urandom(KEY_BYTES)).decode() + "\n")
    try:
        mode = path.stat().st_mode
        raw = path.read_text().strip()
    except OSError:
        raise KeyFileError("cannot read the key-encryption key file") from None
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError("the key-encryption key file must not be readable by others")
    try:
        kek = base64.b64decode(raw, validate=True)
    except ValueError:
        raise KeyFileError("the key-encryption key file is malformed") from None
    if len(kek) != KEY_BYTES:
        raise KeyFileError("the key-encryption key must be 32 bytes")
    return kek


class FileKeyStore:
    """The deployment's KEK, from a file: wraps and unwraps data keys bound to their owner.

    The file is read (or made) on first use, or by ``load()`` — ``serve`` calls it at
    start so a bad key file stops the server with one line, not a request later.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._aead: AESGCM | None = None
        self._kek_id = ""

    @classmethod
    def load_or_create(cls, path: Path) -> FileKeyStore:
        return cls(path).load()

    def load(self) -> FileKeyStore:
        if self._aead is None:
            kek = _read_or_create_kek(self._path)
            # Names the KEK in each wrapped key, so rotation knows what is left to re-wrap.
            self._kek_id = hashlib.sha256(b"bastion-kek-id\0" + kek).hexdigest()[:16]
            self._aead = AESGCM(kek)
        return self

    def __repr__(self) -> str:
        return f"FileKeyStore(kek_id={self._kek_id!r})"

    @property
    def kek_id(self) -> str:
        self.load()
        return self._kek_id

    def _cipher(self) -> AESGCM:
        self.load()
        assert self._aead is not None
        return self._aead

    def wrap(self, data_key: bytes, owner: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher().encrypt(nonce, data_key, _ad("data-key:" + owner))

    def unwrap(self, kek_id: str, wrapped: bytes, owner: str) -> bytes:
        if kek_id != self.kek_id:
            raise DecryptionFailed("data-key")
        try:
            return self._cipher().decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _ad("data-key:" + owner)
            )
        except InvalidTag:
            raise DecryptionFailed("data-key") from None
