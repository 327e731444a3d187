"""An explicit cap on JSON nesting, checked before a body or frame is parsed.

No Bastion request or frame nests deeper than a few levels; a deeper one is an attack on
the parser (each level costs a recursion step and memory) or a mistake. Counting brackets
outside strings is linear and runs mostly in C: strings are cut out with one regular
expression, then only brackets are looked at.
"""

from __future__ import annotations

import re

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
    return nesting_depth(text) > max_depth
