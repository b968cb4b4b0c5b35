"""What a store or a ``with`` on the way to a recursive call can change (BPL102 / BPL103).

The no-progress rule (checks/recursion.py) drops a path as soon as something on it may
change what the guards read. Field-sensitively:

* a store into ``obj.a`` (or ``del obj.a``) can change only what reads an attribute ``a``
  - unless ``obj``'s class runs code on the store: its own ``__setattr__`` /
  ``__delattr__``, a property or another descriptor named ``a`` in its body. That is
  assumed wherever the class cannot be seen: ``obj`` must be the receiver of a method of a
  class of this module (then its subclasses here are looked at too) or a name bound only
  to ``C(...)`` for such a class, and every base must be one of this module's classes (or
  ``object``), without a metaclass;
* entering a lock this module makes (``threading.Lock()`` / ``RLock()``, bound to a
  module name or stored into ``self.x`` and nowhere else anything but a lock),
  ``contextlib.suppress(...)`` or ``contextlib.nullcontext(...)`` runs no code of the
  program (whether the ``with`` swallows the RecursionError is cfg.py's business).

The guards' reads (:class:`GuardReads`) are taken generously: every attribute named in
any test of the function (or of any function of the cycle) or in any value assigned to a
local (the stable locals the guards may read), strings included (``getattr(x, "a")``).
The screen (ending.py) claims a block for a store only where its own, narrower, reading
of the same tests names the attribute.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Dict, Iterable, List, Optional, Set

import libcst as cst

from ..facts import ClassFacts, FunctionFacts, ModuleFacts
from ..names import assigned_targets, child_nodes, is_name, own_nodes, string_value

# calls that read attributes by a name computed at run time, or all of them
_READ_ANY_ATTRIBUTE = frozenset({"getattr", "hasattr", "vars", "dir"})
# methods that run code of the class when an attribute is stored or deleted
_STORE_HOOKS = frozenset({"__setattr__", "__delattr__", "__getattribute__"})
_TESTED = {cst.If: "test", cst.While: "test", cst.IfExp: "test", cst.For: "iter"}
_LOCKS = frozenset({"threading.Lock", "threading.RLock"})
_INERT_CONTEXTS = frozenset({"contextlib.suppress", "contextlib.nullcontext"})


@dataclasses.dataclass
class GuardReads:
    """What the guards of some functions may read through objects."""

    attributes: Set[str] = dataclasses.field(default_factory=set)
    # names the guards use as a whole (``if node:``, ``len(self)``): their class's dunder
    # methods may read any attribute
    whole: Set[str] = dataclasses.field(default_factory=set)
    anything: bool = False  # ``self.__dict__``, ``getattr(x, name)``

    @classmethod
    def of(cls, functions: Iterable[FunctionFacts]) -> "GuardReads":
        reads = cls()
        for function in functions:
            for block in function.cfg.blocks:
                for decider in block.deciders or ():
                    reads.add(decider)
            for node in own_nodes(function.node):  # unreachable tests too (the screen's)
                test = _TESTED.get(type(node))
                if test is not None:
                    reads.add(getattr(node, test))
            for values in function.scope.assigned_values.values():
                for value in values:
                    if value is not None:
                        reads.add(value)
        return reads

    def add(self, expr: cst.CSTNode) -> None:
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Attribute):
                self.attributes.add(node.attr.value)
                if node.attr.value == "__dict__":
                    self.anything = True
                if not isinstance(node.value, cst.Name):
                    stack.append(node.value)  # (``x.a`` reads a of x, not x as a whole)
                continue
            if isinstance(node, cst.Name):
                self.whole.add(node.value)
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and (
                    node.func.value in _READ_ANY_ATTRIBUTE):
                named = [string_value(a.value) for a in node.args[1:2]]
                if node.func.value in ("vars", "dir") or None in named or not named:
                    self.anything = True
            elif isinstance(node, cst.ConcatenatedString):
                text = node.evaluated_value
                if isinstance(text, str):
                    self.attributes.add(text)
            else:
                text = string_value(node)
                if text is not None:
                    self.attributes.add(text)
            stack.extend(child_nodes(node))

    def may_read(self, target: cst.Attribute) -> bool:
        """Whether a store into ``target`` may change what the guards read."""
        if self.anything or target.attr.value in self.attributes:
            return True
        base = target.value
        return not isinstance(base, cst.Name) or base.value in self.whole


def store_runs_no_code(target: cst.Attribute, function: FunctionFacts) -> bool:
    """``obj.a = ...`` / ``del obj.a`` surely stores into the instance's (or class's)
    namespace and nothing else: ``obj``'s class is known and defines no hook for it."""
    module = function.module
    base = target.value
    if not isinstance(base, cst.Name):
        return False
    classes = _classes_of(base.value, function, module)
    return bool(classes) and all(_plain_for(c, target.attr.value, module) for c in classes)


def _classes_of(name: str, function: FunctionFacts, module: ModuleFacts) -> Set[ClassFacts]:
    """The classes ``name`` may be an instance of: the receiver's class and its subclasses
    here, or the class of the only value a local or module name is bound to."""
    if function.owner is not None and name == function.receiver:
        own = function.owner
        return {own} | {c for c in module.classes if own in module.mro(c)}
    if name in function.scope.global_names or name in function.scope.nonlocal_names:
        return set()
    scope = function.scope if name in function.scope.bindings else (
        module.module_scope if function.parent is None else None)
    if scope is None:
        return set()
    values = scope.assigned_values.get(name, [])
    if len(values) != 1 or not isinstance(values[0], cst.Call) or not isinstance(values[0].func, cst.Name):
        return set()
    found = module.lookup(values[0].func.value, function if scope is function.scope else None)
    return {found} if isinstance(found, ClassFacts) else set()


def _plain_for(cls: ClassFacts, attribute: str, module: ModuleFacts) -> bool:
    if not module.bases_known(cls):
        return False
    for member in module.mro(cls):
        if member is None or member.node is None:
            continue  # ``object``
        if any(k.keyword is not None for k in member.node.keywords):
            return False  # a metaclass may hook the store
        bound = member.scope.bindings
        if any(hook in bound for hook in _STORE_HOOKS) or attribute in bound:
            return False  # a hook, or a class-level ``a`` that may be a descriptor
    return True


def enters_inertly(manager: cst.BaseExpression, function: FunctionFacts) -> bool:
    """Entering ``manager`` runs no code of the program: see the module's docstring."""
    module = function.module
    if isinstance(manager, cst.Call):
        return module.import_path(manager.func, function) in _INERT_CONTEXTS
    if isinstance(manager, cst.Name):
        scope = function.scope
        if manager.value in scope.bindings or function.parent is not None:
            return False
        values = module.module_scope.assigned_values.get(manager.value, [])
        return len(values) == 1 and _makes_lock(values[0], module)
    if isinstance(manager, cst.Attribute) and isinstance(manager.value, cst.Name):
        if function.owner is None or manager.value.value != function.receiver:
            return False
        attribute = manager.attr.value
        classes = _classes_of(manager.value.value, function, module)  # the subclasses too
        stored = _stores_by_attribute(module).get(attribute, [])
        in_bodies = [v for cls in classes for c in module.mro(cls) if c is not None
                     for v in c.scope.assigned_values.get(attribute, [])]
        values = stored + in_bodies
        return bool(values) and all(module.bases_known(c) for c in classes) and all(
            _makes_lock(v, module) for v in values)
    return False


def _makes_lock(value: Optional[cst.BaseExpression], module: ModuleFacts) -> bool:
    """``threading.Lock()`` / ``RLock()`` (the import at the module's top names it)."""
    return isinstance(value, cst.Call) and not value.args and (
        module.import_path(value.func, None) in _LOCKS)


_STORES_CACHE: "weakref.WeakKeyDictionary[ModuleFacts, Dict[str, List]]" = weakref.WeakKeyDictionary()


def _stores_by_attribute(module: ModuleFacts) -> Dict[str, List[Optional[cst.BaseExpression]]]:
    """For each attribute name, the value of every ``self.<name> = value`` in the
    module's methods; None for a store whose value we cannot read (augmented, unpacked).
    (The screen keeps the body of a method storing a lock: screen.py.) One walk per
    module."""
    known = _STORES_CACHE.get(module)
    if known is not None:
        return known
    stored: Dict[str, List[Optional[cst.BaseExpression]]] = {}
    for function in module.functions:
        me = function.receiver
        if me is None:
            continue
        for node in own_nodes(function.node):
            if isinstance(node, cst.Assign):
                targets = [(t.target, node.value) for t in node.targets]
            elif isinstance(node, cst.AnnAssign):
                targets = [(node.target, node.value)]
            elif isinstance(node, cst.AugAssign):
                targets = [(node.target, None)]
            else:
                continue
            for target, value in targets:
                for item in assigned_targets(target):
                    if isinstance(item, cst.Attribute) and is_name(item.value, me):
                        stored.setdefault(item.attr.value, []).append(value if item is target else None)
    _STORES_CACHE[module] = stored
    return stored
