"""Small helpers over libcst expressions: dotted names, literal strings."""

from __future__ import annotations

from typing import Optional

import libcst as cst


def dotted_name(expr: cst.CSTNode) -> Optional[str]:
    """``a.b.c`` for a chain of attributes on a name, else None (iteratively: chains
    of thousands of attributes are legal)."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def string_value(expr: cst.CSTNode) -> Optional[str]:
    """The value of a plain string literal, else None."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def is_name(expr: cst.CSTNode, name: Optional[str]) -> bool:
    return name is not None and isinstance(expr, cst.Name) and expr.value == name
