"""Public identifiers: a short type prefix and 128 random bits, URL-safe."""

from __future__ import annotations

import secrets
from collections.abc import Callable

IdFactory = Callable[[str], str]


def new_id(prefix: str) -> str:
    """``prefix_`` followed by 22 URL-safe characters from the OS CSPRNG."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"
