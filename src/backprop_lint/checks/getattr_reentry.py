"""BPL105: ``__getattr__`` that re-enters itself while an instance attribute is missing.

``copy.copy`` and unpickling build an instance without running ``__init__``: its
``__dict__`` is empty, so every instance attribute is missing. ``__getattr__('x')`` then
runs; if it reads ``self.y`` (an instance attribute), that read calls
``__getattr__('y')``. The recursion is endless when these calls form a cycle:
``__getattr__('_obj')`` reading ``self._obj`` is the classic one.

For each attribute name the method is followed with its name parameter set to that name
and an empty instance dictionary: tests on the name (``name == "x"``,
``name.startswith("_")``, ``name[0] == "_"``) and on the dictionary (``"x" in
self.__dict__``) are decided, ``self.__dict__["x"]`` raises, storing the attribute
(``setattr(self, name, v)``) ends the danger, and reading an attribute whose own
``__getattr__`` always raises ends the path. A read reached this way is an edge of a graph
over attribute names; a cycle in it is an endless re-entry.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst
import networkx as nx

from ..cfg import EVAL, STORE, Atom, Block, ControlFlowGraph
from ..facts import FunctionFacts, ModuleFacts
from ..findings import Finding
from ..imported import inherited, stores_on_instance
from ..screen import MAX_NAMED_STRINGS
from ..names import child_nodes, dotted_name, is_name, string_value
from .report import at_def


def getattr_reentry(facts: ModuleFacts, function: FunctionFacts) -> Optional[Finding]:
    cls = function.owner
    me = function.receiver
    if cls is None or me is None or len(function.params) < 2 or function.wrapped:
        return None
    name_param = function.params[1].name
    if len(function.scope.bindings.get(name_param, ())) != 1:
        return None  # the name is reassigned: its value is no longer known
    if inherited(facts, cls).defines_outside_builtins("__getattribute__"):
        return None  # a base's own __getattribute__ decides what a read does
    walker = _Walker(facts, function, me, name_param)
    missing = sorted(walker.missing_attributes())
    if not missing:
        return None
    raising = {name for name in missing if walker.always_raises(name)}
    graph = nx.DiGraph()
    first_read: Dict[Tuple[str, str], cst.CSTNode] = {}
    for name in missing:
        for read, node in walker.reads(name, raising):
            graph.add_edge(name, read)
            first_read.setdefault((name, read), node)
    for name in missing:
        if graph.has_edge(name, name):
            return _report(facts, function, [name], first_read)
    for component in sorted(nx.strongly_connected_components(graph), key=sorted):
        if len(component) > 1:
            start = min(component)
            cycle = nx.shortest_path(graph.subgraph(component), start, next(
                n for n in sorted(graph.successors(start)) if n in component))
            return _report(facts, function, cycle, first_read)
    return None


def _setattr_stores_elsewhere(facts: ModuleFacts, cls) -> bool:
    """The ``__setattr__`` that instances use (the class's or a base's) never stores the
    normal way: it keeps every value elsewhere (on the class, in a dictionary), so
    ``self.x = v`` leaves no instance attribute ``x`` that a read could miss."""
    if facts.class_defines(cls, "__setattr__"):
        setter = facts.method(cls, "__setattr__")
        return setter is not None and not stores_on_instance(setter.as_ast())
    for base in inherited(facts, cls).classes:
        if base.runtime is None and "__setattr__" in base.names:
            setter = base.methods.get("__setattr__")
            return setter is not None and not stores_on_instance(setter)
    return False


def _report(facts: ModuleFacts, function: FunctionFacts, cycle: List[str], reads) -> Finding:
    steps = list(zip(cycle, cycle[1:] + cycle[:1]))
    line = facts.line_of(reads[steps[0]], function)
    chain = ", whose lookup reads ".join(f"self.{b}" for _, b in steps)
    message = (
        f"__getattr__ can re-enter itself: '{function.qualname}' reads {chain} (l.{line}), "
        "an instance attribute the class does not define. While it is missing (unpickling, "
        f"copy.copy, before __init__ sets it) that read calls __getattr__('{steps[-1][1]}') "
        "again, forever. Read it through self.__dict__, object.__getattribute__ or "
        "super().__getattr__."
    )
    return at_def(function, "BPL105", message)


def _mangle(attr: str, class_name: str) -> str:
    """``self.__x`` in class ``C`` is ``self._C__x``."""
    stripped = class_name.lstrip("_")
    if attr.startswith("__") and not attr.endswith("__") and stripped:
        return f"_{stripped}{attr}"
    return attr


def _demangle(attr: str, class_name: str) -> str:
    """``_C__x`` -> ``__x``: how the class body spelt a private name."""
    prefix = f"_{class_name.lstrip('_')}__"
    return "__" + attr[len(prefix):] if attr.startswith(prefix) and len(prefix) > 3 else attr


class _Walker:
    def __init__(self, facts: ModuleFacts, function: FunctionFacts, me: str, name_param: str):
        self.facts = facts
        self.function = function
        self.cls = function.owner
        self.me = me
        self.name = name_param
        self.cfg: ControlFlowGraph = function.cfg
        self.handlers = {h for region in self.cfg.try_regions for h in region.handlers}
        self.mro = mro = [c for c in facts.mro(self.cls) if c is not None]
        self.outside = inherited(facts, self.cls)  # the bases defined elsewhere
        self.instance = set().union(*(c.instance_attributes for c in mro), self.outside.instance_attributes)
        # assigned by ``self.x = v`` through a __setattr__ that stores them elsewhere
        self.stored_elsewhere = self.instance if self.instance and _setattr_stores_elsewhere(facts, self.cls) else set()
        self.local_bases_known = facts.bases_known(self.cls)
        self.subclasses = [c for c in facts.classes if c is not self.cls and self.cls in facts.mro(c)]

    # -- what is read --------------------------------------------------------------------
    def attribute_read(self, atom: Atom) -> Optional[str]:
        node = atom.node
        if atom.role == EVAL and isinstance(node, cst.Attribute) and is_name(node.value, self.me):
            attr = _mangle(node.attr.value, self.cls.name)
        elif (
            isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value in ("getattr", "hasattr") and len(node.args) >= 2
            and is_name(node.args[0].value, self.me)
        ):
            attr = string_value(node.args[1].value)
        else:
            return None
        if attr is None or self.is_defined(attr):
            return None
        return attr

    def is_defined(self, attr: str) -> bool:
        if attr.startswith("__") and attr.endswith("__"):
            return True  # __dict__, __class__...: always there
        if attr in self.stored_elsewhere:
            return True  # not on the instance at all: where it lives, it is not missed
        spellings = (attr, _demangle(attr, self.cls.name))
        if any(self.facts.class_defines(self.cls, a) or self.outside.defines(a) for a in spellings):
            return True
        if any(attr in sub.scope.bindings for sub in self.subclasses) or any(
                attr in c.class_attributes for c in self.mro):
            return True  # a template: the subclasses give it on the class
        # a base we cannot see may define it, unless the class sets it on instances; with
        # bases read from elsewhere, only what is seen set on instances is known to miss
        return not self.local_bases_known and attr not in self.instance

    def missing_attributes(self) -> Set[str]:
        return {a for _, atom in self.cfg.atoms() for a in [self.attribute_read(atom)] if a}

    # -- following the method under one name ----------------------------------------------
    def always_raises(self, value: str) -> bool:
        """No path under this name returns normally (reads of other attributes assumed
        to return)."""
        for index, _ in self.walk(value, raising=set()):
            block = self.cfg.blocks[index]
            if self.cfg.exit in block.successors and not block.raises:
                return False
        return True

    def reads(self, value: str, raising: Set[str]):
        """(attribute, node) of every missing attribute read reachable under ``value``."""
        for _, found in self.walk(value, raising):
            if found is not None:
                yield found

    def walk(self, value: str, raising: Set[str]):
        """Yield (block, read found or None) over the blocks reachable under ``value``.

        A read reached only past a test on the name that cannot be decided (``name in
        FIELDS`` for a computed FIELDS) is not yielded: such a test picks the names it
        serves, and which they are is unknown."""
        stack = [(self.cfg.entry, False)]
        seen = {(self.cfg.entry, False)}
        while stack:
            index, uncertain = stack.pop()
            block = self.cfg.blocks[index]
            if block.shielded:
                continue
            ends, reads = self.scan(block, value, raising)
            yield index, None
            if not uncertain:
                for read in reads:
                    yield index, read
            if ends == "stored":
                continue
            successors, decided = self.successors_and_certainty(block, value)
            for successor in successors:
                if successor in self.handlers and not (ends == "raised" or self.may_raise(block)):
                    continue  # nothing here can raise: the handler is not entered from here
                if ends == "raised" and successor not in self.handlers:
                    continue
                state = (successor, uncertain or not decided)
                if state not in seen:
                    seen.add(state)
                    stack.append(state)

    def may_raise(self, block: Block) -> bool:
        """The operation the block ends on can raise: a call, an attribute read or a
        subscript - but not a method of the name, a string (``name.startswith``)."""
        if not block.atoms:
            return False
        node = block.atoms[-1].node
        if isinstance(node, cst.Call):
            func = node.func
            return not (isinstance(func, cst.Attribute) and is_name(func.value, self.name))
        return isinstance(node, (cst.Attribute, cst.Subscript)) and not (
            isinstance(node, cst.Attribute) and is_name(node.value, self.name))

    def scan(self, block: Block, value: str, raising: Set[str]):
        """How the block ends under ``value`` (None, "raised", "stored") and the missing
        attributes it reads before that."""
        reads = []
        for atom in block.atoms:
            if self.stores_the_name(atom, value):
                return "stored", reads
            if self.reads_empty_dict(atom):
                return "raised", reads
            attr = self.attribute_read(atom)
            if attr is not None:
                reads.append((attr, atom.node))
                if attr != value and attr in raising:
                    return "raised", reads
        return None, reads

    def stores_the_name(self, atom: Atom, value: str) -> bool:
        """``setattr(self, name, v)`` / ``self.__dict__[name] = v`` / ``self.x = v`` for
        x == value: the attribute exists from here on."""
        node = atom.node
        if atom.role == STORE and isinstance(node, cst.Attribute) and is_name(node.value, self.me):
            return _mangle(node.attr.value, self.cls.name) == value
        if atom.role == STORE and isinstance(node, cst.Subscript) and self.is_dict(node.value):
            key = node.slice[0].slice
            return isinstance(key, cst.Index) and self.names_value(key.value, value)
        if isinstance(node, cst.Call) and len(node.args) >= 2:
            func = dotted_name(node.func) or ""
            if func in ("setattr", "object.__setattr__") or func.endswith("__setattr__"):
                target = node.args[0].value
                if is_name(target, self.me):
                    return self.names_value(node.args[1].value, value)
        return False

    def names_value(self, expr: cst.BaseExpression, value: str) -> bool:
        return is_name(expr, self.name) or string_value(expr) == value

    def is_dict(self, expr: cst.BaseExpression) -> bool:
        """``self.__dict__`` or ``vars(self)``."""
        if isinstance(expr, cst.Attribute):
            return expr.attr.value == "__dict__" and is_name(expr.value, self.me)
        return isinstance(expr, cst.Call) and is_name(expr.func, "vars") and len(expr.args) == 1 \
            and is_name(expr.args[0].value, self.me)

    def reads_empty_dict(self, atom: Atom) -> bool:
        node = atom.node
        return atom.role == EVAL and isinstance(node, cst.Subscript) and self.is_dict(node.value)

    def successors_and_certainty(self, block: Block, value: str) -> Tuple[List[int], bool]:
        """The successors possible under ``value``, and False when the block's test reads
        the name but cannot be decided."""
        successors = block.successors
        if block.true_successor is not None and block.deciders and len(successors) == 2:
            test = block.deciders[-1]
            verdict = self.evaluate(test, value)
            if verdict is not None:
                return [s for s in successors if (s == block.true_successor) == verdict], True
            return successors, not _reads_name(test, self.name)
        return successors, True

    def evaluate(self, test: cst.BaseExpression, value: str, depth: int = 0) -> Optional[bool]:
        """The truth of ``test`` when the name holds ``value`` and the instance dictionary
        is empty, if it can be told."""
        if depth > 8:
            return None
        if isinstance(test, cst.Name) and test.value != self.name:
            bound = self.bound_value(test.value)  # ``m = re.match(...)``; ``if m:``
            return None if bound is None else self.evaluate(bound, value, depth + 1)
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(
                test.comparisons[0].operator, (cst.Is, cst.IsNot)) and is_name(test.comparisons[0].comparator, "None"):
            inner = self.evaluate(test.left, value, depth + 1)  # a match object is never falsy
            return None if inner is None else inner == isinstance(test.comparisons[0].operator, cst.IsNot)
        matched = self.regex_match(test, value)
        if matched is not None:
            return matched
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self.evaluate(test.expression, value, depth + 1)
            return None if inner is None else not inner
        if isinstance(test, cst.BooleanOperation):
            left, right = self.evaluate(test.left, value, depth + 1), self.evaluate(test.right, value, depth + 1)
            if isinstance(test.operator, cst.And):
                return False if False in (left, right) else (True if left and right else None)
            return True if True in (left, right) else (False if left is right is False else None)
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute):
            method = test.func.attr.value
            text = self.string_of(test.func.value, value)
            if text is not None and method in ("startswith", "endswith") and test.args:
                options = _strings(test.args[0].value)
                if options is not None:
                    check = text.startswith if method == "startswith" else text.endswith
                    return any(check(o) for o in options)
            if text is not None and method in _STR_PREDICATES and not test.args:
                return bool(getattr(text, method)())
            if self.is_dict(test.func.value) and method == "get":
                return False  # an empty dictionary has nothing to give
            return None
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            return self.compare(test.left, test.comparisons[0], value)
        return None

    def compare(self, left, target: cst.ComparisonTarget, value: str) -> Optional[bool]:
        op, other = target.operator, target.comparator
        if isinstance(op, (cst.In, cst.NotIn)) and self.is_dict(other):
            return isinstance(op, cst.NotIn)  # nothing is in an empty dictionary
        text = self.string_of(left, value)
        if text is None:
            return None
        if isinstance(op, (cst.Equal, cst.NotEqual)) and string_value(other) is not None:
            return (string_value(other) == text) == isinstance(op, cst.Equal)
        if isinstance(op, (cst.In, cst.NotIn)):
            options = _strings(other)
            if options is None:
                options = self.constant_strings(other)
            if options is not None:
                return (text in options) == isinstance(op, cst.In)
        return None

    # -- values the method's tests refer to ---------------------------------------------
    def bound_value(self, local: str) -> Optional[cst.BaseExpression]:
        """The value of a local variable of the method assigned exactly once."""
        values = self.function.scope.assigned_values.get(local, [])
        return values[0] if len(values) == 1 and values[0] is not None else None

    def regex_match(self, test: cst.BaseExpression, value: str) -> Optional[bool]:
        """``re.match(r"...", name)`` (``fullmatch``, ``search``) with a literal pattern:
        whether it matches the name."""
        if not (isinstance(test, cst.Call) and len(test.args) >= 2):
            return None
        function = self.facts.absolute(dotted_name(test.func)) or ""
        if function not in ("re.match", "re.fullmatch", "re.search") or any(a.keyword or a.star for a in test.args[:2]):
            return None
        pattern = string_value(test.args[0].value)
        text = self.string_of(test.args[1].value, value)
        if pattern is None or text is None or len(test.args) > 2:
            return None
        try:
            return getattr(re, function[3:])(pattern, text) is not None
        except re.error:
            return None

    def constant_strings(self, expr: cst.BaseExpression) -> Optional[List[str]]:
        """The strings of a collection bound once to a literal in the class body
        (``self.FIELDS``, ``type(self).FIELDS``, ``Class.FIELDS``) or at module level."""
        if isinstance(expr, cst.Attribute):
            holder = expr.value
            on_me = is_name(holder, self.me) or (
                isinstance(holder, cst.Call) and is_name(holder.func, "type") and len(holder.args) == 1
                and is_name(holder.args[0].value, self.me))
            if not (on_me or is_name(holder, self.cls.name)) or expr.attr.value in self.instance:
                return None
            owner = next((c for c in self.facts.mro(self.cls) if c is not None
                          and expr.attr.value in c.scope.bindings), None)
            scope = owner.scope if owner is not None else None
            attribute = expr.attr.value
        elif isinstance(expr, cst.Name) and expr.value not in self.function.scope.bindings:
            scope, attribute = self.facts.module_scope, expr.value
        else:
            return None
        values = scope.assigned_values.get(attribute, []) if scope is not None else []
        if len(values) != 1 or values[0] is None:
            return None
        found = _strings(_unwrapped_collection(values[0]))
        # (the screen keeps only collections this small as they are written)
        return found if found is not None and len(found) <= MAX_NAMED_STRINGS else None

    def string_of(self, expr: cst.BaseExpression, value: str, depth: int = 0) -> Optional[str]:
        """The string ``expr`` holds: the name, an index / slice of it, or what a string
        method (``removesuffix``, ``lower``...) with literal arguments makes of it."""
        if is_name(expr, self.name):
            return value
        if isinstance(expr, cst.Name):  # ``base = name.removesuffix("_grad")``
            bound = self.bound_value(expr.value) if expr.value != self.me else None
            return None if bound is None or depth > 8 else self.string_of(bound, value, depth + 1)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) \
                and expr.func.attr.value in _STR_TRANSFORMS and all(not a.keyword and not a.star for a in expr.args):
            text = self.string_of(expr.func.value, value, depth + 1)
            arguments = [string_value(a.value) for a in expr.args]
            if text is not None and None not in arguments:
                try:
                    result = getattr(text, expr.func.attr.value)(*arguments)
                except (TypeError, ValueError):
                    return None
                return result if isinstance(result, str) else None
        if isinstance(expr, cst.Subscript) and is_name(expr.value, self.name) and len(expr.slice) == 1:
            part = expr.slice[0].slice
            if isinstance(part, cst.Index) and isinstance(part.value, (cst.Integer, cst.UnaryOperation)):
                index = _integer(part.value)
                if index is not None and -len(value) <= index < len(value):
                    return value[index]
            if isinstance(part, cst.Slice) and part.step is None:
                lower = _integer(part.lower) if part.lower is not None else 0
                upper = _integer(part.upper) if part.upper is not None else None
                if lower is not None and (part.upper is None or upper is not None):
                    return value[lower:upper]
        return None


def _reads_name(expr: cst.CSTNode, name: str) -> bool:
    stack = [expr]
    while stack:
        node = stack.pop()
        if is_name(node, name):
            return True
        stack.extend(child_nodes(node))
    return False


def _integer(expr) -> Optional[int]:
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = _integer(expr.expression)
        return -inner if inner is not None else None
    return None


def _strings(expr: cst.BaseExpression) -> Optional[List[str]]:
    """The strings of a literal string, tuple / list / set of strings, or the keys of a
    dictionary display."""
    if string_value(expr) is not None:
        return [string_value(expr)]  # type: ignore[list-item]
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        values = [string_value(e.value) if isinstance(e, cst.Element) else None for e in expr.elements]
        if all(v is not None for v in values):
            return values  # type: ignore[return-value]
    if isinstance(expr, cst.Dict):
        keys = [string_value(e.key) if isinstance(e, cst.DictElement) else None for e in expr.elements]
        if all(k is not None for k in keys):
            return keys  # type: ignore[return-value]
    return None


def _unwrapped_collection(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``frozenset({...})``, ``set([...])``, ``tuple(...)`` hold what their argument holds."""
    if isinstance(expr, cst.Call) and len(expr.args) == 1 and not expr.args[0].keyword \
            and not expr.args[0].star and dotted_name(expr.func) in ("frozenset", "set", "tuple", "list"):
        return expr.args[0].value
    return expr


# str methods: those that make a string of a string (with literal arguments), and the
# predicates that take none
_STR_TRANSFORMS = frozenset("removeprefix removesuffix lower upper casefold strip lstrip rstrip "
                            "replace".split())
_STR_PREDICATES = frozenset("isupper islower isidentifier isdigit isalpha isalnum istitle".split())
