"""Nesting depth is counted outside strings, in linear time, matching the real structure."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.transport.jsonlimits import nesting_depth, too_deep


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


tricky_text = st.text(alphabet='[]{}"\\ab', max_size=12)
values = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3)
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_depth_matches_the_parsed_structure(value: object) -> None:
    assert nesting_depth(json.dumps(value)) == _depth(value)


def test_examples() -> None:
    assert nesting_depth("1") == 0
    assert nesting_depth('{"a": "[[[[{{{{"}') == 1
    assert nesting_depth(r'{"a": "\"[[["}') == 1
    assert nesting_depth("[" * 10_000 + "]" * 10_000) == 10_000
    assert too_deep('{"a":[{"b":[1]}]}', 3) and not too_deep('{"a":[{"b":[1]}]}', 4)


@settings(max_examples=400, deadline=None)
@given(values, st.integers(min_value=0, max_value=6))
def test_too_deep_agrees_with_the_depth_whatever_shortcut_it_takes(
    value: object, limit: int
) -> None:
    text = json.dumps(value)
    assert too_deep(text, limit) == (_depth(value) > limit)
