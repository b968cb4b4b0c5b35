"""Building findings: where each one is reported and the chain it carries."""

from __future__ import annotations

from typing import Optional, Sequence

import libcst as cst

from ..facts import FunctionFacts, ModuleFacts
from ..findings import ChainStep, Finding


def step(function: FunctionFacts, call: int = 0) -> ChainStep:
    return ChainStep(function.line, function.qualname, function.path, call)


def at_def(function: FunctionFacts, code: str, message: str,
           chain: Optional[Sequence[FunctionFacts]] = None,
           calls: Sequence[int] = ()) -> Finding:
    """A finding on the ``def`` line of ``function``; its chain defaults to itself.
    ``calls``: the line of each step's call to the next, where the message names them."""
    chain = chain if chain is not None else [function]
    lines = list(calls) + [0] * (len(chain) - len(calls))
    steps = tuple(step(f, line) for f, line in zip(chain, lines))
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
