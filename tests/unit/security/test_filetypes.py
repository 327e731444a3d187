"""File types by content and safe names."""

from __future__ import annotations

import pytest

from bastion.security.filetypes import allowed_type, clean_name, sniff
from tests.support import samples


@pytest.mark.parametrize(
    ("data", "mime", "ok"),
    [
        (samples.JPEG, "image/jpeg", True),
        (samples.png(), "image/png", True),
        (samples.WEBP, "image/webp", True),
        (samples.pdf(), "application/pdf", True),
        (samples.text("hello"), "text/plain", True),
        (
            samples.docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            True,
        ),
        (samples.HTML, "text/html", False),
        (samples.SVG, "image/svg+xml", False),
        (samples.ELF, "application/x-executable", False),
        (b"#!/bin/sh\nrm -rf /\n", "text/x-shellscript", False),
    ],
)
def test_types_are_found_from_content(data: bytes, mime: str, ok: bool) -> None:
    assert sniff(data) == mime
    assert allowed_type(mime) is ok


@pytest.mark.parametrize(
    ("name", "mime", "want"),
    [
        ("photo.JPG", "image/jpeg", "photo.JPG"),
        ("invoice.exe", "application/pdf", "invoice.exe.pdf"),
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("C:\\Users\\me\\report.pdf", "application/pdf", "report.pdf"),
        ("evil\u202egpj.exe", "image/jpeg", "evilgpj.exe.jpg"),
        ("line\nbreak.txt", "text/plain", "linebreak.txt"),
        ("...", "image/png", "file.png"),
        ("a" * 300 + ".pdf", "application/pdf", "a" * 116 + ".pdf"),
    ],
)
def test_names_are_cleaned_and_match_the_type(name: str, mime: str, want: str) -> None:
    assert clean_name(name, mime) == want
