"""A cheap, sound screen: can this file hold a finding at all?

libcst parses about nine times slower than ``ast``, and flake8 hands plugins the ``ast`` tree
it has already built. Every finding of the full analysis needs one of:

* a cycle of calls among the module's functions (BPL101-103, BPL201/202). The analysis
  resolves a call only to a function named like the call's last identifier (``f(...)``,
  ``x.f(...)``, ``map(self.f, ...)``) or to ``__init__`` for a class of the module, so a
  cycle among *names* over-approximates it;
* a method with a data-model role that uses its receiver the way the role needs
  (BPL104/105): ``repr(self)`` in ``__repr__``, ``self.x`` in property ``x``...;
* backward-pass code (a function named by the globs, a hook, an autograd ``backward``)
  in a file with an engine call (BPL301) or a worklist loop (BPL401/402).

One iterative pass over the ``ast`` decides, and makes the plan of what the analysis
needs (:class:`Plan`). (A regular-expression stage over the text once came first; on real
code it cost 15 times what it saved, the files it could rule out being the small ones.)
Tests compare screened and unscreened results on real code.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from typing import Container, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple, TypeVar

import networkx as nx

from .astwalk import FIELDS, WALKED, decorator_name, fields_of
from .cfg import CONSUMING_BUILTINS, LAZY_WRAPPERS
from .ending import CycleMember, parameter_names
from .options import names_a_test, names_backward_code
from .parsing import StandIn, applicable, lines_left_out, python_lines, starts_its_line

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_ACCESSOR_DECORATORS = frozenset(
    "property cached_property abstractproperty setter getter deleter".split()
)
_ATTRIBUTE_HOOKS = frozenset({"__getattr__", "__getattribute__", "__setattr__", "__delattr__"})
_ATTRIBUTE_BUILTINS = frozenset({"getattr", "hasattr", "setattr", "delattr"})
# the builtins that iterate their argument
_ITERATING_BUILTINS = CONSUMING_BUILTINS | LAZY_WRAPPERS
# methods re-entered by using self itself (len(self), repr(self), f"{self}", not self...):
# method -> (the builtins called on the receiver that run it, how else it is met bare)
_BARE_USES: Dict[str, Tuple[FrozenSet[str], str]] = {
    "__repr__": (frozenset({"repr", "str", "print", "format"}), "formatted"),
    "__str__": (frozenset({"str", "print", "format"}), "formatted"),
    "__format__": (frozenset({"format"}), "formatted"),
    "__len__": (frozenset({"len"}), ""),
    "__hash__": (frozenset({"hash"}), ""),
    "__bool__": (frozenset({"bool"}), "tested"),
    "__iter__": (_ITERATING_BUILTINS, "iterated"),
}
_BARE_FORM_METHODS = {"formatted": "format", "iterated": "join"}  # ``"{}".format(self)``
# where a bare receiver is formatted (an f-string, a tuple after ``%``, a keyword of
# ``.format``), iterated (``*self`` in a call too) or tested for truth
_BARE_FORM_PARENTS = {
    "formatted": frozenset({ast.FormattedValue, ast.Tuple, ast.keyword}),
    "iterated": frozenset({ast.For, ast.AsyncFor, ast.comprehension, ast.YieldFrom, ast.Starred}),
    "tested": frozenset({ast.If, ast.While, ast.IfExp, ast.BoolOp, ast.Assert}),
}
_COMPARES = {"__eq__": (ast.Eq,), "__ne__": (ast.NotEq,)}
_SUBSCRIPTS = frozenset({"__getitem__", "__setitem__", "__delitem__"})
_CALLS_SELF = frozenset({"__call__", "forward"})
_CONSTRUCTORS = frozenset({"__init__", "__new__"})
_DATA_MODEL = (_ATTRIBUTE_HOOKS | set(_BARE_USES) | set(_COMPARES) | _SUBSCRIPTS
               | _CALLS_SELF | _CONSTRUCTORS | {"__contains__"})
_HOOK_REGISTRATIONS = frozenset(
    "register_hook register_full_backward_hook register_backward_hook "
    "register_full_backward_pre_hook register_multi_grad_hook".split()
)
_POPS = frozenset({"pop", "popleft", "heappop"})
# methods that BPL104/105 read in any class of a file with a data-model site: a metaclass's
# __call__ (does calling the class run __init__?), __setattr__ (where attributes are stored)
_READ_FOR_CLASSES = frozenset({"__call__", "__setattr__"})
_ENGINE = frozenset({"backward", "grad"})
_INSERTIONS = frozenset("append add extend insert appendleft".split())

# what stands in for a function's body or a long statement (parsing.planned_text)
Body = StandIn
T = TypeVar("T")


class Unit(NamedTuple):
    """A statement outside functions (a ``def``, a class, an import, an assignment...) that
    the module's facts read only for the names it binds: when no code the analysis reads
    names any of them, the statement can go (:meth:`Plan.stand_ins`)."""

    first: int  # its first line (its first decorator's)
    column: int  # the byte column where it starts
    last: int
    names: Tuple[str, ...]  # what it binds (a def: also the attributes it sets on its instance)
    owner: int  # the unit of the class whose body holds it, or -1
    follows: bool  # the statement before it in its body is the unit before it
    header: int = 0  # a class: the last line of its header (its body is units of its own)
    function: int = -1  # a def: the screen's index of the function
    pinned: bool = False  # stays whatever is named: a line the skeleton keeps, a root...

    @property
    def own_lines(self) -> range:
        """Its lines, 0-based (a class: its header; its body's statements are units)."""
        return range(self.first - 1, self.header or self.last)

    @property
    def private(self) -> bool:
        """``__init__``, ``__slots__``, ``__x``: names the analysis looks up by itself
        (constructors, data-model methods, mangled names), kept with their class."""
        return any(name.startswith("__") for name in self.names)


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the full analysis needs of a file it analyses: the bodies it may leave out.

    Most functions of a file that can hold a finding take no part in it. Their bodies are
    left out before libcst parses the file, which is where the time goes (parsing.py's
    planned_text: one-line stand-ins, positions mapped back to source lines). A body is
    kept when the function is backward-pass code on a way to what BPL2xx-4xx judge or has
    a data-model site (with what they call), is on a cycle of resolved calls, or holds
    something the module's facts read from every body: a nested class, a hook
    registration, its receiver rebound or its attributes set other than by assignment.
    A method left out that assigns attributes of its instance keeps that much, as one
    ``self.a = self.b = None``; a function declaring ``global`` / ``nonlocal`` names keeps
    its declarations and binds those it rebinds (``global n; n = None``), inside its
    enclosing function's body, which stays - unless it rebinds only names that body binds
    itself (``nonlocal``), which go with it. Then the statements outside functions
    (``units``) that bind only names no remaining code mentions go too."""

    blank: Tuple[Body, ...] = ()
    units: Tuple[Unit, ...] = ()
    # functions (by name) the screens saw on a cycle across files (project mode): their
    # summaries carry their control flow
    cycling: Tuple[str, ...] = ()
    # (tuples, sorted: a plan is part of the cache key, and a set's order changes from one
    # process to the next)

    def stand_ins(self, source: str) -> Tuple[Body, ...]:
        """The stand-ins for ``source``: the blanked bodies, then ``pass`` for each run of
        units that the code left names nowhere."""
        if not self.units:
            return self.blank
        # names are read from the source's lines: where a stand-in replaced a line, the
        # line it replaced names at least what the analysis looks up there
        lines = python_lines(source)
        left_out = lines_left_out(applicable(lines, self.blank), len(lines))
        kept = _units_named(lines, left_out, self.units)
        return self.blank + _runs_left_out(self.units, kept)


@dataclasses.dataclass
class ScreenResult:
    """What the screen learnt of one file; project mode links these across files."""

    local: bool  # the file alone may hold a finding
    # where backward-pass scope starts (functions the globs name, hooks), numbered in file
    # order as ``bodies`` lists them
    roots: FrozenSet[int]
    tests: FrozenSet[int] = frozenset()  # functions the analysis surely takes for tests
    # the rest is for project mode, which links the files:
    # function -> the functions of the file it may call, as the analysis resolves calls
    # (over-approximated): cycles across files and backward-pass scope go through these
    resolved: Dict[int, Set[int]] = dataclasses.field(default_factory=dict)
    # (function, a function nested in it) for the roots: in backward-pass scope with them
    nesting: Tuple[Tuple[int, int], ...] = ()
    # the cycles of calls that graph walks may make (by method names too: ``node.m()``)
    walks: Tuple[FrozenSet[int], ...] = ()
    imported_calls: Dict[int, Set[str]] = dataclasses.field(default_factory=dict)  # -> dotted import paths
    imports: Dict[str, str] = dataclasses.field(default_factory=dict)  # what other files may import from it
    constructors: Dict[str, List[int]] = dataclasses.field(default_factory=dict)  # class -> its __init__
    # functions that BPL2xx-4xx judge once in scope: on a cycle of the loose call graph (a
    # walk), or with an engine call or a worklist
    judged: FrozenSet[int] = frozenset()
    # every function in file order: (name, index of the enclosing function or -1, body)
    bodies: Tuple[Tuple[str, int, Body], ...] = ()
    keep: FrozenSet[int] = frozenset()  # the functions whose bodies the analysis needs
    # (function, the bodies the analysis reads when it reads that function's): what tells
    # a walk's nodes from collaborators, a worklist's helpers
    also_read: Tuple[Tuple[int, Tuple[int, ...]], ...] = ()
    walking: FrozenSet[int] = frozenset()  # of ``keep``, the backward-pass code kept for BPL2xx-4xx
    skeleton: Tuple[Body, ...] = ()  # stand-ins for long statements outside functions
    units: Tuple[Unit, ...] = ()  # the statements outside functions, as Plan reads them

    def named(self, name: str) -> List[int]:
        """The functions of the file with this name (what an import of it may call)."""
        return self._by_name.get(name, [])

    def import_number(self, name: str) -> int:
        """The place of a name among those the file's imports bind."""
        return self._imports_numbered[name]

    @functools.cached_property
    def _imports_numbered(self) -> Dict[str, int]:
        return {name: number for number, name in enumerate(self.imports)}

    @functools.cached_property
    def _by_name(self) -> Dict[str, List[int]]:
        found: Dict[str, List[int]] = {}
        for index, (name, _, _) in enumerate(self.bodies):
            found.setdefault(name, []).append(index)
        return found

    def plan(self, also_needed: Iterable[int] = (), cycling: Iterable[int] = ()) -> Plan:
        """The plan for analysing this file; ``also_needed`` are functions that other
        files' code reaches, ``cycling`` those of them on a cycle across files (project
        mode)."""
        keep = set(self.keep) | {index for index in also_needed if index >= 0}
        # only backward-pass code reads them: BPL2xx-4xx judge nothing else
        walking = set(self.walking) | (keep - set(self.keep))
        keep |= {j for i, more in self.also_read if i in walking for j in more}
        holds_kept = set()
        for index in keep:
            while index >= 0 and index not in holds_kept:
                holds_kept.add(index)
                index = self.bodies[index][1]
        blank = []
        blanked = set()
        for index, (_, parent, body) in enumerate(self.bodies):
            if parent in blanked:
                blanked.add(index)  # gone with its enclosing body
            elif index not in holds_kept:
                blanked.add(index)
                blank.append(body)
        units = tuple(u._replace(pinned=True) if u.function in holds_kept else u for u in self.units)
        cycling_names = {self.bodies[index][0] for index in cycling}
        return Plan(tuple(blank) + self.skeleton, units, tuple(sorted(cycling_names)))


@dataclasses.dataclass
class _Function:
    """What one pass gathers about a function of the file."""

    name: str
    owner: Optional[str]  # the class whose body defines it
    receiver: Optional[str]  # its self / cls, for a method
    decorators: Set[str]
    calls: Set[str] = dataclasses.field(default_factory=set)  # every called name (links)
    # how each call names its target: ("name", f) / ("self", m) / ("super", m) /
    # ("class", C, m) / ("other", m) - the receiver forms the analysis resolves
    targets: Set[Tuple[str, ...]] = dataclasses.field(default_factory=set)
    imported: Set[str] = dataclasses.field(default_factory=set)
    data_model: bool = False
    role: Optional[str] = None  # the receiver name, while a data-model role is looked for
    index: int = 0
    parent: int = -1  # the enclosing function's index
    node: Optional[ast.AST] = None
    # holds what the module's facts read from every body (see Plan): never blanked
    anchored: bool = False
    declared: Dict[str, List[str]] = dataclasses.field(default_factory=dict)  # global / nonlocal
    rebound: List[str] = dataclasses.field(default_factory=list)  # declared names it binds
    # it rebinds names beyond its enclosing function's own (see Plan)
    rebinds_beyond: bool = False
    attributes: Set[str] = dataclasses.field(default_factory=set)  # ``self.x = ...`` sets
    instances: Dict[str, Set[str]] = dataclasses.field(default_factory=dict)  # v = C(...)
    # what BPL301 / BPL401 judge in any backward-pass code: an explicit engine call
    # (``torch.autograd.grad(...)``), or a pop in a while loop
    work: bool = False
    # any engine call, ``loss.backward()`` too: judged in what the engine runs (an autograd
    # Function's backward, a hook); and the first part of each dotted one (settled as work
    # where an import binds it)
    restarts: bool = False
    engine_heads: Set[str] = dataclasses.field(default_factory=set)
    filled: Set[str] = dataclasses.field(default_factory=set)  # ``self.x.append(...)`` fills x
    # its calls by method name (``child.m()``, ``self.x.m()``): how each names its target
    # (as ``targets``), and its receiver
    by_name: List[Tuple[Tuple[str, ...], ast.expr]] = dataclasses.field(default_factory=list)

    @property
    def any_work(self) -> bool:
        """Any engine call or a worklist: project mode judges it once in scope, and the
        pushes of its helpers are read."""
        return self.work or self.restarts


def screen_file(tree: ast.AST, backward_globs: Sequence[str] = (), linking: bool = True) -> ScreenResult:
    """What the file may hold, and its plan; with ``linking`` False (the file is analysed
    alone, as flake8 does) a file that cannot hold a finding gets no plan."""
    # the calls into other modules matter only to the links (project mode)
    scan = _Scan(_top_level_imports(tree) if linking else {})
    scan.run(tree)
    scan.settle_declarations()
    scan.lines_to_keep |= _calls_before_rebinding(tree)
    scan.settle_engine_aliases()
    # backward-pass code starts at the functions the globs name (not tests) and at hooks,
    # which the analysis finds by the name a registration gives (a lambda is no root: the
    # engine runs only its own calls, and those make the file worth analysing where they
    # call the engine - see ``local``); the engine also runs every function named backward
    # (an autograd Function's)
    tests = _surely_tests(scan)
    hooks = {f.index for f in scan.functions if f.name in scan.hook_names}
    scope_roots = hooks | {f.index for f in scan.functions if f.index not in tests
                           and names_backward_code(f.name, backward_globs)}
    engine_roots = hooks | {f.index for f in scan.functions if f.name == "backward"}
    root_names = {scan.functions[index].name for index in scope_roots | engine_roots}
    resolver = _Resolver(scan)
    # recursion the analysis can see by itself; graph walks also follow ``node.m()`` by name,
    # and count only in backward-pass code
    strict_graph, loose_graph = resolver.graph(loose=False), resolver.graph(loose=True)
    # the recursions that surely end need no body for BPL1xx (ending.py)
    strict_cycles = _unending_cycles(scan.functions, strict_graph, resolver)
    # what BPL2xx-4xx judge alone: walks, engine calls and worklists in backward-pass code,
    # and an engine call in a hook lambda (taken to be any call of the engine's names in
    # a registration's arguments)
    reach = _BackwardReach(scan.functions, strict_graph, loose_graph, scope_roots, engine_roots, tests)
    loose_cycles = reach.on_walks
    judged_here = reach.judged()
    data_model = any(f.data_model for f in scan.functions)
    local = (data_model or bool(strict_cycles) or bool(judged_here)
             or bool(scan.called_in_hook_arguments & (_ENGINE | scan.engine_aliases)))
    if not local and not linking:
        return ScreenResult(local, frozenset(scope_roots))
    bodies = tuple((f.name, f.parent, _body_of(f)) for f in scan.functions)
    needed, walking = _needed_bodies(scan.functions, strict_graph, strict_cycles, reach, judged_here)
    also = _node_kind_bodies(scan.functions, loose_cycles, resolver)
    for function in scan.functions:
        if function.any_work:  # a worklist's helpers (``push_parents(queue, node)``): their pushes
            also.setdefault(function.index, set()).update(strict_graph.get(function.index, ()))
    # a function rebinding outer names stands in inside its enclosing body: that stays,
    # unless only that body's own names are rebound (left out, nothing reads them)
    needed = needed | {f.parent for f in scan.functions if f.rebinds_beyond}
    judged = frozenset(loose_cycles | {f.index for f in scan.functions if f.any_work})
    imported = {f.index: f.imported for f in scan.functions if f.imported}
    constructors: Dict[str, List[int]] = {}
    for function in scan.functions:
        if function.name == "__init__" and function.owner is not None:
            constructors.setdefault(function.owner, []).append(function.index)
    return ScreenResult(local, frozenset(scope_roots), frozenset(tests), strict_graph, reach.nesting,
                        reach.walks, imported, scan.imports, constructors, judged, bodies, needed,
                        tuple(sorted((i, tuple(sorted(more))) for i, more in also.items() if more)),
                        walking,
                        _skeleton(tree, {f.name for f in scan.functions} | scan.class_names,
                                  scan.lines_to_keep),
                        # a file that is analysed only for what other files reach leaves
                        # its statements as they are (a few dozen files; the units of every
                        # file would cost more, shipped to the project's process and back)
                        _units(tree, scan, root_names) if local else ())


def _calls_before_rebinding(tree: ast.AST) -> Set[int]:
    """The lines of the module's statements that name a function the module body both
    defines and rebinds or deletes (``def _setup(): ...``, ``_setup()``, ``del _setup``):
    where they stand decides what the name is when the function runs (facts.py,
    flow-sensitive names), so they stay as they are."""
    body = getattr(tree, "body", [])
    defined = {s.name for s in body if type(s) in _FUNCTIONS}
    rebound = {t.id for s in body
               for t in (s.targets if type(s) is ast.Delete else _stored(s))  # type: ignore[attr-defined]
               if type(t) is ast.Name} & defined
    if not rebound:
        return set()
    lines: Set[int] = set()
    for statement in body:
        if type(statement) not in _FUNCTIONS and any(
                type(n) is ast.Name and n.id in rebound for n in ast.walk(statement)):
            lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return lines


class _BackwardReach:
    """The functions that backward-pass code may reach, over-approximating the analysis's
    backward scope (checks/backward.py) and what the engine runs (checks/reentrant.py):
    calls as the analysis resolves them - not by a method's name alone; from the roots of
    scope, a root's nested functions (at any depth) and no way into a test. And the walks
    there: cycles of the loose graph, which does follow ``node.m()`` by name."""

    def __init__(self, functions: List[_Function], strict: Dict[int, Set[int]],
                 loose: Dict[int, Set[int]], scope_roots: Set[int], engine_roots: Set[int],
                 tests: Set[int]):
        self.functions = functions
        self.engine_roots = engine_roots
        nested_in_root = set(scope_roots)
        for function in functions:  # (a parent comes before what it holds)
            if function.parent in nested_in_root and function.index not in tests:
                nested_in_root.add(function.index)
        self.nesting = tuple((f.parent, f.index) for f in functions
                             if f.parent in nested_in_root and f.index in nested_in_root)
        self.calls = with_nesting(strict, self.nesting)
        in_scope = reachable(scope_roots, self.calls, closed=tests)
        self.in_scope = in_scope | reachable(engine_roots, strict)
        self.walks = tuple(frozenset(c) for c in _cycles(loose))
        self.on_walks: Set[int] = set().union(*self.walks)

    def judged(self) -> Set[int]:
        """What BPL2xx-4xx judge there: a walk through a function in scope, an explicit
        engine call or a worklist; any engine call in what the engine may run (autograd
        Functions' ``backward``, hooks)."""
        judged = {f.index for f in self.functions
                  if f.work or f.restarts and f.index in self.engine_roots}
        return (self.on_walks | judged) & self.in_scope

    def ways_to(self, judged: Set[int]) -> FrozenSet[int]:
        """The backward-pass code on a way from a root to ``judged``, and the whole of
        each walk through one of them (the analysis needs every step of it)."""
        ways = ways_back(judged, self.in_scope, self.calls)
        return frozenset(ways.union(*(walk for walk in self.walks if walk & judged)))


def ways_back(judged: Set[T], in_scope: Iterable[T], calls: Dict[T, Set[T]]) -> Set[T]:
    """``judged`` and the functions of ``in_scope`` with a way of ``calls`` to one of them."""
    callers: Dict[T, Set[T]] = {}
    for caller in in_scope:
        for callee in calls.get(caller, ()):
            callers.setdefault(callee, set()).add(caller)
    return reachable(judged, callers)


def _surely_tests(scan: "_Scan") -> Set[int]:
    """The functions the analysis takes for tests whatever else it learns (checks/backward.py
    ``is_test``): named ``test*``, or methods of a class named ``Test*`` or with a base of
    its own named ``*TestCase`` (not where two classes share the name)."""
    def test_class(name: str) -> bool:
        return name.startswith("Test") or name not in scan.repeated_classes and any(
            base.endswith("TestCase") for base in scan.bases.get(name, ()))
    return {f.index for f in scan.functions
            if names_a_test(f.name) or f.owner is not None and test_class(f.owner)}


def with_nesting(calls: Dict[T, Set[T]], nesting: Iterable[Tuple[T, T]], copy: bool = True
                 ) -> Dict[T, Set[T]]:
    """``calls`` (a copy, unless not ``copy``) with an edge from each function to each
    nested in it."""
    graph = {node: set(callees) for node, callees in calls.items()} if copy else calls
    for parent, nested in nesting:
        graph.setdefault(parent, set()).add(nested)
    return graph


def _needed_bodies(functions: List[_Function], strict: Dict[int, Set[int]], strict_cycles: Set[int],
                   reach: _BackwardReach, judged: Set[int]) -> Tuple[FrozenSet[int], FrozenSet[int]]:
    """The functions whose bodies the analysis reads (see :class:`Plan`), and those of
    them kept as backward-pass code: methods with a
    data-model site and all they call by resolved calls (BPL104/105 follow ``self.m()``
    looking for a ``self.__class__ = ...``), functions on a
    cycle of resolved calls (BPL1xx), the anchored ones, and the backward-pass code on a
    way from a root to what BPL2xx-4xx judge there (``judged``). Project mode adds what
    other files' roots reach."""
    needed = reachable({f.index for f in functions if f.data_model}, strict)
    if needed:  # how a class of the file is constructed and stores attributes decides too
        needed |= {f.index for f in functions if f.owner is not None and f.name in _READ_FOR_CLASSES}
    needed |= strict_cycles
    needed |= _local_decorators(functions, strict_cycles)
    needed |= {f.index for f in functions if f.anchored}
    walking = reach.ways_to(judged)
    return frozenset(needed | walking), walking


def _local_decorators(functions: List[_Function], of: Set[int]) -> Set[int]:
    """The module-level functions that decorate the functions ``of`` (with the functions
    nested in them): whether a self-call through one still runs the body is read from its
    body (facts.py)."""
    names = {name for index in of for name in functions[index].decorators}
    found = {f.index for f in functions if f.parent < 0 and f.owner is None and f.name in names}
    for function in functions:  # (a parent comes before what it holds)
        if function.parent in found:
            found.add(function.index)
    return found


def _node_kind_bodies(functions: List[_Function], loose_cycles: Set[int],
                      resolver: "_Resolver") -> Dict[int, Set[int]]:
    """What a walk's ``node.m()`` calls by name need (checks/nodekinds.py), for each
    method on a cycle that makes one: whatever the module stores into the attributes of
    its class's family that it reads - the methods that set or fill them, and, when an
    ``__init__`` does, the constructions of those classes (what its parameters receive)."""
    needs: Dict[int, Set[int]] = {}
    for index in sorted(loose_cycles):
        function = functions[index]
        if function.owner is None or function.receiver is None:
            continue
        receivers = [receiver for target, receiver in function.by_name
                     if loose_cycles.intersection(resolver.resolve(function, target, loose=True))]
        read = _receiver_attributes(function, receivers) if receivers else set()
        family = resolver.family.get(function.owner, {function.owner})
        storing = {f.index for f in functions
                   if f.owner in family and (f.attributes | f.filled) & read}
        if any(functions[i].name == "__init__" for i in storing):
            storing |= {f.index for f in functions if f.calls & family}
        needs[index] = storing
    return needs


def _receiver_attributes(function: _Function, receivers: List[ast.expr]) -> Set[str]:
    """The attributes of the function's receiver that ``receivers`` may come from (``x``
    for ``self.x.m()``, for ``v.m()`` after ``for v in self.x``, through any number of
    locals): more than the analysis follows, never less."""
    me = function.receiver
    bindings = []  # (what a binding binds, where its value comes from)
    for node in ast.walk(function.node):
        kind = type(node)
        if kind in (ast.For, ast.AsyncFor, ast.comprehension):
            bindings.append((node.target, node.iter))
        elif kind is ast.Assign:
            bindings += [(target, node.value) for target in node.targets]
        elif kind in (ast.AnnAssign, ast.AugAssign, ast.NamedExpr) and node.value is not None:
            bindings.append((node.target, node.value))
        elif kind is ast.withitem and node.optional_vars is not None:
            bindings.append((node.optional_vars, node.context_expr))
    values_of: Dict[str, List[ast.expr]] = {}  # a name -> the values of the bindings naming it
    for target, value in bindings:
        for name in {n.id for n in ast.walk(target) if type(n) is ast.Name}:
            values_of.setdefault(name, []).append(value)
    attributes: Set[str] = set()
    names: Set[str] = set()
    pending = list(receivers)
    while pending:
        for node in ast.walk(pending.pop()):
            if type(node) is ast.Attribute and _is(node.value, me):
                attributes.add(node.attr)
            elif type(node) is ast.Name and node.id != me and node.id not in names:
                names.add(node.id)
                pending += values_of.get(node.id, [])
    return attributes


def _unending_cycles(functions: List[_Function], graph: Dict[int, Set[int]],
                     resolver: "_Resolver") -> Set[int]:
    """The functions on cycles that BPL1xx may report. The cycles of the graph by names
    are few; their calls are resolved again, as narrowly as the analysis can resolve them
    (:meth:`_Resolver.narrow`), and each cycle left is judged by ending.py."""
    on_cycles = _on_cycles(graph)
    if not on_cycles:
        return set()
    narrow = {i: {j for target in functions[i].targets
                  for j in resolver.narrow(functions[i], target) if j in on_cycles}
              for i in on_cycles}
    return set().union(*(c for c in _cycles(narrow) if not _ends(functions, c, narrow, resolver)))


def _ends(functions: List[_Function], cycle: Set[int], graph: Dict[int, Set[int]],
          resolver: "_Resolver") -> bool:
    """No cycle inside ``cycle`` is doomed or without progress (ending.py): its functions
    without a way out form no cycle among themselves, nor do its calls without a block."""
    members = {i: _member(functions[i], cycle, resolver) for i in cycle}
    exitless = {i for i, member in members.items() if not member.exits()}
    if _cycles({i: graph[i] & exitless for i in exitless}):
        return False
    unblocked = {i: {j for call in member.open_calls() for j in _callees_in(call, functions[i], cycle, resolver)}
                 for i, member in members.items()}
    return not _cycles(unblocked)


def _member(function: _Function, cycle: Set[int], resolver: "_Resolver") -> CycleMember:
    return CycleMember(function.node, function.receiver,
                       lambda call: bool(_callees_in(call, function, cycle, resolver)))


def _callees_in(call: ast.Call, caller: _Function, cycle: Set[int], resolver: "_Resolver") -> Set[int]:
    """The functions of ``cycle`` that ``call`` may run."""
    return {j for target in _call_targets(call, caller) for j in resolver.narrow(caller, target) if j in cycle}


def _cycles(graph: Dict[int, Set[int]]) -> List[Set[int]]:
    """The strongly connected components with a cycle: two or more nodes, or a self-loop."""
    components = cycle_components(graph)
    on_them = set().union(*components)
    return components + [{node} for node, callees in graph.items() if node in callees and node not in on_them]


def reachable(start: Set[T], graph: Dict[T, Set[T]], closed: Container[T] = ()) -> Set[T]:
    """``start`` and every node reachable from it, not entering ``closed``."""
    reached, stack = set(start), list(start)
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in reached and nxt not in closed:
                reached.add(nxt)
                stack.append(nxt)
    return reached


def _on_cycles(graph: Dict[int, Set[int]]) -> Set[int]:
    """Nodes on a cycle, a self-loop included."""
    return set().union(*_cycles(graph))


def cycle_components(graph: Dict[T, Set[T]]) -> List[Set[T]]:
    """The strongly connected components of two or more nodes. A cycle runs through nodes
    with a way in and a way out: the others are peeled off a few times first (most
    graphs have none left; a networkx graph costs more than this)."""
    inner = {node: callees - {node} for node, callees in graph.items()}
    for _ in range(_PEELINGS):
        called = set().union(*inner.values())
        peeled = {node: callees & inner.keys() for node, callees in inner.items()
                  if node in called and callees & inner.keys()}
        if len(peeled) == len(inner):
            break
        inner = peeled
    if not inner:
        return []
    return [c for c in nx.strongly_connected_components(nx.DiGraph(inner)) if len(c) > 1]


_PEELINGS = 4


class _Resolver:
    """Call edges between the functions of one file, by the receiver forms the analysis
    resolves, over-approximated by names and the class hierarchy the file shows."""

    def __init__(self, scan: "_Scan"):
        self.functions = scan.functions
        self.bases = scan.bases
        self.plain: Dict[str, List[int]] = {}  # name -> functions outside classes
        self.methods: Dict[str, List[int]] = {}  # name -> methods
        for index, function in enumerate(self.functions):
            (self.methods if function.owner else self.plain).setdefault(function.name, []).append(index)
        self.repeated = scan.repeated_classes
        self._bound: Dict[int, Set[str]] = {}  # function index -> names it binds (narrow)
        self._params: Dict[int, Set[str]] = {}  # function index -> its parameters' names
        subclasses: Dict[str, Set[str]] = {}
        for cls, bases in self.bases.items():
            for base in bases:
                subclasses.setdefault(base, set()).add(cls)
        self.up = {name: reachable({name}, self.bases) for name in scan.class_names}
        self.down = {name: reachable({name}, subclasses) for name in scan.class_names}
        self.family = {name: self.up[name] | self.down[name] for name in scan.class_names}

    def ancestors(self, name: str) -> Set[str]:
        found = self.up.get(name)
        return found if found is not None else reachable({name}, self.bases)

    def in_classes(self, method: str, classes: Set[str]) -> List[int]:
        return [i for i in self.methods.get(method, []) if self.functions[i].owner in classes]

    def graph(self, loose: bool) -> Dict[int, Set[int]]:
        graph: Dict[int, Set[int]] = {}
        for index, function in enumerate(self.functions):
            edges = graph.setdefault(index, set())
            for target in function.targets:
                edges.update(self.resolve(function, target, loose))
        return graph

    def narrow(self, caller: _Function, target: Tuple[str, ...]) -> List[int]:
        """:meth:`resolve` (strict) brought closer to what the analysis resolves a call to
        (facts.py), still never missing any: a name the caller binds itself is its own - a
        ``def`` nested in it, or no function of the module (an import, a variable); a
        method that the class or one of its bases defines hides the subclasses' (the
        analysis follows a subclass's method only where no class on the way defines it).
        It costs a walk of the caller's body: asked only about calls on cycles."""
        kind, name = target[0], target[-1]
        if kind == "name":
            found = self.plain.get(name, [])
            if found and name in self._bound_by(caller):
                found = [i for i in found if self.functions[i].parent == caller.index]
            if name in self.family:  # a class: its constructor, wherever it is defined
                found = found + self.in_classes("__init__", self.ancestors(name))
            return list(found)
        if kind == "self" and caller.owner is not None:
            return self._in_mro_first(name, caller.owner)
        if kind == "class":  # ``C.m()``, or ``v.m()`` after ``v = C(...)``
            classes = [target[1]] if target[1] in self.family else []
            classes += caller.instances.get(target[1], ())
            return [i for cls in classes for i in self._in_mro_first(name, cls)]
        return self.resolve(caller, target, loose=False)

    def _bound_by(self, function: _Function) -> Set[str]:
        """The names the function's own scope binds, less those it declares ``global``
        or ``nonlocal`` (the analysis looks those up outside)."""
        bound = self._bound.get(function.index)
        if bound is None:
            bound = _bound_in_scope(function.node)[0] | self._parameters(function)
            bound = self._bound[function.index] = bound - _declared(function)
        return bound

    def _parameters(self, function: _Function) -> Set[str]:
        found = self._params.get(function.index)
        if found is None:
            found = self._params[function.index] = parameter_names(function.node)
        return found

    def _in_mro_first(self, method: str, cls: str) -> List[int]:
        """The methods ``cls.method`` may run: those of its ancestors, or, where none
        defines it, those of its descendants. A class name bound twice on the way may
        stand for either class: its whole family then."""
        ancestors = self.ancestors(cls)
        if ancestors & self.repeated:
            return self.in_classes(method, self.family.get(cls, {cls}))
        return self.in_classes(method, ancestors) or self.in_classes(method, self.down.get(cls, {cls}))

    def resolve(self, caller: _Function, target: Tuple[str, ...], loose: bool) -> List[int]:
        kind, name = target[0], target[-1]
        if kind == "name":
            found = list(self.plain.get(name, []))
            if name in self.family:  # a class: its constructor, wherever it is defined
                found += self.in_classes("__init__", self.ancestors(name))
            return found
        if kind == "self" and caller.owner is not None:
            return self.in_classes(name, self.family.get(caller.owner, {caller.owner}))
        if kind == "super" and caller.owner is not None:
            return self.in_classes(name, self.ancestors(caller.owner) - {caller.owner})
        by_name = list(self.methods.get(name, [])) if loose else []
        if by_name and kind == "class" and target[1] in self._parameters(caller):
            # a walk steps to a node reached through an attribute; a parameter is not one
            # (checks/graphwalk.py, ``Derivation.collection``): ``node.m()`` is no step
            by_name = []
        if kind == "class":  # ``C.m()``, or ``v.m()`` after ``v = C(...)``
            classes = set(self.family.get(target[1], ()))
            for cls in caller.instances.get(target[1], ()):
                classes |= self.family.get(cls, set())
            return self.in_classes(name, classes) + by_name
        return by_name


class _Scan:
    """One iterative pass over the tree."""

    def __init__(self, imports: Dict[str, str]):
        self.imports = imports
        self.functions: List[_Function] = []
        self.class_names: Set[str] = set()
        self.repeated_classes: Set[str] = set()  # names more than one class statement binds
        self.bases: Dict[str, List[str]] = {}
        # the identifiers in the arguments of hook registrations, and the names called
        # there (a lambda's calls: the engine runs them, checks/reentrant.py)
        self.hook_names: Set[str] = set()
        self.called_in_hook_arguments: Set[str] = set()
        # ``from torch.autograd import grad as autograd_grad``: names that call the engine
        self.engine_aliases: Set[str] = set()
        self.imported_names: Set[str] = set()  # every name an import binds, anywhere
        # lines outside functions that the skeleton keeps as they are
        self.lines_to_keep: Set[int] = set()

    def run(self, tree: ast.AST) -> None:
        # (node, parent, innermost function, enclosing class if node is in its body, in a while)
        stack: List[Tuple[ast.AST, Optional[ast.AST], Optional[_Function], Optional[str], bool]]
        stack = [(tree, None, None, None, False)]
        while stack:
            node, parent, function, owner, in_while = stack.pop()
            kind = type(node)
            if kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                inner = self.add_function(node, owner, function)
                # decorators and defaults run in the enclosing function, the body in this one
                outer_parts = node.decorator_list + [d for d in node.args.defaults + node.args.kw_defaults if d]
                stack.extend((c, node, function, None, in_while) for c in outer_parts)
                stack.extend((c, node, inner, None, False) for c in node.body)
                continue
            if kind is ast.ClassDef:
                if node.name in self.class_names:
                    self.repeated_classes.add(node.name)
                self.class_names.add(node.name)
                self.bases.setdefault(node.name, []).extend(
                    b for b in (_reference_name(base) for base in node.bases) if b)
                if function is not None:
                    function.anchored = True  # a class inside a function: the module's facts
                stack.extend((c, node, function, None, in_while) for c in node.decorator_list + node.bases)
                stack.extend((c, node, function, node.name, in_while) for c in node.body)
                continue
            if kind is ast.Call:
                self.note_call(node, function, in_while)
            elif kind is ast.While:
                in_while = True
            elif kind is ast.ImportFrom or kind is ast.Import:
                self.imported_names.update(_imported_names(node))
                if kind is ast.ImportFrom:
                    self.engine_aliases.update(_engine_aliases(node))
            elif kind is ast.NamedExpr and function is None:
                self.lines_to_keep.add(node.lineno)  # binds in the module or class scope
            elif function is not None and kind in _ASSIGNMENTS:
                _note_instance(node, function)
                if function.receiver is not None:
                    stored = _attributes_set(node, function.receiver)
                    function.attributes.update(stored)
                    value = getattr(node, "value", None)
                    if stored and type(value) is ast.Call and _call_name(value) in _LOCKS:
                        function.anchored = True  # the lock it makes: checks/progress.py
            elif function is not None and (kind is ast.Global or kind is ast.Nonlocal):
                keyword = "global" if kind is ast.Global else "nonlocal"
                function.declared.setdefault(keyword, []).extend(node.names)
            elif function is not None and (kind is ast.Attribute and type(node.ctx) is ast.Store
                                           and _is(node.value, function.receiver)
                                           and node.attr not in function.attributes):
                function.anchored = True  # sets an attribute other than by assignment
            if function is not None and function.role is not None and not function.data_model:
                function.data_model = _data_model_site(node, parent, function)
            fields = FIELDS.get(kind)
            for field in fields_of(kind) if fields is None else fields:
                value = getattr(node, field)
                for child in value if type(value) is list else (value,):
                    if type(child) is ast.Name:  # a third of all nodes: decided here
                        if function is not None and (function.role is not None
                                                     or child.id == function.receiver):
                            self.note_name(child, node, function)
                    elif type(child) in WALKED:
                        stack.append((child, node, function, owner, in_while))  # ifs in a class body

    def settle_engine_aliases(self) -> None:
        """Calls of the engine under an imported name count as engine calls, and a
        dotted one counts as explicit where an import binds its first part (the imports
        may come after the calls in the file: settled after the pass). The analysis
        (checks/reentrant.py) takes only ``torch.autograd.backward`` / ``grad`` for
        explicit, as the imports spell them; a name alone may be imported from there."""
        explicit = self.imported_names | {"", "torch"}
        for function in self.functions:
            if function.calls & self.engine_aliases:
                function.work = function.restarts = True
            elif function.engine_heads & explicit:
                function.work = True

    def settle_declarations(self) -> None:
        """A function declaring ``global`` / ``nonlocal`` names rebinds them outside: left
        out, it stands in as the declarations and ``name = None`` for each name it binds -
        unless a nested ``def`` or class binds one (the facts see a definition there)."""
        for function in self.functions:
            if function.declared:
                declared = _declared(function)
                bound, defined = _bound_in_scope(function.node)
                function.anchored = function.anchored or bool(declared & defined)
                function.rebound = sorted(declared & bound)
                function.rebinds_beyond = bool(function.rebound) and function.parent >= 0 and (
                    not self._rebinds_only_in_parent(function))

    def _rebinds_only_in_parent(self, function: _Function) -> bool:
        """Its rebound names are all ``nonlocal`` names its enclosing function binds
        itself: when that body is left out, nothing reads the names it rebinds."""
        parent = self.functions[function.parent]
        if set(function.rebound) & set(function.declared.get("global", ())):
            return False
        bound, _ = _bound_in_scope(parent.node)
        return set(function.rebound) <= bound - _declared(parent)

    def note_name(self, node: ast.Name, parent: ast.AST, function: _Function) -> None:
        if node.id == function.receiver and type(node.ctx) is not ast.Load:
            function.anchored = True  # the receiver rebound: the facts then have none
        if function.role is not None and not function.data_model:
            function.data_model = _data_model_site(node, parent, function)

    def add_function(self, node, owner: Optional[str], outer: Optional[_Function]) -> _Function:
        params = node.args.posonlyargs + node.args.args
        decorators = {decorator_name(d) for d in node.decorator_list}
        is_method = owner is not None and "staticmethod" not in decorators
        function = _Function(node.name, owner, params[0].arg if params and is_method else None, decorators)
        function.index = len(self.functions)
        function.parent = outer.index if outer is not None else -1
        function.node = node
        if function.receiver is not None and (decorators & _ACCESSOR_DECORATORS or node.name in _DATA_MODEL):
            function.role = function.receiver
        self.functions.append(function)
        return function

    def note_hook(self, registration: ast.Call) -> None:
        for argument in registration.args + registration.keywords:
            for node in ast.walk(argument):
                if type(node) is ast.Call:
                    self.called_in_hook_arguments.add(_call_name(node) or "")
                name = _reference_name(node)
                if name is not None:
                    self.hook_names.add(name)

    def note_call(self, node: ast.Call, function: Optional[_Function], in_while: bool) -> None:
        func = node.func
        name = _reference_name(func)
        engine = name in _ENGINE
        popped = in_while and name in _POPS
        registers = name in _HOOK_REGISTRATIONS
        if registers:
            self.note_hook(node)
        if function is None:
            if registers:
                self.lines_to_keep.add(node.lineno)
            return
        function.work = function.work or popped
        if engine:
            function.restarts = True
            head = _dotted_head(func)
            if head is not None:
                function.engine_heads.add(head)
        if name in _INSERTIONS and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute) and (
                _is(func.value.value, function.receiver)):
            function.filled.add(func.value.attr)
        function.anchored = function.anchored or registers
        if name is not None:
            function.calls.add(name)
        if name == "map" and node.args:  # map(self.visit, xs) calls visit
            function.calls.add(_reference_name(node.args[0]) or "")
        targets = _call_targets(node, function)
        function.targets.update(targets)
        if isinstance(func, ast.Attribute) and targets and targets[0][0] in ("other", "class"):
            function.by_name.append((targets[0], func.value))
        if self.imports:
            path = _import_path(func, self.imports)
            if path is not None:
                function.imported.add(path)


_ASSIGNMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign)
# what checks/progress.py takes for a lock when stored into an attribute of the instance
_LOCKS = frozenset({"Lock", "RLock"})


def _targets_of(statement: ast.stmt) -> List[ast.expr]:
    """What an assignment statement assigns to, as written (none for an expression)."""
    if type(statement) is ast.Assign:
        return statement.targets
    return [statement.target] if type(statement) in (ast.AugAssign, ast.AnnAssign) else []


def _stored(statement: ast.stmt) -> List[ast.expr]:
    """The targets of an assignment, tuples and lists unpacked, stars removed, in order."""
    found = []
    stack = list(reversed(_targets_of(statement)))
    while stack:
        target = stack.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            stack.extend(reversed(target.elts))
        elif isinstance(target, ast.Starred):
            stack.append(target.value)
        else:
            found.append(target)
    return found


def _note_instance(node, function: _Function) -> None:
    """``v = C(...)``: the call graph resolves ``v.m()`` to ``C.m`` (facts._instance_of)."""
    value = getattr(node, "value", None)
    if type(value) is ast.Call and type(value.func) is ast.Name:
        for target in _targets_of(node):
            if type(target) is ast.Name:
                function.instances.setdefault(target.id, set()).add(value.func.id)


def _attributes_set(node, receiver: str) -> List[str]:
    """``a`` and ``b`` for ``self.a = self.b, c = ...``."""
    return [t.attr for t in _stored(node) if isinstance(t, ast.Attribute) and _is(t.value, receiver)]


def _set_to_none(targets: List[str], value: Optional[str] = None) -> str:
    """One statement that binds ``targets`` as the original did: ``a = self.b = None``
    (or to ``value`` instead of None)."""
    return " = ".join(targets) + f" = {value or 'None'}" if targets else "pass"


def _body_of(function: _Function) -> Body:
    """What stands in for the function when its body is not needed: its body, or - outside
    functions, where no call in its signature is a call of a function we analyse - its
    whole ``def`` line and body, with the first parameter kept (the receiver)."""
    node = function.node
    first = node.body[0]
    last = node.end_lineno or first.lineno
    # what the module's facts read of it: the attributes it sets on its instance, the
    # outer names it rebinds
    stand_in = _set_to_none([f"{function.receiver}.{a}" for a in sorted(function.attributes)]
                            + function.rebound)
    stand_in = "; ".join([f"{keyword} {', '.join(names)}" for keyword, names in sorted(function.declared.items())]
                         + [stand_in])
    if function.parent < 0:
        params = node.args.posonlyargs + node.args.args
        header = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
        receiver = params[0].arg if params else ""
        return (node.lineno, node.col_offset, last, f"{header} {node.name}({receiver}): {stand_in}")
    decorators = getattr(first, "decorator_list", None)
    if decorators:  # a decorated statement starts at its first ``@``, on a line of its own
        return (min(d.lineno for d in decorators), 0, last, stand_in)
    return (first.lineno, first.col_offset, last, stand_in)


_SIMPLE = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr)
_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try) + tuple(
    getattr(ast, name) for name in ("TryStar",) if hasattr(ast, name))


def _skeleton(tree: ast.AST, defined: Set[str], lines_to_keep: Set[int]) -> Tuple[Body, ...]:
    """Stand-ins for statements outside functions - tables of data, docstrings,
    registrations: the analysis reads only the names they bind, so ``a = b = None`` keeps
    those (``pass`` if none); a one-line statement whose value is a name or a constant
    has nothing to leave out. A statement binding the name of a function or class stays
    (``f = cache(f)`` decides whether ``f`` is rebound), as do statements on
    ``lines_to_keep`` (assignment expressions, hook registrations). A decorator called
    with arguments there becomes its bare name: only the name is read."""
    stand_ins = []
    bodies = [getattr(tree, "body", [])]
    while bodies:
        body = bodies.pop()
        for position, statement in enumerate(body):
            if isinstance(statement, (ast.ClassDef,) + _FUNCTIONS):
                stand_ins += _decorators_named(statement, lines_to_keep)
            if isinstance(statement, ast.ClassDef) or isinstance(statement, _BLOCKS):
                bodies.extend(_blocks_of(statement))
                continue
            first, last = statement.lineno, statement.end_lineno or statement.lineno
            if not isinstance(statement, _SIMPLE) or last == first and _nothing_to_leave_out(statement) \
                    or names_of_strings(getattr(statement, "value", None)) is not None:
                continue
            names = _bound_names(statement)
            if _shares_a_line(body, position, first, last) or names is None or defined & set(names) or _keeps_a_line(
                    first, last, lines_to_keep):
                continue
            stand_ins.append((first, statement.col_offset, last, _set_to_none(names, _constructor(statement))))
    return tuple(stand_ins)


def _constructor(statement: ast.stmt) -> Optional[str]:
    """``C()`` for ``x = C(...)`` / ``x = mod.C(...)``: the facts read what class (or lock)
    a module name holds (checks/progress.py), not the arguments."""
    value = getattr(statement, "value", None)
    name = _dotted_name(value.func) if type(value) is ast.Call else None
    return f"{name}()" if name is not None else None


# statements outside functions that bind names and nothing else the analysis reads (the
# calls in them count only as hook registrations, which pin their lines)
_BINDING_ONLY = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Delete,
                 ast.Expr, ast.Pass, ast.Raise, ast.Assert)


def _units(tree: ast.AST, scan: "_Scan", roots: Set[str]) -> Tuple[Unit, ...]:
    """Every statement outside functions as a :class:`Unit`, class bodies after the body
    that holds the class; blocks (``if``, ``try``...) stay, their bodies are units."""
    functions = {id(f.node): f for f in scan.functions}
    units: List[Unit] = []
    pending: List[Tuple[List[ast.stmt], int]] = [(getattr(tree, "body", []), -1)]
    while pending:
        body, owner = pending.pop()
        follows = False
        for position, statement in enumerate(body):
            if isinstance(statement, _BLOCKS):
                pending.extend((block, owner) for block in _blocks_of(statement))
                follows = False
                continue
            function = functions.get(id(statement))
            names = _unit_names(statement, function)
            if names is None:  # a statement of another kind (match, global...) stays
                follows = False
                continue
            first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
            last = statement.end_lineno or statement.lineno
            pinned = (_shares_a_line(body, position, first, last)
                      or _keeps_a_line(first, last, scan.lines_to_keep) or bool(names & roots))
            names = tuple(sorted(names))
            header = 0
            if isinstance(statement, ast.ClassDef):
                header = max(statement.lineno, statement.body[0].lineno - 1)
                pending.append((statement.body, len(units)))
            units.append(Unit(first, statement.col_offset, last, names, owner, follows, header,
                              function.index if function is not None else -1, pinned))
            follows = True
    return tuple(units)


def _unit_names(statement: ast.stmt, function: Optional[_Function]) -> Optional[FrozenSet[str]]:
    """The names a unit binds (None: not a unit)."""
    if function is not None:  # (and a ``global`` name it rebinds binds in the module)
        return frozenset({function.name} | function.attributes | set(function.rebound))
    if isinstance(statement, ast.ClassDef):
        return frozenset({statement.name})
    if not isinstance(statement, _BINDING_ONLY):
        return None
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        if statement.names[0].name == "*" or getattr(statement, "module", None) == "__future__":
            return None
        return frozenset(_imported_names(statement))
    if isinstance(statement, ast.Delete):
        return frozenset(t.id for t in statement.targets if isinstance(t, ast.Name))
    return frozenset(t.id for t in _stored(statement) if isinstance(t, ast.Name))


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*|[^\x00-\x7f]\w*")


def _units_named(lines: List[str], left_out: Set[int], units: Tuple[Unit, ...]) -> List[bool]:
    """Which units stay: the pinned ones, and from the code that stays whatever binds a
    name it mentions (any identifier in its text, strings and comments too: only more
    stays), a class holding a unit that stays or naming one that stays as a base, and
    the private names of a class that stays - until nothing more is named."""

    def mentioned(unit: Unit) -> Set[str]:  # the identifiers in the unit's own lines
        return set(_IDENTIFIER.findall("".join(lines[i] for i in unit.own_lines
                                               if i < len(lines) and i not in left_out)))

    pinned = [u.pinned or not starts_its_line(lines, u.first, u.column) for u in units]
    owned = set()
    for unit, pin in zip(units, pinned):
        if not pin:
            owned.update(unit.own_lines)
    named = set(_IDENTIFIER.findall("".join(
        line for i, line in enumerate(lines) if i not in owned and i not in left_out)))
    binders: Dict[str, List[int]] = {}
    headers: Dict[int, Set[str]] = {}  # what each class's header mentions
    heirs: Dict[str, List[int]] = {}  # a name -> the classes whose header mentions it
    private: Dict[int, List[int]] = {}
    stack = [i for i, pin in enumerate(pinned) if pin]
    for index, unit in enumerate(units):
        for name in unit.names:
            binders.setdefault(name, []).append(index)
        if unit.header:
            headers[index] = mentioned(unit)
            for name in headers[index]:
                heirs.setdefault(name, []).append(index)
        if unit.private:
            private.setdefault(unit.owner, []).append(index)
    stack += private.get(-1, [])
    stack += [i for name in named for i in binders.get(name, ())]
    kept = [False] * len(units)
    while stack:
        index = stack.pop()
        if kept[index]:
            continue
        kept[index] = True
        unit = units[index]
        own = () if pinned[index] else headers[index] if unit.header else mentioned(unit)
        for name in set(own) - named:
            named.add(name)  # (a pinned unit's text was read with the code that stays)
            stack += binders.get(name, ())
        if unit.owner >= 0:
            stack.append(unit.owner)
        if unit.header:
            stack += private.get(index, ())
            stack += [i for name in unit.names for i in heirs.get(name, ())]
    return kept


def _runs_left_out(units: Tuple[Unit, ...], kept: List[bool]) -> Tuple[Body, ...]:
    """``pass`` for each run of units that go, one after another in a body (a class that
    goes takes its body with it)."""
    runs: List[List[int]] = []
    for index, unit in enumerate(units):
        if kept[index] or unit.owner >= 0 and not kept[unit.owner]:
            continue
        if runs and unit.follows and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return tuple((units[run[0]].first, units[run[0]].column, units[run[-1]].last, "pass") for run in runs)


def _imported_names(statement) -> List[str]:
    """The names an import binds: ``import a.b`` binds ``a``."""
    return [alias.asname or alias.name.split(".")[0] for alias in statement.names]


def _declared(function: _Function) -> Set[str]:
    """The names it declares ``global`` or ``nonlocal``."""
    return {name for names in function.declared.values() for name in names}


def _bound_in_scope(function: ast.AST) -> Tuple[Set[str], Set[str]]:
    """The names a function's own scope binds (not its nested functions', classes' or
    comprehensions' own), and those of them a nested ``def`` or class binds."""
    bound: Set[str] = set()
    defined: Set[str] = set()
    stack: List[ast.AST] = list(function.body)  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind in _FUNCTIONS or kind is ast.ClassDef:
            defined.add(node.name)
            header = node.decorator_list + getattr(node, "bases", []) + [k.value for k in getattr(node, "keywords", [])]
            if kind in _FUNCTIONS:
                header += [d for d in node.args.defaults + node.args.kw_defaults if d]
            stack.extend(header)  # (an assignment expression there binds here)
            continue
        if kind is ast.Lambda:
            stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d)
            continue
        if kind is ast.comprehension:
            stack.extend([node.iter] + node.ifs)  # its target binds in the comprehension
            continue
        if kind is ast.Import or kind is ast.ImportFrom:
            bound.update(_imported_names(node))
        elif kind is ast.ExceptHandler or kind.__name__ in ("MatchAs", "MatchStar"):
            bound.update([node.name] if node.name else [])
        elif kind.__name__ == "MatchMapping" and node.rest:
            bound.add(node.rest)
        fields = FIELDS.get(kind)
        for field in fields_of(kind) if fields is None else fields:
            value = getattr(node, field)
            for child in value if type(value) is list else (value,):
                if type(child) is ast.Name:  # (names are leaves: decided here)
                    if type(child.ctx) is not ast.Load:
                        bound.add(child.id)
                elif type(child) in WALKED:
                    stack.append(child)
    return bound | defined, defined


# BPL105 decides ``name in FIELDS`` for a collection of at most this many strings
MAX_NAMED_STRINGS = 64


def names_of_strings(value: Optional[ast.AST]) -> Optional[List[str]]:
    """The strings of a small tuple / list / set / dict-keys display of string constants
    (``frozenset({...})`` and the like too): the names a ``__getattr__`` may test against
    a collection bound in the class body or the module. The screen keeps such statements
    as they are."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and len(value.args) == 1 \
            and not value.keywords and value.func.id in ("frozenset", "set", "tuple", "list"):
        value = value.args[0]
    elements = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", None)
    if not isinstance(value, (ast.Tuple, ast.List, ast.Set, ast.Dict)) or len(elements) > MAX_NAMED_STRINGS:
        return None
    strings = [e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return strings if len(strings) == len(elements) else None


def _nothing_to_leave_out(statement: ast.stmt) -> bool:
    value = getattr(statement, "value", None)
    return value is None or isinstance(value, (ast.Constant, ast.Name))


def _decorators_named(definition: ast.stmt, lines_to_keep: Set[int]) -> List[Body]:
    """``@name()`` for each ``@name(...)`` of a definition outside functions (a decorator
    starts a line of its own; its calls run in no function). Still a call: a decorator
    factory is judged by what its call returns (imported.py)."""
    found = []
    for decorator in definition.decorator_list:
        name = _dotted_name(decorator.func) if isinstance(decorator, ast.Call) else None
        first, last = decorator.lineno, decorator.end_lineno or decorator.lineno
        if name is not None and not _keeps_a_line(first, last, lines_to_keep):
            found.append((first, 0, last, "@" + name + "()"))
    return found


def _shares_a_line(body: List[ast.stmt], position: int, first: int, last: int) -> bool:
    """The statement at ``position`` (lines ``first``..``last``) shares a line with the one
    before or after it (``a = 1; b = 2``): a stand-in replaces whole lines."""
    return (position > 0 and (body[position - 1].end_lineno or 0) >= first) or (
        position + 1 < len(body) and body[position + 1].lineno <= last)


def _keeps_a_line(first: int, last: int, lines_to_keep: Set[int]) -> bool:
    return any(first <= line <= last for line in lines_to_keep)


def _dotted_name(expr: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def _blocks_of(statement: ast.stmt) -> List[List[ast.stmt]]:
    blocks = [statement.body, getattr(statement, "orelse", []), getattr(statement, "finalbody", [])]
    blocks += [handler.body for handler in getattr(statement, "handlers", [])]
    return [b for b in blocks if b]


def _bound_names(statement: ast.stmt) -> Optional[List[str]]:
    """The names an assignment binds, in order (None for ``x: int``, which binds nothing
    in a class: kept as it is)."""
    if isinstance(statement, ast.AnnAssign) and statement.value is None:
        return None
    return [t.id for t in _stored(statement) if isinstance(t, ast.Name)]


def _call_targets(call: ast.Call, caller: _Function) -> List[Tuple[str, ...]]:
    """What a call may run, named as :func:`_target` names it: the called name, and
    for ``map(self.visit, xs)`` the function mapped."""
    found = [_target(call.func, caller)] if isinstance(call.func, (ast.Name, ast.Attribute)) else []
    if _call_name(call) == "map" and call.args and isinstance(call.args[0], (ast.Name, ast.Attribute)):
        found.append(_target(call.args[0], caller))
    return found


def _target(func: ast.AST, caller: _Function) -> Tuple[str, ...]:
    """How a call names what it runs (see ``_Function.targets``)."""
    if isinstance(func, ast.Name):
        return ("name", func.id)
    name = func.attr  # type: ignore[attr-defined]
    receiver = func.value  # type: ignore[attr-defined]
    me = caller.receiver
    if _is(receiver, me) or (
        isinstance(receiver, ast.Call) and _is(receiver.func, "type") and receiver.args
        and _is(receiver.args[0], me)
    ) or (isinstance(receiver, ast.Attribute) and receiver.attr == "__class__" and _is(receiver.value, me)):
        return ("self", name)
    if isinstance(receiver, ast.Call) and _is(receiver.func, "super"):
        return ("super", name)
    if isinstance(receiver, ast.Call):
        receiver = receiver.func  # C(...).m()
    if isinstance(receiver, ast.Name):
        return ("class", receiver.id, name)
    return ("other", name)


def _data_model_site(node: ast.AST, parent: Optional[ast.AST], function: _Function) -> bool:
    """Could ``node`` be where this method re-enters itself through the data model?"""
    me = function.role
    name = function.name
    if function.decorators & _ACCESSOR_DECORATORS:
        return (isinstance(node, ast.Attribute) and node.attr == name and _is(node.value, me)) or (
            isinstance(node, ast.Call) and _call_name(node) in _ATTRIBUTE_BUILTINS
            and bool(node.args) and _is(node.args[0], me))
    if name in _ATTRIBUTE_HOOKS:
        return (isinstance(node, ast.Attribute) and _is(node.value, me)) or (
            isinstance(node, ast.Call) and _call_name(node) in _ATTRIBUTE_BUILTINS)
    if name in _CONSTRUCTORS:
        return isinstance(node, ast.Call) and (
            _call_name(node) in (function.owner, me, "__class__")
            or isinstance(node.func, ast.Call) and _is(node.func.func, "type"))  # type(self)(...)
    if name in _COMPARES:
        return isinstance(node, ast.Compare) and _is(node.left, me) and isinstance(node.ops[0], _COMPARES[name])
    if name == "__contains__":
        return isinstance(node, ast.Compare) and any(_is(c, me) for c in node.comparators)
    if name in _SUBSCRIPTS:
        return isinstance(node, ast.Subscript) and _is(node.value, me)
    if name in _CALLS_SELF:
        return isinstance(node, ast.Call) and _is(node.func, me)
    if name in _BARE_USES:
        return _is(node, me) and _meets_itself(parent, *_BARE_USES[name])
    return False


def _meets_itself(parent: Optional[ast.AST], builtins: FrozenSet[str], form: str) -> bool:
    """Can this bare use of the receiver run the method again - the forms that
    checks/datamodel.py looks for (``repr(self)`` in ``__repr__``; there and in
    ``__str__`` / ``__format__``, formatting it: ``f"{self}"``, ``"%s" % self``,
    ``"{}".format(self)``; in ``__iter__``, iterating it: ``for x in self``, ``list(self)``;
    in ``__bool__``, testing it: ``if self:``, ``not self``)? Returning it, storing it or
    handing it to a function of the program runs nothing here."""
    kind = type(parent)
    if kind is ast.Call:
        func = parent.func  # type: ignore[attr-defined]
        if type(func) is ast.Name:
            return func.id in builtins
        return type(func) is ast.Attribute and func.attr == _BARE_FORM_METHODS.get(form)
    if kind is ast.BinOp:
        return form == "formatted" and type(parent.op) is ast.Mod  # type: ignore[attr-defined]
    if kind is ast.UnaryOp:
        return form == "tested" and type(parent.op) is ast.Not  # type: ignore[attr-defined]
    return kind in _BARE_FORM_PARENTS.get(form, ())


def _is(node: ast.AST, name: Optional[str]) -> bool:
    return type(node) is ast.Name and node.id == name  # type: ignore[attr-defined]


def _engine_aliases(node: ast.ImportFrom) -> List[str]:
    """The names ``from torch.autograd import grad as g`` binds to the engine's calls."""
    if (node.module or "").split(".")[-1] != "autograd":
        return []
    return [a.asname for a in node.names if a.name in _ENGINE and a.asname]


def _dotted_head(func: ast.AST) -> Optional[str]:
    """The first part of a called dotted name (``torch`` of ``torch.autograd.grad``), ""
    for a name alone, None for a call of anything else (``scale(loss).backward``)."""
    dotted = _dotted_name(func)
    if dotted is None:
        return None
    head, dot, _ = dotted.partition(".")
    return head if dot else ""


def _top_level_imports(tree: ast.AST) -> Dict[str, str]:
    """Local name -> dotted origin for imports outside functions (relative ones keep dots)."""
    imports: Dict[str, str] = {}
    stack = list(getattr(tree, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    imports[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            for alias in node.names:
                joined = f"{base}.{alias.name}" if base and not base.endswith(".") else base + alias.name
                imports[alias.asname or alias.name] = joined
        elif not isinstance(node, _FUNCTIONS + (ast.ClassDef,)):
            stack.extend(n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt))
    return imports


def _import_path(func: ast.AST, imports: Dict[str, str]) -> Optional[str]:
    """``ops.apply_grad`` -> ``pkg.ops.apply_grad`` when ``ops`` came from an import."""
    base = func
    while type(base) is ast.Attribute:
        base = base.value  # type: ignore[attr-defined]
    if type(base) is not ast.Name or base.id not in imports:  # type: ignore[attr-defined]
        return None  # (most calls: no name to build)
    dotted = _dotted_name(func)
    head, _, rest = (dotted or "").partition(".")
    if dotted is None:
        return None
    origin = imports[head]
    if not rest:
        return origin
    return origin + rest if origin.endswith(".") else f"{origin}.{rest}"


def _call_name(call: ast.Call) -> Optional[str]:
    return _reference_name(call.func)


def _reference_name(expr: ast.AST) -> Optional[str]:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None
