"""Applying rewrites to a file's text: each function is replaced where it stands, so the
rest of the file (comments, blank lines, quotes) is left byte for byte; the imports a fix
needs are added with libcst's codemod ``AddImportsVisitor`` (imported only then).
"""

from __future__ import annotations

import difflib
from typing import Dict, List, Sequence, Set, Tuple

import libcst as cst

from .target import Rewrite, every_node


def disjoint(rewrites: Sequence[Rewrite]) -> List[Rewrite]:
    """The rewrites that can go in one pass: none inside a function another one replaces
    (the rest waits for the next pass, after the file is analysed again)."""
    chosen: List[Rewrite] = []
    inside: Set[int] = set()
    for rewrite in sorted(rewrites, key=lambda r: -_size(r.function)):
        nodes = {id(n) for n in every_node(rewrite.function)}
        if id(rewrite.function) in inside or any(id(c.function) in nodes for c in chosen):
            continue
        if any(c.function is rewrite.function for c in chosen):
            continue
        chosen.append(rewrite)
        inside |= nodes
    return chosen


def _size(function: cst.FunctionDef) -> int:
    return sum(1 for _ in every_node(function))


class _Replace(cst.CSTTransformer):
    def __init__(self, replacements: Dict[cst.FunctionDef, cst.FunctionDef]) -> None:
        super().__init__()
        self.replacements = replacements

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
        return self.replacements.get(original, updated)


def apply(module: cst.Module, rewrites: Sequence[Rewrite]) -> str:
    """The module's text with ``rewrites`` (disjoint functions) applied."""
    replaced = module.visit(_Replace({r.function: r.replacement for r in rewrites}))
    needed = sorted({name for r in rewrites for name in r.imports})
    if needed:
        replaced = _add_imports(replaced, needed)
    return replaced.code


def _add_imports(module: cst.Module, names: Sequence[str]) -> cst.Module:
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    for name in names:
        AddImportsVisitor.add_needed_import(context, name)
    return AddImportsVisitor(context).transform_module(module)


Edit = Tuple[int, int, str]  # first line, line after the last (1-based), new text


def line_edits(before: str, after: str) -> List[Edit]:
    """The changes from ``before`` to ``after`` as whole-line replacements."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [(i1 + 1, i2 + 1, "".join(new[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def unified_diff(path: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"a/{path}", tofile=f"b/{path}"))
