"""File types by content: what libmagic says the bytes are, never what the name says.

Only an allow-list is accepted (images, PDF, plain text, common office documents); all
else — executables, scripts, HTML, SVG, archives — is refused. Each allowed type has the
extensions a download may carry, so a PDF named ``invoice.exe`` is served as
``invoice.exe.pdf`` and opens as what it is.
"""

from __future__ import annotations

import threading
import unicodedata

import magic

# Sniffed MIME type → the extensions it may be named with (the first is the canonical one).
ALLOWED: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "text/plain": (".txt", ".log", ".md"),
    "text/csv": (".csv",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.ms-powerpoint": (".ppt",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
}
# Plain text that a name says is CSV is still text: served as text/csv only if sniffed so.
NAME_MAX_CHARS = 120
DEFAULT_NAME = "file"

# libmagic handles are not thread-safe; one handle, one lock (sniffing runs in threads).
_lock = threading.Lock()
_magic: magic.Magic | None = None


def sniff(data: bytes) -> str:
    """The MIME type libmagic finds in ``data`` (its first megabytes)."""
    global _magic
    with _lock:
        if _magic is None:
            _magic = magic.Magic(mime=True)
        return str(_magic.from_buffer(data)).lower()


def allowed_type(mime: str) -> bool:
    return mime in ALLOWED


def clean_name(name: str, mime: str) -> str:
    """A safe display and download name: no paths or control characters, bounded, and
    ending in an extension of the sniffed type (appended when the given one is not).
    """
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Control and format characters go, among them the bidirectional overrides that
    # make "gpj.exe" read as "exe.jpg".
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".").strip() or DEFAULT_NAME
    extensions = ALLOWED.get(mime, ())
    if extensions and not name.lower().endswith(extensions):
        name = f"{name}{extensions[0]}"
    if len(name) > NAME_MAX_CHARS:
        stem, dot, ext = name.rpartition(".")
        keep = NAME_MAX_CHARS - len(ext) - 1
        name = f"{stem[:keep]}.{ext}" if dot and keep > 0 else name[:NAME_MAX_CHARS]
    return name
