"""Metadata stripping: EXIF, XMP, comments and text chunks go; the image stays valid."""

from __future__ import annotations

import struct

import pytest

from bastion.security.filetypes import sniff
from bastion.security.imagemeta import ImageError, strip_jpeg, strip_png, strip_webp
from tests.support import samples


def _segments(jpeg: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 2
    while jpeg[pos + 1] != 0xDA:
        marker = jpeg[pos + 1]
        (length,) = struct.unpack_from(">H", jpeg, pos + 2)
        out.append((marker, jpeg[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return out


def test_jpeg_loses_exif_xmp_comment_and_trailer_but_keeps_orientation() -> None:
    dirty = samples.jpeg_with_exif("GPS 54.6872N 25.2797E", orientation=6)
    clean = strip_jpeg(dirty)
    assert b"GPS" not in clean and b"xmpmeta" not in clean
    assert clean.endswith(b"\xff\xd9") and sniff(clean) == "image/jpeg"
    app1 = [p for m, p in _segments(clean) if m == 0xE1]
    assert len(app1) == 1 and app1[0].startswith(b"Exif\0\0MM")
    # IFD0 holds exactly one entry: Orientation = 6.
    assert struct.unpack_from(">HHHIH", app1[0], 14) == (1, 0x0112, 3, 1, 6)
    # The scan data is untouched.
    assert clean.endswith(samples.JPEG[samples.JPEG.index(b"\xff\xda") :])


def test_jpeg_without_metadata_is_unchanged() -> None:
    assert strip_jpeg(samples.JPEG) == samples.JPEG


def test_png_loses_text_and_exif_chunks() -> None:
    clean = strip_png(samples.png("GPS 54.6872N"))
    assert b"GPS" not in clean and b"tEXt" not in clean and b"eXIf" not in clean
    assert clean == samples.png()


def test_webp_loses_its_exif_chunk() -> None:
    clean = strip_webp(samples.webp_with_exif("GPS 54.6872N"))
    assert b"GPS" not in clean and clean == samples.WEBP


@pytest.mark.parametrize(
    "broken",
    [samples.JPEG[:100], b"\xff\xd8\xff\xe1\xff\xff", samples.png()[:30]],
)
def test_broken_images_are_refused(broken: bytes) -> None:
    strip = strip_jpeg if broken.startswith(b"\xff\xd8") else strip_png
    with pytest.raises(ImageError):
        strip(broken)
