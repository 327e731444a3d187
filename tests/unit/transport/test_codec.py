"""The frame decoder: every bad input becomes a FrameError with a stable code."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.transport.ws.codec import AGENT_FRAMES, VISITOR_FRAMES, FrameError, decode

LIMIT = 16 * 1024
CODES = {"invalid_json", "unknown_type", "invalid_frame", "frame_too_large", "json_too_deep"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def test_valid_frames_decode() -> None:
    frame = decode(
        '{"t":"msg.send","id":"a-1","conversation":"c_1","body":"hi"}', VISITOR_FRAMES, LIMIT
    )
    assert frame.t == "msg.send"  # type: ignore[attr-defined]


def test_agent_only_commands_are_unknown_to_visitors() -> None:
    raw = '{"t":"conv.accept","id":"a","conversation":"c_1"}'
    decode(raw, AGENT_FRAMES, LIMIT)
    with pytest.raises(FrameError) as err:
        decode(raw, VISITOR_FRAMES, LIMIT)
    assert err.value.code == "unknown_type"


def test_errors_name_the_field_and_keep_the_id() -> None:
    with pytest.raises(FrameError) as err:
        decode('{"t":"msg.send","id":"x","conversation":"c_1","body":5}', VISITOR_FRAMES, LIMIT)
    assert (err.value.code, err.value.field, err.value.id) == ("invalid_frame", "body", "x")


def test_values_are_not_echoed_in_errors() -> None:
    with pytest.raises(FrameError) as err:
        decode('{"t":"typing","conversation":"c_1","on":"4111111111111111"}', VISITOR_FRAMES, LIMIT)
    assert "4111" not in err.value.message


def test_unknown_keys_are_refused_without_echoing_them() -> None:
    raw = '{"t":"msg.send","id":"x","conversation":"c_1","body":"hi","<img src=x>":1}'
    with pytest.raises(FrameError) as err:
        decode(raw, VISITOR_FRAMES, LIMIT)
    assert (err.value.code, err.value.field) == ("invalid_frame", None)
    assert err.value.message == "frame: unknown field"


def test_oversized_frames() -> None:
    with pytest.raises(FrameError) as err:
        decode(json.dumps({"t": "ping", "pad": "é" * 9000}), VISITOR_FRAMES, LIMIT)
    assert err.value.code == "frame_too_large"


def test_nesting_deeper_than_the_cap_is_refused_before_parsing() -> None:
    fields = {"a": {"b": {"c": "x"}}}  # 4 levels with the frame itself: fine at 8
    ok = json.dumps({"t": "chat.start", "id": "s1", "fields": fields})
    with pytest.raises(FrameError) as err:
        decode(ok, VISITOR_FRAMES, LIMIT)
    assert err.value.code == "invalid_frame"  # schema: field values are strings
    deep = '{"t":"ping","id":"p1","x":' + "[" * 9 + "]" * 9 + "}"
    with pytest.raises(FrameError) as err:
        decode(deep, VISITOR_FRAMES, LIMIT)
    assert err.value.code == "json_too_deep"
    assert err.value.id is None  # refused before parsing: nothing of the frame is trusted
    # Brackets inside strings are text, not nesting.
    body = json.dumps({"t": "msg.send", "id": "m1", "conversation": "c_1", "body": "[[[[" * 50})
    decode(body, VISITOR_FRAMES, LIMIT)
    # A lower cap is honoured.
    with pytest.raises(FrameError):
        decode('{"t":"ping","x":[[]]}', VISITOR_FRAMES, LIMIT, max_depth=2)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_decodes_or_fails_cleanly(value: object) -> None:
    for registry in (VISITOR_FRAMES, AGENT_FRAMES):
        try:
            decode(json.dumps(value), registry, LIMIT)
        except FrameError as err:
            assert err.code in CODES


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(VISITOR_FRAMES)),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "conversation",
                "body",
                "on",
                "url",
                "title",
                "token",
                "resume",
                "fields",
                "consent",
                "score",
                "comment",
                "message",
                "referrer",
            ]
        ),
        json_values,
        max_size=6,
    ),
)
def test_every_visitor_command_with_arbitrary_fields(kind: str, fields: dict[str, object]) -> None:
    try:
        decode(json.dumps({"t": kind, **fields}), VISITOR_FRAMES, LIMIT)
    except FrameError as err:
        assert err.code in CODES


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_arbitrary_text_and_bytes(raw: str | bytes) -> None:
    try:
        decode(raw, VISITOR_FRAMES, LIMIT)
    except FrameError as err:
        assert err.code in CODES


@pytest.mark.parametrize(
    "raw",
    [
        '{"t":"chat.start","id":"x","consent":{"accepted":true,"version":"2026\\u0000"}}',
        '{"t":"chat.start","id":"x","fields":{"name\\u0000":"Ona"}}',
        '{"t":"page","id":"x","url":"https://shop.example/","title":"a\\u0000b"}',
    ],
)
def test_a_nul_character_anywhere_is_an_invalid_frame(raw: str) -> None:
    """PostgreSQL refuses NUL in text: a consent version with one dropped the socket with
    a database error (QA). No field has a use for it, so the codec refuses it."""
    with pytest.raises(FrameError) as err:
        decode(raw, VISITOR_FRAMES, LIMIT)
    assert (err.value.code, err.value.id) == ("invalid_frame", "x")
    assert err.value.field in ("consent.version", "fields", "title")
