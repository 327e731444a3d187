"""Sample files for the file-sharing tests, made here or embedded (no downloads).

The JPEG and WebP are CPython's own tiny test images (``Lib/test/imghdrdata``, PSF
licence); metadata is added to them by the helpers below.
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib

_JPEG_B64 = """
/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsO
CwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ
EBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAA
BwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/E
ACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPk
JWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kq
cWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9
XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KO
p1KM6iCNvngZHwetf//Z
"""
_WEBP_B64 = """
UklGRqgBAABXRUJQVlA4WAoAAAAQAAAADwAADwAAQUxQSMMAAAABJ6KokSTleucYX+ffKpmImP90cY3gJjDi4Yt3
MsjBEVyDKzDosHgVjnhRNcEIDAJPkqBqsFUZHNa2bUYvTsZ2PLbtd/uvKa4hov9J0f2PkPe6REkkGzolkTTzFG0O
x9PlFiD0CxS+kOGDtxoynjaCfx0pfk52CPuInrOR75lzRugygtv4zEiy90UwfSD9NheMITJWLaXWayO8XeOlWRXV
nIGk2W6WdYoYMQ+KqixQNPowgt+6a1BSKbUtz+lUFAoBAAAAVlA4IL4AAACQAgCdASoQABAAAwA0JbACdDBPCIUM
fAMdCCz96AD+/XSg/QKbH4r3Q3ycN/bSDK/T/zVo4u6nvclvG/SqxWOuup+XhN9BojvaW+Tv+MvxvX/hr/o/5Qns
9LtmX/+qKdl/yWznhuasl7nkxvSTI4xf3Y85VSB/lU/8Ofj/b9JrA+ifvIOYZm2x1RP/dhfmsf5diuSfR7+z+r/+
HR3zEo/+XM/B+vkYw73Pzx+ROaAB/ZoBSzEs3rzZe6qsAAAA
"""

JPEG = base64.b64decode("".join(_JPEG_B64.split()))
WEBP = base64.b64decode("".join(_WEBP_B64.split()))
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n'
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 100


def pdf(marker: str = "Bastion sample") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + f"% {marker}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def text(marker: str) -> bytes:
    return f"Order notes\n{marker}\nThank you.\n".encode()


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Override PartName="/word/document.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main'
            '+xml"/></Types>',
        )
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buf.getvalue()


def exif_segment(marker: str, orientation: int = 6) -> bytes:
    """An APP1 EXIF block: IFD0 with Orientation and an ImageDescription of ``marker``."""
    desc = marker.encode() + b"\0"
    entries = 2
    data_offset = 8 + 2 + 12 * entries + 4
    ifd = struct.pack(">H", entries)
    ifd += struct.pack(">HHIH2s", 0x0112, 3, 1, orientation, b"\0\0")
    ifd += struct.pack(">HHII", 0x010E, 2, len(desc), data_offset)
    ifd += struct.pack(">I", 0)
    payload = b"Exif\0\0" + b"MM\0*" + struct.pack(">I", 8) + ifd + desc
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_exif(marker: str, orientation: int = 6) -> bytes:
    """The sample JPEG with EXIF (``marker`` as its description), an XMP block and a
    comment, and bytes after its end marker.
    """
    xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>" + marker.encode() + b"</x:xmpmeta>"
    app1_xmp = b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp
    comment = b"\xff\xfe" + struct.pack(">H", len(marker) + 2) + marker.encode()
    return JPEG[:2] + exif_segment(marker, orientation) + app1_xmp + comment + JPEG[2:] + b"TAIL"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(marker: str | None = None) -> bytes:
    """A 1×1 PNG; with ``marker``, also a tEXt chunk and an eXIf chunk holding it."""
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    if marker:
        out += _chunk(b"tEXt", b"Comment\0" + marker.encode())
        out += _chunk(b"eXIf", b"MM\0*" + marker.encode())
    out += _chunk(b"IDAT", zlib.compress(b"\0\xff\x00\x00"))
    return out + _chunk(b"IEND", b"")


def webp_with_exif(marker: str) -> bytes:
    """The sample WebP with an EXIF chunk appended (and the RIFF size fixed)."""
    body = WEBP[12:] + b"EXIF" + struct.pack("<I", len(marker)) + marker.encode()
    if len(marker) % 2:
        body += b"\0"
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body
