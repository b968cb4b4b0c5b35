"""Building findings: where each one is reported and the chain it carries."""

from __future__ import annotations

from typing import Optional, Sequence

import libcst as cst

from ..facts import FunctionFacts, ModuleFacts
from ..findings import ChainStep, Finding


def step(function: FunctionFacts) -> ChainStep:
    return ChainStep(function.line, function.qualname, function.path)


def at_def(function: FunctionFacts, code: str, message: str,
           chain: Optional[Sequence[FunctionFacts]] = None) -> Finding:
    """A finding on the ``def`` line of ``function``; its chain defaults to itself."""
    steps = tuple(step(f) for f in (chain if chain is not None else [function]))
    return Finding(function.line, function.column, code, message, steps, function.path)


def at_node(module: ModuleFacts, node: cst.CSTNode, code: str, message: str,
            within: Optional[FunctionFacts] = None) -> Finding:
    """A finding on ``node``, in the body of ``within`` if that is known."""
    line, column = module.position(node, within)
    return Finding(line, column, code, message, (), module.path)


def label(function: FunctionFacts, where: FunctionFacts) -> str:
    """``name (l.12)``, or ``name (path:12)`` when it lives in another file than ``where``."""
    if function.path != where.path:
        return f"{function.qualname} ({function.path}:{function.line})"
    return f"{function.qualname} (l.{function.line})"
