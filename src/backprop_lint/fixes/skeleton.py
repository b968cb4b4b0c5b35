"""The part of a file that decides whether its findings have a fix, cheaply.

Deciding ``[*]`` needs libcst's tree of each finding's function, but libcst parses some
fifty times slower than CPython: a whole 5,000-line module for one three-line
``__getattr__`` cost a cold run on the standard library more time than the analysis.
What a fix reads is the function itself (with everything nested in it), the functions
and classes around it, and the module's own statements (imports, rebindings of the
function's name); never the body of an unrelated function. So the decision is made on a
skeleton: the text with the body of every function that holds no finding line replaced
by ``pass`` and blank lines (line numbers unchanged). ``tests/test_fix_skeleton.py`` checks that
it decides as the whole text does.

A body that declares ``global`` / ``nonlocal`` names stays: it may rebind the name a fix
asks about. Applying a fix (``--fix``, ``--diff``, the edits of the JSON and SARIF
reports) works on the whole text, never on a skeleton.
"""

from __future__ import annotations

import ast
import re
from typing import Collection, Dict, List, Optional, Set, Tuple

from ..parsing import StandIn, python_lines, stood_in

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Skeleton:
    """``text``: the skeleton; ``function_lines``: (``def`` line, last line in the
    source) of every function left in it, in source order (None: CPython cannot parse
    the file).

    ``whole_module`` False: the fixes asked read nothing of the module beyond the class
    around the finding's function (``READS_MODULE`` of their fix modules), and the
    skeleton is only the module's statements that hold a finding line, one after the
    other (its lines then are not the source's: ``function_lines`` are)."""

    def __init__(self, source: str, finding_lines: Collection[int], whole_module: bool = True) -> None:
        self.text = source
        self.function_lines: Optional[List[Tuple[int, int]]] = None
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return  # libcst will refuse it too, or answer from its own positions
        kept, blanked = _functions(tree, set(finding_lines),
                                   _declaring_lines(source) if whole_module else set())
        lines, left_out = stood_in(source, list(blanked.values()))
        spans = [(0, len(lines))] if whole_module else _statements_holding(tree, finding_lines)
        self.text = "".join("\n" if i in left_out else lines[i]
                            for start, end in spans for i in range(start, end))
        self.function_lines = [(f.lineno, _last_line(f, blanked.get(f), left_out)) for f in kept
                               if any(start < f.lineno <= end for start, end in spans)]


def _statements_holding(tree: ast.AST, finding_lines: Collection[int]) -> List[Tuple[int, int]]:
    """The (0-based, end excluded) lines of the module's statements that hold a finding
    line - compound statements (a finding is in a ``def``), which start a line of their
    own and end one."""
    return [(_first_line(statement) - 1, statement.end_lineno or statement.lineno)
            for statement in getattr(tree, "body", [])
            if _holds(statement, finding_lines)]


def _declaring_lines(source: str) -> Set[int]:
    """The lines that may hold a ``global`` / ``nonlocal`` declaration: every line with
    the word (in a comment or a string too - a body kept for nothing costs only time; a
    walk of every body for the statements cost more than all the rest)."""
    if "global" not in source and "nonlocal" not in source:
        return set()
    return {number for number, line in enumerate(python_lines(source), 1) if _DECLARING.search(line)}


_DECLARING = re.compile(r"\b(?:global|nonlocal)\b")


def _functions(tree: ast.AST, finding_lines: Collection[int], declaring_lines: Set[int]
               ) -> Tuple[List[ast.AST], Dict[ast.AST, StandIn]]:
    """The functions left in the skeleton, in source order, and the stand-ins of the
    bodies left out."""
    kept: List[ast.AST] = []
    blanked: Dict[ast.AST, StandIn] = {}
    stack: List[ast.AST] = [tree]
    while stack:  # iterative: a deeply nested module must not exhaust the stack here
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                continue  # a def is a statement: never inside an expression
            if isinstance(child, _FUNCTIONS):
                kept.append(child)
                if _holds(child, finding_lines) or _holds(child, declaring_lines):
                    kept.extend(_nested_functions(child))
                else:
                    first = child.body[0]
                    line = _first_line(first)
                    blanked[child] = (line, first.col_offset, child.end_lineno or line, "pass")
                continue
            stack.append(child)
    kept.sort(key=lambda f: (f.lineno, f.col_offset))
    return kept, blanked


def _last_line(function: ast.AST, stand_in: Optional[StandIn], left_out: Set[int]) -> int:
    """A body left out ends on its ``pass`` (the line after it is left out - 0-based -
    when the stand-in was placed: not for a body on the ``def`` line)."""
    if stand_in is not None and stand_in[0] in left_out:
        return stand_in[0]
    return function.end_lineno or function.lineno  # type: ignore[attr-defined]


def _first_line(statement: ast.AST) -> int:
    """Where a statement starts: its first decorator's line if it has one."""
    decorators = getattr(statement, "decorator_list", ())
    return min([statement.lineno] + [d.lineno for d in decorators])  # type: ignore[attr-defined]


def _holds(function: ast.AST, finding_lines: Collection[int]) -> bool:
    start = _first_line(function)
    end = function.end_lineno or function.lineno  # type: ignore[attr-defined]
    return any(start <= line <= end for line in finding_lines)


def _nested_functions(function: ast.AST) -> List[ast.AST]:
    return [node for node in ast.walk(function) if node is not function and isinstance(node, _FUNCTIONS)]
