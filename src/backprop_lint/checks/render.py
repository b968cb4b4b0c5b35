"""Short source snippets for messages."""

from __future__ import annotations

import libcst as cst

_EMPTY = cst.Module(body=[])


def source_of(node: cst.CSTNode, limit: int = 60) -> str:
    """The node's code on one line, shortened to ``limit`` characters."""
    text = " ".join(_EMPTY.code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
