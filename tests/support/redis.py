"""Redis for tests: skipped loudly outside CI when absent; required when CI=true."""

from __future__ import annotations

import os
import secrets
import socket
import warnings

import pytest

REDIS_URL = os.environ.get("BASTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_redis() -> str:
    """The Redis URL to use; skips (or fails in CI) when nothing answers there."""
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2):
            pass
    except OSError as err:
        msg = f"Redis at {REDIS_URL} is unreachable ({type(err).__name__})"
        if IN_CI:
            pytest.fail(msg + " — CI=true requires it")
        warnings.warn(msg + ": Redis tests SKIPPED", stacklevel=2)
        pytest.skip("!!! " + msg + " — Redis tests skipped outside CI !!!")
    return REDIS_URL


def unique_prefix() -> str:
    """A key prefix of its own per test, so parallel runs never share counters."""
    return f"bastion-test:{os.getpid()}:{secrets.token_hex(4)}"
