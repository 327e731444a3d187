from __future__ import annotations

from bastion.security.tokens import csrf_for, csrf_matches, hash_token, new_token
from bastion.settings import Secret


def test_tokens_are_random_and_prefixed() -> None:
    tokens = {new_token("vt") for _ in range(100)}
    assert len(tokens) == 100
    assert all(t.startswith("vt_") and len(t) > 40 for t in tokens)
    assert hash_token("a") != hash_token("b")


def test_csrf_is_bound_to_the_session() -> None:
    a, b = new_token("st"), new_token("st")
    assert csrf_matches(a, csrf_for(a))
    assert not csrf_matches(a, csrf_for(b))
    assert not csrf_matches(a, None)
    assert not csrf_matches(a, "")
    # A header may carry any byte (read as Latin-1): a wrong token, never an exception
    # (QA: "X-CSRF-Token: \xe9" was a 500 from compare_digest).
    assert not csrf_matches(a, "\xe9" * 43)


def test_secret_never_shows_its_value() -> None:
    s = Secret("hunter2-hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s) and "hunter2" not in f"{s}"
    assert s.reveal() == "hunter2-hunter2"
