"""Strip metadata (EXIF, XMP, comments, text chunks) from JPEG, PNG and WebP images.

Photos carry GPS positions, device serials and names; none of it should reach the other
side of a chat. The images are rewritten segment by segment, losslessly: pixels are not
decoded (no decoder attack surface). Kept: what decoding needs (JPEG's JFIF, ICC profile
and Adobe colour segments; PNG's critical and colour chunks), and a JPEG's orientation,
written back as a one-field EXIF block so phone photos stay upright. Bytes after the
image's end marker (a common polyglot trick) are dropped.
"""

from __future__ import annotations

import struct


class ImageError(ValueError):
    """The image's structure is broken; it is refused rather than passed on unstripped."""


def strip_metadata(data: bytes, mime: str) -> bytes:
    """``data`` without metadata, for the types this module knows; others unchanged."""
    if mime == "image/jpeg":
        return strip_jpeg(data)
    if mime == "image/png":
        return strip_png(data)
    if mime == "image/webp":
        return strip_webp(data)
    return data


# ---- JPEG -------------------------------------------------------------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_APP0, _APP1, _APP2, _APP14, _COM = 0xE0, 0xE1, 0xE2, 0xEE, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == _COM or (_APP1 <= marker <= 0xEF and marker not in (_APP2, _APP14)):
        return False
    if marker == _APP2:
        return payload.startswith(b"ICC_PROFILE\0")
    if marker == _APP14:
        return payload.startswith(b"Adobe")
    return True


def _orientation(exif: bytes) -> int | None:
    """The Orientation (0x0112) of IFD0 in an APP1 EXIF payload, if present and valid."""
    if not exif.startswith(b"Exif\0\0") or len(exif) < 14:
        return None
    tiff = exif[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return None
    try:
        (ifd,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        for i in range(min(count, 512)):
            tag, typ, _n, value = struct.unpack_from(order + "HHI2s", tiff, ifd + 2 + 12 * i)
            if tag == 0x0112 and typ == 3:
                (orientation,) = struct.unpack(order + "H", value)
                return int(orientation) if 1 <= orientation <= 8 else None
    except struct.error:
        return None
    return None


def _orientation_segment(orientation: int) -> bytes:
    # A big-endian TIFF header with one IFD0 entry: Orientation, SHORT, 1 value.
    tiff = b"MM\0*" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIH2s", 0x0112, 3, 1, orientation, b"\0\0") + struct.pack(">I", 0)
    payload = b"Exif\0\0" + tiff
    return bytes([0xFF, _APP1]) + struct.pack(">H", len(payload) + 2) + payload


def strip_jpeg(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ImageError("not a JPEG")
    out = bytearray(b"\xff\xd8")
    orientation: int | None = None
    wrote_orientation = False
    pos = 2
    n = len(data)
    while True:
        # Skip fill bytes before a marker.
        while pos < n and data[pos] == 0xFF and pos + 1 < n and data[pos + 1] == 0xFF:
            pos += 1
        if pos + 2 > n or data[pos] != 0xFF:
            raise ImageError("broken JPEG structure")
        marker = data[pos + 1]
        if marker == _EOI:
            out += b"\xff\xd9"
            return bytes(out)  # anything after the end marker is dropped
        if marker in _STANDALONE:
            out += data[pos : pos + 2]
            pos += 2
            continue
        if pos + 4 > n:
            raise ImageError("truncated JPEG")
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        if length < 2 or end > n:
            raise ImageError("truncated JPEG")
        payload = data[pos + 4 : end]
        if marker == _APP1 and orientation is None:
            orientation = _orientation(payload)
        if _keep_jpeg_segment(marker, payload):
            if marker != _APP0 and not wrote_orientation and orientation not in (None, 1):
                assert orientation is not None
                out += _orientation_segment(orientation)
                wrote_orientation = True
            out += data[pos:end]
        pos = end
        if marker == _SOS:
            # Entropy-coded data runs to the next marker that is not a stuffed 0xFF00
            # or a restart marker.
            scan = pos
            while True:
                scan = data.find(b"\xff", scan)
                if scan < 0 or scan + 1 >= n:
                    raise ImageError("truncated JPEG")
                nxt = data[scan + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    scan += 1 if nxt == 0xFF else 2
                    continue
                break
            out += data[pos:scan]
            pos = scan


# ---- PNG --------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks that hold text, EXIF or the time of last change.
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}


def strip_png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("not a PNG")
    out = bytearray(PNG_SIGNATURE)
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise ImageError("truncated PNG")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise ImageError("truncated PNG")
        if kind not in _PNG_DROP:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            return bytes(out)


# ---- WebP -------------------------------------------------------------------------------

_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def strip_webp(data: bytes) -> bytes:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ImageError("not a WebP image")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    stop = min(len(data), 8 + riff_size)
    chunks = bytearray()
    pos = 12
    while pos + 8 <= stop:
        kind, size = struct.unpack_from("<4sI", data, pos)
        end = pos + 8 + size + (size & 1)
        if pos + 8 + size > stop:
            raise ImageError("truncated WebP")
        chunk = bytearray(data[pos : min(end, stop)])
        if kind in (b"EXIF", b"XMP "):
            pos = end
            continue
        if kind == b"VP8X" and size >= 1:
            chunk[8] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
        chunks += chunk
        pos = end
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + bytes(chunks)
