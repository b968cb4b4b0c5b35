"""Stage 2: per-function facts of one module.

One iterative walk over the libcst tree (deep expressions cannot overflow it) finds every
function and class, the names each scope binds, whether a function is a generator or a
coroutine, and its receiver (``self`` / ``cls``). :class:`ModuleFacts` then resolves a
call to the function of this module that it runs, by Python's scoping rules: a name
rebound in scope is not followed, class scopes are skipped by nested functions, methods are
found through the bases defined in the module.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from .cfg import (
    AWAITED,
    CONSUMING_BUILTINS,
    EVAL,
    ITERATED,
    LAZY_WRAPPERS,
    ControlFlowGraph,
    build_cfg,
)
from .imported import FunctionInfo, calls_through, imported_target
from .names import all_params, assigned_targets, child_nodes, dotted_name, is_name
from .parsing import ParsedModule

# Decorators after which calling the name does not run this body: the call dispatches to
# other implementations, returns a context manager, or the body is a typing stub.
_DISPATCHING_DECORATORS = frozenset(
    "singledispatch singledispatchmethod overload dispatch register contextmanager "
    "asynccontextmanager fixture".split()
)
# Decorators that make the function a property accessor: reached by attribute access.
_PROPERTY_DECORATORS = frozenset("property cached_property abstractproperty".split())
# Decorators known to hand every call to the function unchanged (or to cache it, which does
# not stop a recursion: the result is stored only after the call returns). Any other
# decorator may run code around each call - count a depth, swallow a re-entry
# (reprlib.recursive_repr), enter a context - so a recursion through it is not judged.
_TRANSPARENT_DECORATORS = frozenset(
    "staticmethod classmethod property cached_property abstractproperty setter getter "
    "deleter abstractmethod abstractclassmethod abstractstaticmethod wraps lru_cache cache "
    "final override no_grad enable_grad inference_mode set_grad_enabled script ignore unused "
    "export jit njit".split()
)
_ACCESSOR_SUFFIXES = {"setter": "setter", "getter": "property", "deleter": "deleter"}
_IMPLICIT_CLASSMETHODS = frozenset({"__init_subclass__", "__class_getitem__"})
# The first parameter of a plain method is its receiver only under these names: a function
# of a class body whose first parameter is named otherwise is used as a plain function of
# the class namespace in real code (``Engine.map(data, func)``), where ``data.map(func)``
# runs the data's own ``map``. (A class method's first parameter is the class whatever
# its name: the decorator says so.)
_RECEIVER_NAMES = frozenset({"self", "cls", "mcs", "mcls", "metacls"})


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    kind: str  # positional | vararg | keyword | varkw
    has_default: bool


@dataclasses.dataclass(eq=False)
class Scope:
    """Names bound in one function, class or module body."""

    bindings: Dict[str, List[cst.CSTNode]] = dataclasses.field(default_factory=dict)
    global_names: Set[str] = dataclasses.field(default_factory=set)
    nonlocal_names: Set[str] = dataclasses.field(default_factory=set)
    # the value of each ``name = value`` binding, to tell ``f = cache(f)`` from rebinding
    assigned_values: Dict[str, List[Optional[cst.BaseExpression]]] = dataclasses.field(
        default_factory=dict
    )
    # for a comprehension's throwaway scope: where an assignment expression binds
    walrus_target: Optional["Scope"] = None
    # the statements of a module's or function's body, in order (flow-sensitive names)
    body: Sequence[cst.CSTNode] = ()

    def bind(self, name: str, node: cst.CSTNode, value: Optional[cst.BaseExpression] = None):
        self.bindings.setdefault(name, []).append(node)
        self.assigned_values.setdefault(name, []).append(value)


@dataclasses.dataclass(eq=False)
class ClassFacts:
    node: cst.ClassDef
    name: str
    qualname: str
    function: Optional["FunctionFacts"]  # the function the class is defined in
    owner: Optional["ClassFacts"]  # the class the class is defined in
    scope: Scope
    bases: List[Optional[str]]
    methods: Dict[str, List["FunctionFacts"]] = dataclasses.field(default_factory=dict)
    instance_attributes: Set[str] = dataclasses.field(default_factory=set)
    # ``cls.x = ...`` in a classmethod (``__init_subclass__`` too): on the class, or a subclass
    class_attributes: Set[str] = dataclasses.field(default_factory=set)

    def __repr__(self) -> str:
        return f"<class {self.qualname}>"


@dataclasses.dataclass(eq=False)
class FunctionFacts:
    node: cst.FunctionDef
    name: str
    qualname: str
    index: int  # position in file order
    parent: Optional["FunctionFacts"]
    owner: Optional[ClassFacts]
    decorators: List[str]
    kind: str  # function | method | staticmethod | classmethod | property | setter | deleter
    params: List[Param]
    scope: Scope
    is_async: bool
    module: "ModuleFacts" = dataclasses.field(default=None, repr=False)  # type: ignore[assignment]
    # the calls in its own body (not in nested functions or lambdas), with how each
    # result is used (eval / iterated / awaited), in source order
    calls: List[Tuple[cst.Call, str]] = dataclasses.field(default_factory=list, repr=False)
    is_generator: bool = False
    # its own ``while`` loops (not those of nested functions or classes), in source order
    whiles: List[cst.While] = dataclasses.field(default_factory=list, repr=False)
    _cfg: Optional[ControlFlowGraph] = None
    _wrapped: Optional[bool] = None

    @property
    def line(self) -> int:
        """The line of the ``def`` (or ``async``) keyword, decorators excluded."""
        return self.module.def_position(self)[0]

    @property
    def column(self) -> int:
        return self.module.def_position(self)[1]

    @property
    def order(self) -> Tuple[int, int]:
        """Position in (file, line) order across a project."""
        return self.module.order, self.index

    @property
    def path(self) -> str:
        return self.module.path

    @property
    def key(self) -> str:
        """Unique within its file: the qualified name and the line."""
        return f"{self.qualname}#{self.index}"

    def __repr__(self) -> str:
        return f"<function {self.qualname} #{self.index}>"

    @property
    def cfg(self) -> ControlFlowGraph:
        if self._cfg is None:
            self._cfg = build_cfg(self.node)
        return self._cfg

    @property
    def receiver(self) -> Optional[str]:
        """The parameter that holds the instance (or class), if it is never rebound."""
        if self.owner is None or self.kind == "staticmethod" or not self.params:
            return None
        first = self.params[0]
        if first.kind != "positional":
            return None
        if self.kind != "classmethod" and first.name not in _RECEIVER_NAMES:
            return None  # by convention a plain function kept in the class namespace
        if len(self.scope.bindings.get(first.name, ())) != 1:
            return None
        return first.name

    @property
    def is_accessor(self) -> bool:
        return self.kind in ("property", "setter", "deleter")

    @property
    def wrapped(self) -> bool:
        """A decorator of unknown effect runs around each call: one that is neither known to
        hand every call through (_TRANSPARENT_DECORATORS) nor imported from a module where
        its body is seen to call the function on every path (imported.py). Looked up on
        first use: only for functions that a finding may need."""
        if self._wrapped is None:
            self._wrapped = not all(self._calls_through(name, decorator)
                                    for name, decorator in zip(self.decorators, self.node.decorators))
        return self._wrapped

    def _calls_through(self, name: str, decorator: cst.Decorator) -> bool:
        if name.rsplit(".", 1)[-1] in _TRANSPARENT_DECORATORS:
            return True
        called = isinstance(decorator.decorator, cst.Call)
        local = self.module.lookup(name, self.parent) if "." not in name else None
        if isinstance(local, FunctionFacts):
            return _local_calls_through(local, called)
        found = imported_target(self.module, name, self.parent, want_bodies=True)
        return isinstance(found, FunctionInfo) and calls_through(found.node, called)

    def as_ast(self) -> ast.AST:
        """Its ``def`` as a CPython ``ast`` node (what imported.py judges); ``ast.Pass()``
        when CPython refuses the text."""
        try:
            return ast.parse(cst.Module([]).code_for_node(self.node)).body[0]
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return ast.Pass()

    @property
    def dispatches(self) -> bool:
        return any(d.rsplit(".", 1)[-1] in _DISPATCHING_DECORATORS for d in self.decorators)

    def param_names(self) -> List[str]:
        return [p.name for p in self.params]


Target = Union[FunctionFacts, ClassFacts]


def _local_calls_through(decorator: FunctionFacts, called: bool) -> bool:
    """A decorator defined in the file, judged by its body as an imported one is. Not
    when it is decorated itself, or its body was left out by the screen's plan (a
    stand-in never calls through)."""
    if decorator.decorators or decorator.parent is not None or decorator.owner is not None:
        return False
    function = decorator.as_ast()
    return isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and calls_through(function, called)


class ModuleFacts:
    """Every function and class of a module, and call resolution among them."""

    def __init__(self, parsed: ParsedModule, path: str = "", order: int = 0):
        self.parsed = parsed
        self.path = path
        self.order = order
        self.module_scope = Scope()
        self.functions: List[FunctionFacts] = []
        self.classes: List[ClassFacts] = []
        self._scope_of: Dict[int, Scope] = {}
        self._resolved: Dict[int, Optional[Target]] = {}
        self.imports: Dict[str, str] = {}  # local name -> dotted origin
        self._by_node: Dict[int, List[Target]] = {}
        self._mro: Dict[int, List[Optional[ClassFacts]]] = {}
        self.all_calls: List[Tuple[cst.Call, Optional[FunctionFacts]]] = []
        self.lambdas: List[Tuple[cst.Lambda, Optional[FunctionFacts]]] = []
        _Collector(self).run()

    def release(self) -> None:
        """Drop what the facts hold, once the module is analysed. Functions, classes and
        the module refer to each other: without this, the cyclic collector frees them -
        after walking every node of the libcst tree they hold, a tenth of a cold run
        (the analysis pauses the collector: the walk then covers all of it at once).
        Released, the tree is freed at once by reference counting."""
        for item in self.functions + self.classes:
            vars(item).clear()
        vars(self).clear()

    # -- resolution -------------------------------------------------------------------
    def lookup(self, name: str, function: Optional[FunctionFacts]) -> Optional[Target]:
        """The single function or class that ``name`` means inside ``function``."""
        scope_owner = function
        if function is not None and name in function.scope.global_names:
            scope_owner = None
        elif function is not None and name in function.scope.bindings:
            return self._sole_definition(function.scope, name)  # a nested def, or nothing
        else:
            scope_owner = function.parent if function is not None else None
            while scope_owner is not None:
                if name in scope_owner.scope.bindings and name not in (
                    scope_owner.scope.global_names | scope_owner.scope.nonlocal_names
                ):
                    return self._sole_definition(scope_owner.scope, name)
                scope_owner = scope_owner.parent
        return self._sole_definition(self.module_scope, name)

    def _sole_definition(self, scope: Scope, name: str) -> Optional[Target]:
        nodes = scope.bindings.get(name, [])
        values = scope.assigned_values.get(name, [])
        definitions = [n for n in nodes if isinstance(n, (cst.FunctionDef, cst.ClassDef))]
        if len(definitions) != 1:
            return None
        rebound = any(node is not definitions[0] and not _wraps_itself(value, name)
                      for node, value in zip(nodes, values))
        if rebound and not _rebound_after_its_runs(scope, name, definitions[0]):
            return None  # rebound to something else where it may still be called
        return self.facts_for(definitions[0])

    def facts_for(self, node: cst.CSTNode) -> Optional[Target]:
        for item in self._by_node.get(id(node), ()):
            return item
        return None

    def method(self, cls: ClassFacts, name: str, skip_self: bool = False) -> Optional[FunctionFacts]:
        """Look ``name`` up along the class's bases defined in this module (MRO order)."""
        found = self._method_in_mro(cls, name, skip_self)
        if found is None and not skip_self and self.bases_known(cls) and not any(
            name in c.scope.bindings for c in self.mro(cls) if c is not None
        ):
            # a template method: no class on the MRO defines it, so ``self.m()`` can only
            # run a subclass's m; follow it when exactly one subclass here defines m
            found = self._sole_subclass_method(cls, name)
        return found

    def _sole_subclass_method(self, cls: ClassFacts, name: str) -> Optional[FunctionFacts]:
        defined = [
            sub.methods[name][0]
            for sub in self.classes
            if sub is not cls and cls in self.mro(sub) and len(sub.methods.get(name, ())) == 1
            and len(sub.scope.bindings.get(name, ())) == 1 and name not in sub.instance_attributes
        ]
        return defined[0] if len(defined) == 1 else None

    def _method_in_mro(self, cls: ClassFacts, name: str, skip_self: bool) -> Optional[FunctionFacts]:
        for candidate in self.mro(cls)[1 if skip_self else 0:]:
            if candidate is None:
                return None  # a base we cannot see may define it
            if name in candidate.instance_attributes:
                return None  # an instance attribute shadows the method
            definitions = candidate.scope.bindings.get(name)
            if not definitions:
                continue
            methods = candidate.methods.get(name, [])
            if len(definitions) != 1 or len(methods) != 1:
                return None
            return methods[0]
        return None

    def mro(self, cls: ClassFacts) -> List[Optional[ClassFacts]]:
        """The class and its bases, depth-first; None marks a base we cannot see."""
        known = self._mro.get(id(cls))
        if known is None:
            known = self._mro[id(cls)] = self._compute_mro(cls)
        return known

    def _compute_mro(self, cls: ClassFacts) -> List[Optional[ClassFacts]]:
        order: List[Optional[ClassFacts]] = []
        seen: Set[int] = set()
        stack: List[Optional[ClassFacts]] = [cls]
        while stack:
            current = stack.pop()
            if current is None:
                order.append(None)
                continue
            if id(current) in seen:
                continue
            seen.add(id(current))
            order.append(current)
            stack.extend(reversed([self.base_class(current, b) for b in current.bases]))
        return order

    def base_class(self, cls: ClassFacts, base: Optional[str]) -> Optional[ClassFacts]:
        if base is None or base == "object":
            return None if base is None else _OBJECT
        if "." in base:
            return None
        found = self.lookup(base, cls.function)
        return found if isinstance(found, ClassFacts) else None

    def class_defines(self, cls: ClassFacts, name: str) -> bool:
        """The class or a base we can see binds ``name`` in its body."""
        return any(c is not None and name in c.scope.bindings for c in self.mro(cls))

    def bases_known(self, cls: ClassFacts) -> bool:
        return all(c is not None for c in self.mro(cls))

    def resolve_reference(self, expr: cst.BaseExpression, caller: Optional[FunctionFacts]) -> Optional[Target]:
        """The function or class an expression names (``f``, ``self.m``, ``C.m``)."""
        if caller is None:
            return self.lookup(expr.value, None) if isinstance(expr, cst.Name) else None
        return self._resolve(expr, caller)

    def calls_everywhere(self) -> List[Tuple[cst.Call, Optional[FunctionFacts]]]:
        """Every call in the module with its innermost enclosing function (None at module
        or class level, and inside lambdas)."""
        return self.all_calls

    def resolve_call(self, call: cst.Call, caller: FunctionFacts) -> Optional[Target]:
        key = id(call)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(call.func, caller)
        return self._resolved[key]

    def _resolve(self, func: cst.BaseExpression, caller: FunctionFacts) -> Optional[Target]:
        if isinstance(func, cst.Name):
            return self.lookup(func.value, caller)
        if not isinstance(func, cst.Attribute):
            return None
        method_name = func.attr.value
        receiver = func.value
        cls = self._receiver_class(receiver, caller)
        if cls is not None:
            return self.method(cls, method_name)
        if (
            isinstance(receiver, cst.Call)
            and is_name(receiver.func, "super")
            and not receiver.args
            and caller.owner is not None
        ):
            return self.method(caller.owner, method_name, skip_self=True)
        return None

    def import_path(self, expr: cst.BaseExpression, function: Optional[FunctionFacts]) -> Optional[str]:
        """``pkg.ops.apply_grad`` for ``apply_grad`` / ``ops.apply_grad`` / ``pkg.ops.apply_grad``
        when the name comes from a top-level import (relative ones keep their dots): what
        another module of the project may define."""
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head = dotted.split(".", 1)[0]
        if head not in self.imports or len(self.module_scope.bindings.get(head, ())) != 1:
            return None
        while function is not None:
            if head in function.scope.bindings:
                return None  # a local name hides the import
            function = function.parent
        return self.absolute(dotted)

    def _receiver_class(self, receiver: cst.BaseExpression, caller: FunctionFacts) -> Optional[ClassFacts]:
        """The class whose method ``receiver.m`` runs: self / cls / type(self) /
        self.__class__ / C / C(...) for a class C of this module."""
        own = caller.owner
        me = caller.receiver
        if own is not None and me is not None and caller.kind == "classmethod" and is_name(receiver, me):
            return own
        if own is not None and me is not None and caller.kind == "method":
            if is_name(receiver, me):
                return own
            if (
                isinstance(receiver, cst.Call)
                and is_name(receiver.func, "type")
                and len(receiver.args) == 1
                and is_name(receiver.args[0].value, me)
            ):
                return own
            if (
                isinstance(receiver, cst.Attribute)
                and receiver.attr.value == "__class__"
                and is_name(receiver.value, me)
            ):
                return own
        if isinstance(receiver, cst.Call):
            receiver = receiver.func
        if isinstance(receiver, cst.Name):
            found = self.lookup(receiver.value, caller)
            if isinstance(found, ClassFacts):
                return found
            return self._instance_of(receiver.value, caller)
        return None

    def _instance_of(self, name: str, caller: FunctionFacts) -> Optional[ClassFacts]:
        """``v = C(...)`` is the only binding of local ``v``: ``v.m()`` runs ``C.m``."""
        values = caller.scope.assigned_values.get(name, [])
        if len(values) != 1 or not isinstance(values[0], cst.Call):
            return None
        found = self.lookup(values[0].func.value, caller) if isinstance(values[0].func, cst.Name) else None
        return found if isinstance(found, ClassFacts) else None

    def runs_now(self, call_role: str, target: FunctionFacts) -> bool:
        """Whether a call with this role runs the target's body now (CODES.md)."""
        if target.dispatches or target.is_accessor:
            return False
        if target.is_async:
            return call_role == AWAITED
        if target.is_generator:
            return call_role == ITERATED
        return True

    def called_function(self, call: cst.Call, role: str, caller: FunctionFacts) -> Optional[FunctionFacts]:
        """The function of this module whose body this call runs now, if any (for a class,
        its ``__init__``)."""
        target = self.resolve_call(call, caller)
        if isinstance(target, ClassFacts):
            target = self.method(target, "__init__")
        if isinstance(target, FunctionFacts) and self.runs_now(role, target):
            return target
        return None

    def constructs(self, call: cst.Call, caller: FunctionFacts) -> bool:
        return isinstance(self.resolve_call(call, caller), ClassFacts)

    def position(self, node: cst.CSTNode, within: Optional[FunctionFacts] = None) -> Tuple[int, int]:
        """(line, column) of ``node``; ``within``, the function whose body holds it, makes
        the answer cheap (positions of that function alone)."""
        if within is None:
            return self.parsed.start(node)
        return self.parsed.start_within(node, within.node, within.index, len(self.functions))

    def line_of(self, node: cst.CSTNode, within: Optional[FunctionFacts] = None) -> int:
        return self.position(node, within)[0]

    def def_position(self, function: FunctionFacts) -> Tuple[int, int]:
        return self.parsed.def_start(function.index, len(self.functions), function.node)

    def absolute(self, dotted: Optional[str]) -> Optional[str]:
        """A dotted name with its first part replaced by what the module imported there:
        ``nn.Module`` -> ``torch.nn.Module`` after ``from torch import nn``."""
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        origin = self.imports.get(head, head)
        if not rest:
            return origin
        return f"{origin}{rest}" if origin.endswith(".") else f"{origin}.{rest}"


_OBJECT = ClassFacts(
    node=None, name="object", qualname="object",  # type: ignore[arg-type]
    function=None, owner=None, scope=Scope(), bases=[],
)


def _wraps_itself(value: Optional[cst.BaseExpression], name: str) -> bool:
    """``f = functools.lru_cache(f)`` and ``f = torch.jit.script(f)`` still run ``f``."""
    while isinstance(value, cst.Call):
        if any(is_name(arg.value, name) for arg in value.args):
            return True
        value = value.func
    return False


def _rebound_after_its_runs(scope: Scope, name: str, definition: cst.CSTNode) -> bool:
    """Flow-sensitive names (the reaching definitions of the body's straight line):
    ``def f`` is a statement of the scope's body; after it, ``f`` is used only as the
    callee of calls ``f(...)``, all before the first statement that rebinds or deletes
    it, and that statement surely does (it is not inside an ``if``, a loop, a ``try``):
    then every call that can run the function finds ``f`` bound to it (nothing else can
    reach it: it is not handed on, nor used by another function, a lambda or a class
    body), so ``f()`` in its own body is a self-call. Before the ``def``, ``f`` may only be
    bound (it cannot be this function yet)."""
    body = list(scope.body)
    place = next((i for i, statement in enumerate(body) if statement is definition), None)
    if place is None or _names_in(definition, name, skip_body=True):
        return False  # (its decorators and defaults run before it is bound)
    for statement in body[:place]:
        uses = _names_in(statement, name)
        if uses is None or any(callee for _, callee in uses):
            return False
    called = False
    for statement in body[place + 1:]:
        uses = _names_in(statement, name)
        if uses is None:
            return False
        if all(callee for _, callee in uses):
            called = called or bool(uses)
            continue  # no use, or calls while it is still the function
        stored = {id(node) for node in _stored_names(statement)}
        # the rebinding: only targets of this statement itself, no call of it there, and
        # some call before it (else the function never runs under its name)
        return called and all(id(node) in stored for node, _ in uses)
    return False  # never rebound: the plain rule already judged


def _names_in(statement: cst.CSTNode, name: str, skip_body: bool = False
              ) -> Optional[List[Tuple[cst.Name, bool]]]:
    """Each ``name`` in ``statement`` with whether it is the callee of a call; None if
    it appears inside a nested function, lambda or class (``skip_body``: the statement is
    a ``def`` whose own body is not looked at)."""
    found: List[Tuple[cst.Name, bool]] = []
    callees = set()
    stack: List[Tuple[cst.CSTNode, bool]] = [(statement, False)]
    while stack:
        node, nested = stack.pop()
        kind = type(node)
        if kind is cst.Call and type(node.func) is cst.Name:
            callees.add(id(node.func))
        elif kind is cst.Name and node.value == name:
            if nested:
                return None
            found.append((node, id(node) in callees))
        if node is statement and skip_body and kind is cst.FunctionDef:
            children = [d.decorator for d in node.decorators]
            children += [p.default for p in all_params(node.params) if p.default is not None]
            stack.extend((child, False) for child in children)
            continue
        inner = nested or kind in (cst.FunctionDef, cst.ClassDef, cst.Lambda)
        # (a callee is met before its name: the call's children are pushed after it)
        stack.extend((child, inner) for child in reversed(list(child_nodes(node))))
    return found


def _stored_names(statement: cst.CSTNode) -> Iterator[cst.Name]:
    """The names a simple statement line assigns or deletes as a whole (``f = g``,
    ``del f``, ``f, x = ...``) - not inside a block."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return
    for small in statement.body:
        if isinstance(small, cst.Assign):
            for target in small.targets:
                yield from target_names(target.target)
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            yield from target_names(small.target)
        elif isinstance(small, cst.Del):
            yield from target_names(small.target)


def _decorator_name(decorator: cst.Decorator) -> str:
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    return dotted_name(expr) or "?"


def _function_kind(decorators: List[str], owner: Optional[ClassFacts], name: str) -> str:
    if owner is None:
        return "function"
    for decorator in decorators:
        last = decorator.rsplit(".", 1)[-1]
        if last == "staticmethod":
            return "staticmethod"
        if last == "classmethod" or name in _IMPLICIT_CLASSMETHODS:
            return "classmethod"
        if last in _PROPERTY_DECORATORS:
            return "property"
        if "." in decorator and last in _ACCESSOR_SUFFIXES:
            return _ACCESSOR_SUFFIXES[last]
    if name in _IMPLICIT_CLASSMETHODS:
        return "classmethod"
    if name == "__new__":
        return "classmethod"  # implicitly static, but its first parameter is the class
    return "method"


def _params(params: cst.Parameters) -> List[Param]:
    result = [Param(p.name.value, "positional", p.default is not None) for p in params.posonly_params]
    result += [Param(p.name.value, "positional", p.default is not None) for p in params.params]
    if isinstance(params.star_arg, cst.Param):
        result.append(Param(params.star_arg.name.value, "vararg", False))
    result += [Param(p.name.value, "keyword", p.default is not None) for p in params.kwonly_params]
    if params.star_kwarg is not None:
        result.append(Param(params.star_kwarg.name.value, "varkw", False))
    return result


def target_names(target: cst.CSTNode) -> Iterator[cst.Name]:
    """The names an assignment target binds (not attributes or subscripts)."""
    return (node for node in assigned_targets(target) if isinstance(node, cst.Name))


_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
# the kinds of node record_binding looks at: what binds names, and while loops
_BINDING_TYPES = frozenset({
    cst.Assign, cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor, cst.NamedExpr, cst.AsName,
    cst.Import, cst.ImportFrom, cst.Del, cst.Global, cst.Nonlocal, cst.MatchAs, cst.MatchStar,
    cst.MatchMapping, cst.Yield, cst.Await, cst.While,
})


class _Collector:
    """The iterative walk that fills a :class:`ModuleFacts`."""

    def __init__(self, facts: ModuleFacts):
        self.facts = facts

    def run(self) -> None:
        self.walk()
        self.rebind_declared_names()

    def rebind_declared_names(self) -> None:
        """``global f; f = ...`` in a function rebinds the module's ``f`` (and ``nonlocal``
        the enclosing function's): record the binding where it takes effect."""
        for function in self.facts.functions:
            scope = function.scope
            for name in scope.global_names | scope.nonlocal_names:
                nodes = [n for n in scope.bindings.get(name, []) if not isinstance(n, cst.Param)]
                if not nodes:
                    continue
                target = self.facts.module_scope
                if name in scope.nonlocal_names:
                    outer = function.parent
                    while outer is not None and name not in outer.scope.bindings:
                        outer = outer.parent
                    target = outer.scope if outer is not None else target
                for node in nodes:
                    target.bind(name, node)

    def walk(self) -> None:
        facts = self.facts
        module = facts.parsed.module
        facts.module_scope.body = module.body
        # (node, scope that binds names, innermost function, innermost class-owner, and how
        # the node's value is used: a call whose result is iterated or awaited runs a
        # generator's or coroutine's body, any other call only creates it)
        stack: List[Tuple[cst.CSTNode, Scope, Optional[FunctionFacts], Optional[ClassFacts], str]]
        stack = [(stmt, facts.module_scope, None, None, EVAL) for stmt in reversed(module.body)]
        while stack:
            node, scope, function, owner, role = stack.pop()
            kind = type(node)  # (libcst's node classes are ABCs: isinstance is slow)
            if kind is cst.FunctionDef:
                info = self.add_function(node, scope, function, owner)
                outer = [d.decorator for d in node.decorators]
                outer += [p.default for p in all_params(node.params) if p.default is not None]
                inner = list(node.body.body)
                stack.extend((c, info.scope, info, None, EVAL) for c in reversed(inner))
                stack.extend((c, scope, function, owner, EVAL) for c in reversed(outer))
                continue
            if kind is cst.ClassDef:
                cls = self.add_class(node, scope, function, owner)
                outer = [d.decorator for d in node.decorators]
                outer += [a.value for a in list(node.bases) + list(node.keywords)]
                stack.extend((c, cls.scope, function, cls, EVAL) for c in reversed(node.body.body))
                stack.extend((c, scope, function, owner, EVAL) for c in reversed(outer))
                continue
            if kind is cst.Call:
                facts.all_calls.append((node, function))
                if function is not None:
                    function.calls.append((node, role))
            elif kind is cst.Lambda:
                facts.lambdas.append((node, function))
            if kind is cst.Lambda or kind in _COMPREHENSIONS:
                # names bound there stay there (an assignment expression aside)
                inner_scope = Scope(walrus_target=scope.walrus_target or scope)
                if kind is cst.Lambda:
                    for p in all_params(node.params):
                        inner_scope.bind(p.name.value, p)
                    inner_function = None  # a yield in a lambda makes the lambda a generator
                else:
                    inner_function = function
                stack.extend((c, inner_scope, inner_function, None, r)
                             for c, r in reversed(_with_roles(node, role)))
                continue
            self.record_binding(node, scope, function, owner)
            stack.extend((c, scope, function, owner, r) for c, r in reversed(_with_roles(node, role)))

    def add_function(self, node, scope, function, owner) -> FunctionFacts:
        facts = self.facts
        decorators = [_decorator_name(d) for d in node.decorators]
        name = node.name.value
        prefix = (owner.qualname + ".") if owner else (function.qualname + ".<locals>.") if function else ""
        info = FunctionFacts(
            node=node,
            name=name,
            qualname=prefix + name,
            index=len(facts.functions),
            parent=function,
            owner=owner,
            decorators=decorators,
            kind=_function_kind(decorators, owner, name),
            params=_params(node.params),
            scope=Scope(body=node.body.body),
            is_async=node.asynchronous is not None,
            module=facts,
        )
        for param in all_params(node.params):
            info.scope.bind(param.name.value, param)
        scope.bind(name, node)
        facts.functions.append(info)
        facts._by_node[id(node)] = [info]
        if owner is not None:
            owner.methods.setdefault(name, []).append(info)
        return info

    def add_class(self, node, scope, function, owner) -> ClassFacts:
        facts = self.facts
        prefix = (owner.qualname + ".") if owner else (function.qualname + ".<locals>.") if function else ""
        bases = [dotted_name(arg.value) for arg in node.bases if arg.keyword is None and not arg.star]
        cls = ClassFacts(
            node=node, name=node.name.value, qualname=prefix + node.name.value,
            function=function, owner=owner, scope=Scope(), bases=bases,
        )
        scope.bind(node.name.value, node)
        facts.classes.append(cls)
        facts._by_node[id(node)] = [cls]
        return cls

    def record_binding(self, node, scope: Scope, function, owner) -> None:
        if type(node) not in _BINDING_TYPES:
            return  # most nodes bind nothing: skip the chain of (slow, ABC) isinstance checks
        if isinstance(node, cst.Assign):
            value = node.value
            for target in node.targets:
                for name in target_names(target.target):
                    scope.bind(name.value, name, value)
                self.note_instance_attribute(target.target, function)
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            if isinstance(node, cst.AnnAssign) and node.value is None and owner is not None:
                return  # ``x: int`` in a class body creates no attribute
            for name in target_names(node.target):
                scope.bind(name.value, name)
            self.note_instance_attribute(node.target, function)
        elif isinstance(node, cst.For) or isinstance(node, cst.CompFor):
            for name in target_names(node.target):
                scope.bind(name.value, name)
        elif isinstance(node, cst.NamedExpr):
            for name in target_names(node.target):
                (scope.walrus_target or scope).bind(name.value, name)
        elif isinstance(node, cst.AsName):
            for name in target_names(node.name):
                scope.bind(name.value, name)
        elif isinstance(node, cst.Import):
            for alias in node.names:
                if alias.asname is None:  # ``import a.b`` binds ``a``
                    scope.bind((dotted_name(alias.name) or "").split(".")[0], alias)
                self.record_import(alias, scope)
        elif isinstance(node, cst.ImportFrom):
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    if alias.asname is None:
                        scope.bind(dotted_name(alias.name) or "", alias)
            self.record_from_import(node, scope)
        elif isinstance(node, cst.Del):
            for name in target_names(node.target):
                scope.bind(name.value, name)
        elif isinstance(node, cst.Global):
            scope.global_names.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Nonlocal):
            scope.nonlocal_names.update(n.name.value for n in node.names)
        elif isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
            scope.bind(node.name.value, node.name)
        elif isinstance(node, cst.MatchMapping) and node.rest is not None:
            scope.bind(node.rest.value, node.rest)  # ``case {"k": v, **rest}``
        elif isinstance(node, (cst.Yield, cst.Await)) and function is not None:
            if isinstance(node, cst.Yield):
                function.is_generator = True
        elif isinstance(node, cst.While) and function is not None and owner is None:
            function.whiles.append(node)  # (in a class body inside it, owner is the class)

    def note_instance_attribute(self, target, function: Optional[FunctionFacts]) -> None:
        """``self.x = ...`` in a method: x is an instance attribute of its class."""
        if function is None or function.owner is None:
            return
        for node in (t for t in assigned_targets(target) if isinstance(t, cst.Attribute)):
            if is_name(node.value, function.receiver):
                if function.kind == "classmethod":
                    function.owner.class_attributes.add(node.attr.value)
                else:
                    function.owner.instance_attributes.add(node.attr.value)

    def record_import(self, alias: cst.ImportAlias, scope: Scope) -> None:
        if scope is not self.facts.module_scope:
            return
        full = dotted_name(alias.name) or ""
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            self.facts.imports[alias.asname.name.value] = full
        else:
            self.facts.imports[full.split(".")[0]] = full.split(".")[0]

    def record_from_import(self, node: cst.ImportFrom, scope: Scope) -> None:
        if scope is not self.facts.module_scope or isinstance(node.names, cst.ImportStar):
            return
        # a relative import keeps its leading dots: the project resolves it
        module = "." * len(node.relative) + (dotted_name(node.module) or "" if node.module else "")
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            local = alias.asname.name.value if alias.asname is not None else name
            joined = f"{module}.{name}" if module and not module.endswith(".") else module + name
            self.facts.imports[local] = joined


def _with_roles(node: cst.CSTNode, role: str) -> List[Tuple[cst.CSTNode, str]]:
    """The node's children, each with how its value is used (the rules of cfg.py)."""
    children = list(child_nodes(node))
    kind = type(node)
    if kind in (cst.For, cst.CompFor):
        return [(c, ITERATED if c is node.iter else EVAL) for c in children]
    if kind is cst.From:
        return [(c, ITERATED) for c in children]
    if kind is cst.Await:
        return [(c, AWAITED if c is node.expression else EVAL) for c in children]
    if kind is cst.Arg:
        return [(c, role if c is node.value else EVAL) for c in children]
    if kind is cst.Call and type(node.func) is cst.Name:
        name = node.func.value
        if name in CONSUMING_BUILTINS or name in LAZY_WRAPPERS and role == ITERATED:
            positional = [a for a in node.args if a.keyword is None]
            consumed = positional[:1] if name == "next" else positional
            return [(c, ITERATED if any(c is a for a in consumed) else EVAL) for c in children]
    return [(c, EVAL) for c in children]
