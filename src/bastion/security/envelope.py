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
import contextlib
import hashlib
import hmac
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


BLOB_PREFIX = b"bastion-blob-v1\0"


def seal_bytes(key: bytes, data: bytes, ad: str) -> bytes:
    """Binary form of :func:`seal` for files: ``prefix ‖ nonce ‖ ciphertext ‖ tag``."""
    nonce = os.urandom(NONCE_BYTES)
    return BLOB_PREFIX + nonce + AESGCM(key).encrypt(nonce, data, _ad(ad))


def unseal_bytes(key: bytes, blob: bytes, ad: str) -> bytes:
    if not blob.startswith(BLOB_PREFIX):
        raise DecryptionFailed(ad.split(":", 1)[0])
    body = blob[len(BLOB_PREFIX) :]
    try:
        return AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], _ad(ad))
    except (InvalidTag, ValueError):
        raise DecryptionFailed(ad.split(":", 1)[0]) from None


def read_or_create_key_file(path: Path, what: str = "key-encryption key") -> bytes:
    """Read a 32-byte key file, or create it (mode 0600, never overwritten) on first run.

    Made whole under a name of its own, then linked into place: a process starting at
    the same moment (another node, on a shared key directory) sees either no file or the
    complete one, never a half-written file, and the first link wins.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{os.urandom(4).hex()}.new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(base64.b64encode(os.urandom(KEY_BYTES)).decode() + "\n")
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(tmp, path)
        finally:
            tmp.unlink()
        fsync_dir(path.parent)
    return read_key_file(path, what)


def read_key_file(path: Path, what: str = "key-encryption key") -> bytes:
    try:
        mode = path.stat().st_mode
        raw = path.read_text().strip()
    except OSError:
        raise KeyFileError(f"cannot read the {what} file") from None
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError(f"the {what} file must not be readable by others")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise KeyFileError(f"the {what} file is malformed") from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"the {what} must be 32 bytes")
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Write a new key file atomically (0600 from creation, fsynced, then renamed)."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(key).decode() + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def kek_id_of(kek: bytes) -> str:
    return hashlib.sha256(b"bastion-kek-id\0" + kek).hexdigest()[:16]


def next_kek_path(path: Path) -> Path:
    """The KEK a rotation is moving to (exists only while a rotation runs)."""
    return path.with_name(path.name + ".next")


def old_kek_path(path: Path) -> Path:
    """The KEK a rotation moved from (kept until every data key is re-wrapped)."""
    return path.with_name(path.name + ".old")


def lookup_key_path(kek_path: Path) -> Path:
    """The HMAC key for look-up columns, kept beside the KEK (never in the database)."""
    return kek_path.with_name("lookup.key")


class FileKeyStore:
    """The deployment's KEK, from a file: wraps and unwraps data keys bound to their owner.

    The file is read (or made) on first use, or by ``load()`` — ``serve`` calls it at
    start so a bad key file stops the server with one line, not a request later.

    Rotation (``storage/rotation.py``) works through files beside the KEK: while
    ``<kek>.next`` exists it is the current KEK (new data keys are wrapped by it) and the
    old one still unwraps; ``<kek>.old`` holds the previous KEK until every data key has
    been re-wrapped. Every KEK this object has seen stays usable in memory, so a running
    server reads data keys on both sides of a rotation without a restart.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._ring: dict[str, AESGCM] = {}
        self._current = ""
        self._seen: tuple[object, ...] | None = None
        self._lookup: bytes | None = None

    @classmethod
    def load_or_create(cls, path: Path) -> FileKeyStore:
        return cls(path).load()

    def _signature(self) -> tuple[object, ...]:
        out: list[object] = []
        for p in (self._path, next_kek_path(self._path), old_kek_path(self._path)):
            try:
                st = p.stat()
            except FileNotFoundError:
                out.append(None)
            else:
                out.append((st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def _reload(self) -> None:
        signature = self._signature()
        if signature == self._seen:
            return
        main = read_or_create_key_file(self._path)
        current = kek_id_of(main)
        self._ring.setdefault(current, AESGCM(main))
        for extra in (old_kek_path(self._path), next_kek_path(self._path)):
            try:
                key = read_key_file(extra)
            except KeyFileError:
                if extra.exists():
                    raise
                continue
            self._ring.setdefault(kek_id_of(key), AESGCM(key))
            if extra == next_kek_path(self._path):
                current = kek_id_of(key)  # a rotation runs: new data keys go under the new KEK
        self._current = current
        self._seen = self._signature()

    def load(self) -> FileKeyStore:
        if not self._current:
            self._reload()
        return self

    def refresh(self) -> None:
        """Re-read the key files if they changed (a rotation started or finished)."""
        self._reload()

    def __repr__(self) -> str:
        return f"FileKeyStore(kek_id={self._current!r})"

    @property
    def kek_id(self) -> str:
        """The current KEK's id (re-checks the files: cheap, and only on new data keys)."""
        self._reload()
        return self._current

    def known(self, kek_id: str) -> bool:
        self.load()
        return kek_id in self._ring

    def wrap(self, data_key: bytes, owner: str) -> bytes:
        return self.wrap_with(self.kek_id, data_key, owner)

    def wrap_current(self, data_key: bytes, owner: str) -> tuple[str, bytes]:
        """(KEK id, wrapped key) under the current KEK, read once so the two agree."""
        kek_id = self.kek_id
        return kek_id, self.wrap_with(kek_id, data_key, owner)

    def wrap_with(self, kek_id: str, data_key: bytes, owner: str) -> bytes:
        self.load()
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._ring[kek_id].encrypt(nonce, data_key, _ad("data-key:" + owner))

    def unwrap(self, kek_id: str, wrapped: bytes, owner: str) -> bytes:
        self.load()
        if kek_id not in self._ring:
            self._reload()  # wrapped by a KEK a rotation just made
        aead = self._ring.get(kek_id)
        if aead is None:
            raise DecryptionFailed("data-key")
        try:
            return aead.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _ad("data-key:" + owner)
            )
        except InvalidTag:
            raise DecryptionFailed("data-key") from None

    def lookup_hmac(self, kind: str, value: str) -> str:
        """A keyed hash for equality look-ups on a sealed field (``kind`` separates uses).

        The key lives beside the KEK, not in the database, so a stolen database cannot be
        searched by guessing e-mail addresses. It is not rotated with the KEK: the
        erasure ledger's entries are hashes under it.
        """
        if self._lookup is None:
            self._lookup = read_or_create_key_file(lookup_key_path(self._path), "look-up key")
        msg = kind.encode() + b"\0" + value.encode()
        return hmac.new(self._lookup, msg, hashlib.sha256).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()
