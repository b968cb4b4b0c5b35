"""What graph walks are made of: neighbours, visited tests and visited records.

Shared by the recursive walks (BPL201/202) and the worklist walks (BPL401/402).

* A *neighbour* of a function's node is a value reached from one of its parameters through
  at least one attribute step: ``v._prev`` and its elements, ``self.parent``,
  ``node.inputs[0]``, ``n.children()``. Container access alone (``obj[0]``, ``for x in obj``,
  ``d.values()``) is structural recursion, not a graph walk.
* A *visited test* reads whether a node was seen: ``v in visited``, ``id(v) not in seen``,
  ``node._visited``, ``getattr(node, "seen", False)``; its *key form* replaces the node by
  ``@`` (``id(@)``, ``@._visited``) so the test and the record can be compared.
* A *visited record* marks a node seen: ``visited.add(v)``, ``seen[id(v)] = ...``,
  ``node._visited = True``, ``setattr(node, "seen", True)``.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Set, Tuple

import libcst as cst

from ..cfg import STORE, Block, ControlFlowGraph
from ..facts import FunctionFacts, target_names
from ..names import dotted_name, is_name, own_nodes, string_value
from .render import source_of

# Methods that hand out a container's own elements: not a step to another node.
CONTAINER_METHODS = frozenset(
    "items values keys copy get pop popleft setdefault index count __iter__".split()
)
# Builtins that pass their argument's elements through.
_ELEMENT_WRAPPERS = frozenset("reversed sorted list tuple set frozenset iter enumerate zip filter".split())
_MAX_DERIVATION_DEPTH = 12
_WORKLIST_POPS = frozenset({"pop", "popleft"})


@dataclasses.dataclass(frozen=True)
class ElementOf:
    """What ``map(f, xs)`` hands ``f``: an element of ``xs``."""

    collection: cst.BaseExpression


class Derivation:
    """Where the values of one function come from: parameters, loop targets, locals."""

    def __init__(self, function: FunctionFacts, roots: Optional[Set[str]] = None):
        self.params = set(function.param_names()) if roots is None else set(roots)
        self.iterables: Dict[str, List[cst.BaseExpression]] = {}
        self.assigned = function.scope.assigned_values
        # what each local name reaches, once (a chain of ``h = h.set(...)`` lines must not
        # be followed once per path: that is exponential); None while being worked out
        self._names: Dict[str, Optional[Tuple[str, int]]] = {}
        for node in own_nodes(function.node.body):
            if isinstance(node, (cst.For, cst.CompFor)):
                for name in target_names(node.target):
                    self.iterables.setdefault(name.value, []).append(node.iter)

    def reached(self, expr: cst.CSTNode, depth: int = 0) -> Optional[Tuple[str, int]]:
        """(parameter it comes from, attribute steps taken) or None."""
        if depth > _MAX_DERIVATION_DEPTH:
            return None
        deeper = depth + 1
        if isinstance(expr, cst.Name):
            name = expr.value
            if name in self.params:
                return name, 0
            if name not in self._names:
                self._names[name] = None  # a name defined through itself reaches nothing new
                sources = self.iterables.get(name, []) + [
                    v for v in self.assigned.get(name, []) if v is not None
                ]
                self._names[name] = _best(self.reached(s, deeper) for s in sources)
            return self._names[name]
        if isinstance(expr, cst.Attribute):
            found = self.reached(expr.value, deeper)
            return (found[0], found[1] + 1) if found else None
        if isinstance(expr, cst.Subscript):
            return self.reached(expr.value, deeper)
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return _best(self.reached(e.value, deeper) for e in expr.elements)
        if isinstance(expr, cst.StarredElement):
            return self.reached(expr.value, deeper)
        if isinstance(expr, cst.Call):
            func = expr.func
            if self._pops_a_worklist(expr):
                return None
            if isinstance(func, cst.Attribute):
                if func.attr.value not in CONTAINER_METHODS and expr.args:
                    return None  # ``self.f(x)`` computes a new value: not a neighbour
                found = self.reached(func.value, deeper)
                if found is None:
                    return None
                steps = 0 if func.attr.value in CONTAINER_METHODS else 1
                return found[0], found[1] + steps
            if isinstance(func, cst.Name) and func.value in _ELEMENT_WRAPPERS:
                return _best(self.reached(a.value, deeper) for a in expr.args)
        return None

    def _pops_a_worklist(self, call: cst.Call) -> bool:
        """``funcs.pop()`` / ``heappop(funcs)`` on a local list: what comes off a worklist
        is whatever was pushed, not a neighbour reached through the current node."""
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _WORKLIST_POPS:
            container = func.value
        elif (dotted_name(func) or "").rsplit(".", 1)[-1] == "heappop" and call.args:
            container = call.args[0].value
        else:
            return False
        return isinstance(container, cst.Name) and container.value not in self.params

    def collection(self, expr: cst.CSTNode) -> bool:
        """A collection reached through the node's attributes: ``v._prev``,
        ``self._ctx.parents``, ``n.children()``."""
        found = self.reached(expr)
        return found is not None and found[1] > 0

    def fans_out(self, expr) -> bool:
        """One of the nodes such a collection holds: the loop variable of ``for p in
        v._prev``, an element handed to ``map``; a tuple holding one (a worklist entry).

        A single attribute (``self.parent``, ``self.data``) is a chain or a delegation,
        not a walk: it cannot branch into a diamond, so it is not followed."""
        if isinstance(expr, ElementOf):
            return self.collection(expr.collection)
        if isinstance(expr, cst.Name):
            iterables = self.iterables.get(expr.value, [])
            other = [v for v in self.assigned.get(expr.value, []) if v is not None]
            return bool(iterables) and not other and all(self.collection(i) for i in iterables)
        if isinstance(expr, (cst.Tuple, cst.List)):
            return any(self.fans_out(e.value) for e in expr.elements)
        if isinstance(expr, cst.StarredElement):
            return self.fans_out(expr.value)
        if isinstance(expr, cst.Attribute):
            return self.fans_out(expr.value)  # ``x.creator`` for each x of ``f.inputs``
        return False

    def first_attribute(self, expr: cst.CSTNode, root: str, depth: int = 0) -> Optional[str]:
        """The attribute of ``root`` through which ``expr`` is reached: ``_prev`` for
        ``v`` in ``for v in self._prev``, ``_ctx`` for ``self._ctx.parents[0]``."""
        if depth > _MAX_DERIVATION_DEPTH:
            return None
        deeper = depth + 1
        if isinstance(expr, cst.Attribute):
            if is_name(expr.value, root):
                return expr.attr.value
            return self.first_attribute(expr.value, root, deeper)
        if isinstance(expr, cst.Name) and expr.value not in self.params:
            sources = self.iterables.get(expr.value, []) + [
                v for v in self.assigned.get(expr.value, []) if v is not None]
            return next((a for a in (self.first_attribute(s, root, deeper) for s in sources) if a), None)
        if isinstance(expr, (cst.Subscript, cst.StarredElement)):
            return self.first_attribute(expr.value, root, deeper)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            return self.first_attribute(expr.func.value, root, deeper)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and (
                expr.func.value in _ELEMENT_WRAPPERS and expr.args):
            return self.first_attribute(expr.args[0].value, root, deeper)
        return None

    def neighbour_root(self, expr: cst.CSTNode) -> Optional[str]:
        found = self.reached(expr)
        return found[0] if found is not None and found[1] > 0 else None


def _best(candidates: Iterable[Optional[Tuple[str, int]]]) -> Optional[Tuple[str, int]]:
    found = [c for c in candidates if c is not None]
    return max(found, key=lambda c: c[1]) if found else None


# -- visited tests and records -----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Nodes:
    """The names that stand for the node being walked in one function, and the locals
    that hold a key made of it (``idx = id(v)``; ``if idx in seen``)."""

    names: FrozenSet[str]
    aliases: Mapping[str, cst.BaseExpression] = dataclasses.field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __or__(self, more: Iterable[str]) -> "Nodes":
        return Nodes(self.names | frozenset(more), self.aliases)


def nodes_of(function: FunctionFacts, names: Iterable[str]) -> Nodes:
    """``names`` and the locals assigned once that hold a key made of them (a ``del``
    of the local afterwards gives it no other value: ``creator = t._creator ... del
    creator``)."""
    params = set(function.param_names())
    aliases = {}
    deleted = None
    for name, values in function.scope.assigned_values.items():
        assigned = [v for v in values if v is not None]
        if len(assigned) != 1 or name in params:
            continue
        if len(values) > 1:
            deleted = _deletions(function) if deleted is None else deleted
            if len(values) - 1 > deleted.get(name, 0):
                continue
        aliases[name] = assigned[0]
    return Nodes(frozenset(names), aliases)


def _deletions(function: FunctionFacts) -> Dict[str, int]:
    """How often each local is the target of a ``del``."""
    counts: Dict[str, int] = {}
    for node in own_nodes(function.node.body):
        if isinstance(node, cst.Del):
            for name in target_names(node.target):
                counts[name.value] = counts.get(name.value, 0) + 1
    return counts


def key_form(expr: cst.CSTNode, nodes: Nodes, depth: int = 0) -> Optional[str]:
    """``v`` -> ``@``, ``id(v)`` -> ``id(@)``, ``v.uid`` -> ``@.uid`` for v in ``nodes``
    (through a local that holds such a key)."""
    if isinstance(expr, cst.Name):
        if expr.value in nodes:
            return "@"
        alias = nodes.aliases.get(expr.value)
        return key_form(alias, nodes, depth + 1) if alias is not None and depth < 3 else None
    if isinstance(expr, cst.Attribute):
        inner = key_form(expr.value, nodes, depth)
        return f"{inner}.{expr.attr.value}" if inner else None
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and len(expr.args) == 1:
        if expr.func.value in ("id", "hash", "str", "repr"):
            inner = key_form(expr.args[0].value, nodes, depth)
            return f"{expr.func.value}({inner})" if inner else None
    return None


@dataclasses.dataclass(frozen=True)
class VisitedTest:
    container: Optional[str]  # the set's source text; None for a marker attribute
    key: str
    unvisited_when: bool  # the test's value that means "not seen yet"
    node: cst.BaseExpression


def visited_test(test: cst.BaseExpression, nodes: Nodes, of_none: bool = True) -> Optional[VisitedTest]:
    """Read a branch condition as a visited test on one of ``nodes``, if it is one;
    ``of_none``: ``x.a is None`` may be one (:func:`_none_marker`)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = visited_test(test.expression, nodes, of_none)
        return dataclasses.replace(inner, unvisited_when=not inner.unvisited_when) if inner else None
    if isinstance(test, cst.BooleanOperation):
        # ``seen or ...`` false means every operand false; ``unseen and ...`` true means all true;
        # ``x.creator is not None and x.creator not in seen``: the set, before a None test
        wanted = isinstance(test.operator, cst.And)
        for none_too in (False, True) if of_none else (False,):
            for operand in (test.left, test.right):
                inner = visited_test(operand, nodes, none_too)
                if inner is not None and inner.unvisited_when == wanted:
                    return inner
        return None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if isinstance(target.operator, (cst.In, cst.NotIn)):
            key = key_form(test.left, nodes)
            if key is not None:
                return VisitedTest(source_of(target.comparator, 200), key,
                                   isinstance(target.operator, cst.NotIn), test)
            return None
    marker = _marker(test, nodes)
    if marker is not None:
        return VisitedTest(None, marker, False, test)
    return (_none_marker(test, nodes) if of_none else None) or _count_test(test, nodes)


def _none_marker(test: cst.BaseExpression, nodes: Nodes) -> Optional[VisitedTest]:
    """``t._creator is None`` (seen when true) / ``is not None`` (not seen when true): a
    marker only where the walk itself writes that attribute (the caller checks), as
    ``t._creator = None`` does once t is done. ``x.creator is not None`` alone tests
    that a node has a parent, not that it was seen."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return None
    target = test.comparisons[0]
    if not (isinstance(target.operator, (cst.Is, cst.IsNot)) and is_name(target.comparator, "None")):
        return None
    key = key_form(test.left, nodes)
    if key is None or "." not in key:
        return None
    return VisitedTest(None, key, isinstance(target.operator, cst.IsNot), test)


def _count_test(test: cst.BaseExpression, nodes: Nodes) -> Optional[VisitedTest]:
    """Kahn-style counts of unprocessed users: ``deps[n] == 0`` / ``count[n] == 1`` (ready
    when true), ``deps[n] > 0`` / ``deps[n]`` (ready when false)."""
    compared = test
    ready_when = False
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if not isinstance(target.comparator, cst.Integer):
            return None
        compared = test.left
        ready_when = isinstance(target.operator, (cst.Equal, cst.LessThanEqual, cst.LessThan, cst.Is))
    if isinstance(compared, cst.Call) and is_name(compared.func, "len") and len(compared.args) == 1:
        compared = compared.args[0].value  # ``len(users[n]) == 0``: nothing recorded for n yet
    if isinstance(compared, cst.Subscript) and len(compared.slice) == 1:
        index = compared.slice[0].slice
        if isinstance(index, cst.Index):
            key = key_form(index.value, nodes)
            if key:
                return VisitedTest(source_of(compared.value, 200), key, ready_when, test)
    return None


def _marker(expr: cst.BaseExpression, nodes: Nodes) -> Optional[str]:
    """``node._visited`` / ``getattr(node, "seen", False)`` / ``hasattr(node, "seen")``."""
    if isinstance(expr, cst.Attribute):
        return key_form(expr, nodes) if key_form(expr, nodes) != "@" else None
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Name)
        and expr.func.value in ("getattr", "hasattr")
        and len(expr.args) >= 2
    ):
        base = key_form(expr.args[0].value, nodes)
        attr = string_value(expr.args[1].value)
        return f"{base}.{attr}" if base and attr else None
    return None


def visited_records(cfg: ControlFlowGraph, nodes: Nodes) -> Set[Tuple[Optional[str], str]]:
    """(container, key form) of every place the function marks one of ``nodes`` seen."""
    records = set()
    for _, atom in cfg.atoms():
        node = atom.node
        if atom.role == STORE and isinstance(node, cst.Subscript) and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index):
                key = key_form(index.value, nodes)
                if key:
                    records.add((source_of(node.value, 200), key))
        elif atom.role == STORE and isinstance(node, cst.Attribute):
            key = key_form(node, nodes)
            if key and key != "@":
                records.add((None, key))
        elif isinstance(node, cst.Call):
            records.update(_call_record(node, nodes))
    return records


def _call_record(call: cst.Call, nodes: Nodes) -> Iterator[Tuple[Optional[str], str]]:
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Subscript):
        # ``users[n].append(m)``: n's entry is no longer empty
        entry = func.value
        index = entry.slice[0].slice if len(entry.slice) == 1 else None
        if func.attr.value in ("add", "append", "extend", "update") and isinstance(index, cst.Index):
            key = key_form(index.value, nodes)
            if key:
                yield source_of(entry.value, 200), key
    if isinstance(func, cst.Attribute) and func.attr.value in ("add", "append", "setdefault") and call.args:
        key = key_form(call.args[0].value, nodes)
        if key:
            yield source_of(func.value, 200), key
    if is_name(func, "setattr") and len(call.args) >= 2:
        base = key_form(call.args[0].value, nodes)
        attr = string_value(call.args[1].value)
        if base and attr:
            yield None, f"{base}.{attr}"


def unguarded_path(cfg: ControlFlowGraph, target: Block, is_guard, start: Optional[int] = None) -> bool:
    """Is ``target`` reachable from ``start`` (the entry) without taking the "not yet
    visited" branch of a test? ``is_guard(block)`` returns the successor to avoid."""
    start = cfg.entry if start is None else start
    stack = [start]
    seen = {start}
    while stack:
        index = stack.pop()
        if index == target.index:
            return True
        block = cfg.blocks[index]
        avoid = is_guard(block)
        for successor in block.successors:
            if successor != avoid and successor not in seen:
                seen.add(successor)
                stack.append(successor)
    return False


def guard_successor(block: Block, test: Optional[VisitedTest]) -> Optional[int]:
    """The successor of a test block that means "not seen yet"."""
    if test is None or block.true_successor is None or len(block.successors) != 2:
        return None
    if test.unvisited_when:
        return block.true_successor
    return next(s for s in block.successors if s != block.true_successor)


def block_test(block: Block, nodes: Nodes) -> Optional[VisitedTest]:
    if block.true_successor is None or not block.deciders:
        return None
    return visited_test(block.deciders[-1], nodes)


def name_of_container(text: Optional[str]) -> Optional[str]:
    """The variable a container text starts from (``self`` in ``self._seen``)."""
    if text is None:
        return None
    return text.split(".")[0].split("[")[0].split("(")[0]


def describe_key(key: str, node: str = "n") -> str:
    return key.replace("@", node)


def dotted(expr: cst.CSTNode) -> str:
    return dotted_name(expr) or source_of(expr)
