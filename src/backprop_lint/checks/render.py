"""Short source snippets for messages."""

from __future__ import annotations

import libcst as cst

_EMPTY = cst.Module(body=[])


def source_of(node: cst.CSTNode, limit: int = 60) -> str:
    """The node's code on one line, shortened to ``limit`` characters."""
    text = " ".join(_EMPTY.code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def line_list(lines, limit: int = 5) -> str:
    """``l.3, l.7`` - at most ``limit`` of them, then a count."""
    lines = list(lines)
    shown = ", ".join(f"l.{n}" for n in lines[:limit])
    return shown if len(lines) <= limit else f"{shown}, ... ({len(lines)} calls)"


def chain_text(names, limit: int = 8) -> str:
    """``a (l.1) -> b (l.5) -> a``, eliding the middle of long chains."""
    names = list(names)
    if len(names) > limit:
        names = names[: limit - 2] + [f"... ({len(names) - 1} steps) ..."] + names[-1:]
    return " -> ".join(names)
