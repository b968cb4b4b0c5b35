"""What a fix works on: the finding's function in its parsed module, and the libcst helpers
the fixes share (walking one function's own scope, the names a tree uses).

Plain libcst (parser and PositionProvider): no codemod machinery here.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Callable, Iterator, List, Optional, Set, Tuple, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..findings import Finding

Function = cst.FunctionDef
# nodes that open a scope of their own: names inside them are not the function's locals,
# and a `yield` there would not make the function a generator
SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.ListComp, cst.SetComp,
          cst.DictComp, cst.GeneratorExp)


@dataclasses.dataclass(frozen=True)
class Target:
    """One finding and where it is: the function it is in (innermost), that function's
    parents from the module down, and the module."""

    finding: Finding
    module: cst.Module
    function: Function
    parents: Tuple[cst.CSTNode, ...]  # module ... the node holding `function`
    lines: "_FunctionLines"

    def line_of(self, node: cst.CSTNode) -> int:
        """The source line where ``node``, in the function, starts."""
        return self.lines.line_of(node)

    @property
    def in_class(self) -> Optional[cst.ClassDef]:
        """The class whose body holds the function directly (a method), else None."""
        for node in reversed(self.parents):
            if isinstance(node, cst.ClassDef):
                return node
            if isinstance(node, (cst.FunctionDef, cst.Module)):
                return None
        return None


@dataclasses.dataclass(frozen=True)
class Rewrite:
    """A fix for one finding: ``function`` becomes ``replacement``; ``imports`` are the
    modules it needs imported (``import collections``)."""

    finding: Finding
    applicability: str
    function: Function
    replacement: Function
    imports: Tuple[str, ...] = ()


class NoFix(Exception):
    """The shape is not one the fix can prove equivalent: the message says why."""


class ModuleIndex:
    """The functions of one parsed module with their ``def`` lines and parents.

    Lines come from CPython's parse of the same text (the functions in source order are
    the same in both trees); libcst's positions of the whole module, which cost several
    times its parse, are worked out only if a fix asks for a node's line."""

    def __init__(self, text: str, function_lines: Optional[List[Tuple[int, int]]] = None) -> None:
        self.module = cst.parse_module(text)
        self.functions: List[Tuple[Function, Tuple[cst.CSTNode, ...]]] = []
        self._collect(self.module, (self.module,))
        if function_lines is None:
            function_lines = _function_lines(text)
        self._lines = function_lines if function_lines is not None and len(
            function_lines) == len(self.functions) else None
        self._positions: Optional[object] = None

    @property
    def positions(self):
        """libcst's positions of every node (resolved on first use)."""
        if self._positions is None:
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions

    def _collect(self, node: cst.CSTNode, parents: Tuple[cst.CSTNode, ...]) -> None:
        """Every function with its parents, in source order (pre-order, as CPython's)."""
        stack = [(child, parents) for child in reversed(_statement_children(node))]
        while stack:  # iterative: deeply nested code must not exhaust the stack here
            current, above = stack.pop()
            if isinstance(current, cst.FunctionDef):
                self.functions.append((current, above))
            inner = above + (current,) if isinstance(current, (cst.FunctionDef, cst.ClassDef)) else above
            stack.extend((child, inner) for child in reversed(_statement_children(current)))

    def _span(self, index: int) -> Tuple[int, int]:
        if self._lines is not None:
            return self._lines[index]
        function = self.functions[index][0]
        return self.positions[function.name].start.line, self.positions[function].end.line

    def def_line(self, function: Function) -> int:
        return self._span(self._index(function))[0]

    def end_line(self, function: Function) -> int:
        return self._span(self._index(function))[1]

    def _index(self, function: Function) -> int:
        return next(i for i, (f, _) in enumerate(self.functions) if f is function)

    def target(self, finding: Finding, at_def: bool) -> Optional[Target]:
        """The function whose ``def`` is on the finding's line (``at_def``), or the
        innermost function whose body holds the finding's line."""
        best = None
        for index, (function, parents) in enumerate(self.functions):
            start, end = self._span(index)
            if at_def and start == finding.line:
                return self._target(finding, function, parents)
            if not at_def and start < finding.line <= end:
                if best is None or start > best[0]:
                    best = (start, function, parents)
        return None if best is None else self._target(finding, best[1], best[2])

    def _target(self, finding: Finding, function: Function, parents) -> Target:
        return Target(finding, self.module, function, parents,
                      _FunctionLines(function, lambda: self.def_line(function)))


class _FunctionLines:
    """The lines of the nodes of one function, for a fix that asks: libcst's positions of
    the function alone (a module of its own: a fraction of the whole module's cost), moved
    to where its ``def`` is in the source (a node's lines do not depend on its indentation)."""

    def __init__(self, function: Function, def_line: Callable[[], int]) -> None:
        self._function = function
        self._def_line = def_line
        self._positions: Optional[object] = None
        self._offset = 0

    def line_of(self, node: cst.CSTNode) -> int:
        if self._positions is None:
            alone = cst.Module(body=[self._function])
            self._positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            self._offset = self._def_line() - self._positions[self._function.name].start.line  # type: ignore[index]
        return self._positions[node].start.line + self._offset  # type: ignore[index]


def _statement_children(node: cst.CSTNode) -> List[cst.CSTNode]:
    """The children of ``node`` that may hold a ``def``: a def is a statement, so it sits
    only in the bodies of compound statements - not inside expressions, which are most of
    a tree. (Read from the fields: libcst's ``children`` visits every child to list them.)"""
    found: List[cst.CSTNode] = []
    for field in _BODY_FIELDS:
        value = getattr(node, field, None)
        for child in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(child, _HOLDING_STATEMENTS):
                found.append(child)
    return found


# the fields of a node that hold statements or blocks of them, and what can hold a def
_BODY_FIELDS = ("body", "orelse", "handlers", "finalbody", "cases")
_HOLDING_STATEMENTS = tuple(getattr(cst, name) for name in (
    "BaseCompoundStatement", "IndentedBlock", "Else", "Finally", "ExceptHandler",
    "ExceptStarHandler", "MatchCase") if hasattr(cst, name))


def _function_lines(text: str) -> Optional[List[Tuple[int, int]]]:
    """The (``def`` line, last line) of every function in source order, from CPython's
    parse; None when it cannot say (then libcst's positions answer)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    functions = sorted((node for node in ast.walk(tree)
                        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))),
                       key=lambda node: (node.lineno, node.col_offset))
    return [(node.lineno, node.end_lineno or node.lineno) for node in functions]


def own_scope(node: cst.CSTNode) -> Iterator[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]]:
    """Every node under ``node`` (not ``node`` itself) with its ancestors below ``node``,
    not descending into nested scopes (which are yielded themselves)."""
    stack: List[Tuple[cst.CSTNode, Tuple[cst.CSTNode, ...]]] = [
        (child, ()) for child in reversed(node.children)]
    while stack:
        current, above = stack.pop()
        yield current, above
        if isinstance(current, SCOPES):
            continue
        inner = above + (current,)
        stack.extend((child, inner) for child in reversed(current.children))


def every_node(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def names_used(node: cst.CSTNode) -> Set[str]:
    """Every identifier written anywhere under ``node`` (any scope, any role)."""
    return {n.value for n in every_node(node) if isinstance(n, cst.Name)}


def fresh_name(base: str, taken: Set[str]) -> str:
    name = base
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def assigned_names(node: cst.CSTNode) -> Set[str]:
    """The names bound in ``node``'s own scope (assignments, loop and with targets, del,
    imports, walrus, nested def / class names, except-as)."""
    bound: Set[str] = set()
    for current, _ in own_scope(node):
        targets: List[cst.CSTNode] = []
        if isinstance(current, cst.AssignTarget):
            targets.append(current.target)
        elif isinstance(current, (cst.AnnAssign, cst.AugAssign)):
            targets.append(current.target)
        elif isinstance(current, (cst.For, cst.CompFor)):
            targets.append(current.target)
        elif isinstance(current, cst.AsName):
            targets.append(current.name)
        elif isinstance(current, cst.Del):
            targets.append(current.target)
        elif isinstance(current, cst.NamedExpr):
            targets.append(current.target)
        elif isinstance(current, (cst.FunctionDef, cst.ClassDef)):
            bound.add(current.name.value)
        elif isinstance(current, cst.ImportAlias) and current.asname is None:
            bound.add(cst.helpers.get_full_name_for_node(current.name).split(".")[0])
        for target in targets:
            bound.update(bound_by(target))
    return bound


def bound_by(target: cst.CSTNode) -> List[str]:
    """The names a target binds: ``a``, ``a, (b, *c)``; not ``x.a`` or ``x[a]``."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in bound_by(element.value)]
    if isinstance(target, cst.StarredElement):
        return bound_by(target.value)
    return []


def mangled(attribute: str, class_name: str) -> str:
    """What ``x.__name`` looks up in class ``C``: ``_C__name`` (a string is not mangled)."""
    stripped = class_name.lstrip("_")
    if attribute.startswith("__") and not attribute.endswith("__") and stripped:
        return f"_{stripped}{attribute}"
    return attribute


def param_names(params: cst.Parameters) -> List[str]:
    every = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return [p.name.value for p in every]


def is_call_to(node: cst.CSTNode, callee: Union[str, Tuple[str, str]]) -> bool:
    """``callee`` is a name (``f(...)``) or (receiver, method) (``self.f(...)``)."""
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    if isinstance(callee, str):
        return isinstance(func, cst.Name) and func.value == callee
    receiver, method = callee
    return (isinstance(func, cst.Attribute) and func.attr.value == method
            and isinstance(func.value, cst.Name) and func.value.value == receiver)
