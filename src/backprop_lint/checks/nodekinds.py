"""What an attribute of a node holds: other nodes, or a collaborator of another kind.

A call by name on an object reached through the current node's attributes
(``for v in self._prev: v.backward()``, ``self._ctx.backward()``) is a step of a graph
walk only if that attribute holds nodes. The module says what it holds by what it stores
into it in the methods of the class (and of its bases and subclasses):

* instances of classes of the module: ``Value(data, (self, other))`` with
  ``self._prev = set(children)`` in ``Value.__init__`` fills ``_prev`` with Values (a
  constructor's parameter is followed to the arguments the module's constructions pass
  it, one construction deep), and so does ``self.children.append(Node(...))`` or an
  annotation naming the class (``parent: Optional["Chain"]``). Graphs are taken to be
  homogeneous: ``other`` beside ``self`` is a Value too. The walk runs those classes'
  methods;
* a collaborator: an attribute set from a required constructor argument (the first node
  of a graph has no link to another, so such a link is never required) or annotated
  with classes that are not the module's (``self._fabric: Optional[Fabric]``).
  ``Fabric.backward`` calling ``self._strategy.backward(loss)`` delegates: no step;
* nothing known (an optional argument, a value from elsewhere, no store here): the
  caller matches the method by its name, as for any other object (backward.py).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from ..facts import ClassFacts, FunctionFacts, ModuleFacts
from ..names import assigned_targets, is_name, own_nodes

_WRAPPERS = frozenset("set frozenset list tuple sorted reversed".split())
_TYPING_WORDS = frozenset("Optional Union List Sequence Tuple Set FrozenSet Iterable Any None typing "
                          "list tuple set frozenset Dict dict Mapping".split())
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_MAX_DEPTH = 3
_INSERTIONS = frozenset("append add extend insert appendleft".split())


@dataclasses.dataclass(frozen=True)
class Holding:
    kinds: FrozenSet[ClassFacts]  # the module's classes whose instances it holds
    # the module shows something else: a required constructor argument, an annotation
    # naming only other classes
    collaborator: bool


class NodeKinds:
    """The stores into attributes of the module's classes, read once per module."""

    def __init__(self, module: ModuleFacts):
        self.module = module
        # (class, attribute) -> (value stored, its annotation, the method storing it)
        self._stores: Dict[Tuple[int, str], List[Tuple[cst.BaseExpression, Optional[cst.BaseExpression],
                                                       FunctionFacts]]] = {}
        self._holdings: Dict[Tuple[int, str], Holding] = {}
        self._constructions: Optional[Dict[int, List[Tuple[cst.Call, Optional[FunctionFacts]]]]] = None
        # the methods of each class whose stores are not read yet: a class's are read
        # when a question is asked about it (most modules ask about one family, if any)
        self._unread: Dict[int, List[FunctionFacts]] = {}
        for function in module.functions:
            if function.owner is not None and function.receiver is not None:
                self._unread.setdefault(id(function.owner), []).append(function)

    def _stores_into(self, cls: ClassFacts, attribute: str):
        for function in self._unread.pop(id(cls), ()):
            self._note_stores(function)
        return self._stores.get((id(cls), attribute), [])

    def _note_stores(self, function: FunctionFacts) -> None:
        for node in own_nodes(function.node.body):
            if isinstance(node, cst.Call):
                self._note_insertion(node, function)
                continue
            annotation = None
            if isinstance(node, cst.Assign):
                targets = [t.target for t in node.targets]
            elif isinstance(node, cst.AnnAssign) and node.value is not None:
                targets, annotation = [node.target], node.annotation.annotation
            else:
                continue
            for target in targets:
                for stored in assigned_targets(target):
                    if isinstance(stored, cst.Attribute) and is_name(stored.value, function.receiver):
                        key = (id(function.owner), stored.attr.value)
                        self._stores.setdefault(key, []).append((node.value, annotation, function))

    def _note_insertion(self, call: cst.Call, function: FunctionFacts) -> None:
        """``self.children.append(child)``: child goes into the collection."""
        func = call.func
        if (isinstance(func, cst.Attribute) and func.attr.value in _INSERTIONS and call.args
                and isinstance(func.value, cst.Attribute) and is_name(func.value.value, function.receiver)):
            key = (id(function.owner), func.value.attr.value)
            self._stores.setdefault(key, []).append((call.args[-1].value, None, function))

    def family(self, cls: ClassFacts) -> Set[ClassFacts]:
        """The class, its bases and its subclasses defined in the module."""
        mro = [c for c in self.module.mro(cls) if c is not None]
        return set(mro) | {c for c in self.module.classes if cls in self.module.mro(c)}

    def holding(self, cls: ClassFacts, attribute: str) -> Holding:
        """What the module stores into ``attribute`` of ``cls`` (or of its bases or
        subclasses), directly or in a collection."""
        key = (id(cls), attribute)
        if key not in self._holdings:
            kinds: Set[ClassFacts] = set()
            collaborator = False
            for member in self.family(cls):
                for value, annotation, function in self._stores_into(member, attribute):
                    kinds |= self._kinds_of(value, function, 0)
                    declared = annotation if annotation is not None else self._parameter_annotation(value, function)
                    named = self._classes_named(declared, function)
                    kinds |= named or set()
                    collaborator = collaborator or named == set() or self._required_parameter(value, function)
            self._holdings[key] = Holding(frozenset(kinds), collaborator and not kinds)
        return self._holdings[key]

    def _parameter_annotation(self, value: cst.BaseExpression, function: FunctionFacts):
        """The annotation of the ``__init__`` parameter stored as it is."""
        param = _parameter(value, function)
        return param.annotation.annotation if param is not None and param.annotation is not None else None

    def _required_parameter(self, value: cst.BaseExpression, function: FunctionFacts) -> bool:
        """Stored from a constructor parameter without a default that no construction here
        fills: a collaborator handed in (a graph's link to a node of its kind cannot be
        required - the first node has none)."""
        param = _parameter(value, function)
        return param is not None and param.default is None and param.star == "" and not self._kinds_of(
            value, function, 0)

    def _classes_named(self, annotation, function: FunctionFacts) -> Optional[Set[ClassFacts]]:
        """The module's classes an annotation names (``Optional["Op"]``); None without one
        (or one naming only typing's words), an empty set when it names only others."""
        if annotation is None:
            return None
        words = set()
        for node in own_nodes(annotation):
            if isinstance(node, cst.Name):
                words.add(node.value)
            elif isinstance(node, cst.SimpleString):
                words.update(_IDENTIFIER.findall(str(node.evaluated_value)))
        words -= _TYPING_WORDS
        if not words:
            return None
        found = {self.module.lookup(w, function) for w in words}
        return {c for c in found if isinstance(c, ClassFacts)}

    def _kinds_of(self, value: cst.BaseExpression, function: Optional[FunctionFacts],
                  depth: int, follow: bool = True) -> Set[ClassFacts]:
        """The classes of the module whose instances the value is or holds; ``follow``:
        a constructor's parameter may be followed to what constructions pass it."""
        if depth > _MAX_DEPTH or function is None:
            return set()
        if isinstance(value, (cst.Tuple, cst.List, cst.Set)):
            return self._union([(e.value, function) for e in value.elements], depth, follow)
        if isinstance(value, cst.StarredElement):
            return self._kinds_of(value.value, function, depth, follow)
        if isinstance(value, cst.Name):
            if value.value == function.receiver and function.owner is not None:
                return {function.owner}
            if value.value in function.param_names():
                # one constructor deep: what a construction passes is read in the
                # constructing function alone (the bodies the screen keeps for this)
                return self._from_parameter(value.value, function, depth) if follow else set()
            assigned = [v for v in function.scope.assigned_values.get(value.value, []) if v is not None]
            return self._union([(v, function) for v in assigned], depth + 1, follow)
        if isinstance(value, cst.Call):
            target = self.module.resolve_call(value, function)
            if isinstance(target, ClassFacts):
                return {target}
            if isinstance(value.func, cst.Name) and value.func.value in _WRAPPERS and value.args:
                return self._kinds_of(value.args[0].value, function, depth, follow)
        return set()

    def _from_parameter(self, name: str, function: FunctionFacts, depth: int) -> Set[ClassFacts]:
        """A constructor's parameter holds what the module's constructions pass it;
        of any other parameter nothing is known."""
        if function.name != "__init__" or function.owner is None:
            return set()
        built = [c for c in self.family(function.owner) if self.module.method(c, "__init__") is function]
        passed = [(_constructor_argument(function, call, name), caller)
                  for cls in built for call, caller in self._constructions_of(cls)]
        return self._union([(a, c) for a, c in passed if a is not None], depth + 1, follow=False)

    def _union(self, pairs, depth: int, follow: bool = True) -> Set[ClassFacts]:
        """The kinds of each (value, function it is in)."""
        return set().union(*(self._kinds_of(v, function, depth, follow) for v, function in pairs))

    def _constructions_of(self, cls: ClassFacts) -> List[Tuple[cst.Call, Optional[FunctionFacts]]]:
        if self._constructions is None:
            self._constructions = {}
            for call, caller in self.module.calls_everywhere():
                if caller is None:
                    continue
                target = self.module.resolve_call(call, caller)
                if isinstance(target, ClassFacts):
                    self._constructions.setdefault(id(target), []).append((call, caller))
        return self._constructions.get(id(cls), [])


def _parameter(value: cst.BaseExpression, function: FunctionFacts) -> Optional[cst.Param]:
    """The ``__init__`` parameter a stored value is, as it is."""
    if function.name != "__init__" or not isinstance(value, cst.Name):
        return None
    params = function.node.params
    for param in list(params.posonly_params) + list(params.params) + list(params.kwonly_params):
        if param.name.value == value.value:
            return param
    return None


def _constructor_argument(init: FunctionFacts, call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    """The argument ``C(...)`` passes to parameter ``name`` of ``C.__init__``."""
    positional = [p.name for p in init.params if p.kind == "positional"][1:]  # after self
    position = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is not None:
            if arg.keyword.value == name:
                return arg.value
            continue
        if position < len(positional) and positional[position] == name:
            return arg.value
        position += 1
    return None
