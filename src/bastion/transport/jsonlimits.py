"""Limits on the JSON a request or frame may carry: nesting, checked before it is parsed,
and NUL characters, checked in the parsed values.

No Bastion request or frame nests deeper than a few levels; a deeper one is an attack on
the parser (each level costs a recursion step and memory) or a mistake. Counting brackets
outside strings is linear and runs mostly in C: strings are cut out with one regular
expression, then only brackets are looked at.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, field_validator

DEFAULT_MAX_DEPTH = 8

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """The deepest level of ``[``/``{`` nesting in JSON text (0 for a scalar).

    For malformed text the answer is an estimate; the parser rejects such text anyway.
    """
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def too_deep(text: str, max_depth: int) -> bool:
    # Nesting needs an opening bracket per level: text with no more than ``max_depth`` of
    # them (a chat message's frame has one) cannot be too deep, and counting them is one
    # pass in C. Only the rest are measured.
    if text.count("{") + text.count("[") <= max_depth:
        return False
    return nesting_depth(text) > max_depth


def holds_nul(value: object) -> bool:
    """Whether a parsed JSON value has a NUL character in any string or key.

    No field has a use for one, and PostgreSQL refuses NUL in text: such a value failed
    there with a database error (a 500) where SQLite stored it. Refused as input instead,
    alike on every engine.
    """
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(v) for v in value)
    return False


class NulFree(BaseModel):
    """A request body's or a frame's model: no NUL character in any string it holds."""

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if holds_nul(value):
            raise ValueError("text may not contain NUL characters")
        return value
