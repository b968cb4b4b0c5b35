"""A cheap, sound screen on the ``ast`` tree: can this file hold a finding at all?

libcst parses about nine times slower than ``ast``, and flake8 hands plugins the ``ast`` tree
it has already built. Every finding of the full analysis needs one of:

* a cycle of calls among the module's functions (BPL101-103). The full analysis resolves a
  call only to a function named like the call's last identifier (``f(...)``, ``x.f(...)``)
  or to ``__init__`` for a class of the module, so a cycle among *names* over-approximates
  it;
* a method with a data-model role that uses its receiver the way the role needs
  (BPL104/105): ``repr(self)`` in ``__repr__``, ``self.x`` in property ``x``...

Both are checked by names only, so a file this screen drops has no finding (a test
compares screened and unscreened results on real code).
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_ACCESSOR_DECORATORS = frozenset(
    "property cached_property abstractproperty setter getter deleter".split()
)
_ATTRIBUTE_HOOKS = frozenset({"__getattr__", "__getattribute__", "__setattr__", "__delattr__"})
_ATTRIBUTE_BUILTINS = frozenset({"getattr", "hasattr", "setattr", "delattr"})
_USES_RECEIVER_BARE = frozenset(
    "__repr__ __str__ __format__ __eq__ __ne__ __len__ __getitem__ __setitem__ __delitem__ "
    "__hash__ __bool__ __iter__ __contains__ __call__ forward".split()
)
_CONSTRUCTORS = frozenset({"__init__", "__new__"})
_HOOK_REGISTRATIONS = frozenset(
    "register_hook register_full_backward_hook register_backward_hook "
    "register_full_backward_pre_hook register_multi_grad_hook".split()
)
_POPS = frozenset({"pop", "popleft", "heappop"})


def may_have_findings(tree: ast.AST, backward_globs: Sequence[str] = ()) -> bool:
    """Can this file, analysed alone, hold a finding?"""
    return screen_file(tree, backward_globs, stop_early=True).local


@dataclasses.dataclass
class ScreenResult:
    """What the screen learnt of one file; project mode links these across files."""

    local: bool  # the file alone may hold a finding
    calls: Dict[str, Set[str]]  # function name -> names it calls
    imported_calls: Dict[str, Set[str]]  # function name -> dotted import paths it calls
    roots: Set[str]  # functions that are backward-pass roots (every one, with hooks)
    backward_code: bool  # engine calls, worklist loops or recursion: worth a scope


def screen_file(tree: ast.AST, backward_globs: Sequence[str] = (), stop_early: bool = False) -> ScreenResult:
    names = _NameGraph(_top_level_imports(tree))
    patterns = [g.lower() for g in backward_globs]
    roots: Set[str] = set()
    data_model = False
    for function, owner in _functions(tree):
        names.add_function(function)
        if owner is not None and not data_model and _data_model_candidate(function, owner):
            data_model = True
            if stop_early:
                return ScreenResult(True, {}, {}, set(), True)
        if any(fnmatch.fnmatchcase(function.name.lower(), p) for p in patterns):
            roots.add(function.name)
    names.class_names = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    cycle = names.has_cycle()
    local = data_model or cycle
    if not local or not stop_early:
        # BPL301 / BPL401 / BPL402 need backward-pass code and an engine call or a worklist
        names.note_backward_code(tree)
        if names.hook_registrations:
            roots = set(names.calls)  # a hook may be any of them
        local = local or bool(roots) and (names.engine_calls or names.worklist_loops)
    backward_code = cycle or names.engine_calls or names.worklist_loops
    return ScreenResult(local, names.calls, names.imported_calls, roots, backward_code)


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


def _functions(tree: ast.AST) -> Iterator[Tuple[ast.AST, Optional[ast.ClassDef]]]:
    """Every function with the class whose body defines it (None outside a class)."""
    stack: List[Tuple[ast.AST, Optional[ast.ClassDef]]] = [(tree, None)]
    while stack:
        node, owner = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _FUNCTIONS):
                yield child, owner
                stack.append((child, None))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, child))
            else:
                stack.append((child, owner if isinstance(node, ast.ClassDef) else None))


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, nested functions' bodies excluded; decorators and
    defaults of nested functions included (they run in this function)."""
    stack = list(function.body)  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _FUNCTIONS):
            stack.extend(node.decorator_list)
            stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _import_path(func: ast.AST, imports: Dict[str, str]) -> Optional[str]:
    """``ops.apply_grad`` -> ``pkg.ops.apply_grad`` when ``ops`` came from an import."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in imports:
        return None
    origin = imports[func.id]
    rest = ".".join(reversed(parts))
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


class _NameGraph:
    """Function names and the names their calls could run."""

    def __init__(self, imports: Dict[str, str]) -> None:
        self.imports = imports
        self.calls: Dict[str, Set[str]] = {}
        self.imported_calls: Dict[str, Set[str]] = {}
        self.class_names: Set[str] = set()
        self.hook_registrations = False
        self.engine_calls = False
        self.worklist_loops = False

    def add_function(self, function) -> None:
        called = self.calls.setdefault(function.name, set())
        imported = self.imported_calls.setdefault(function.name, set())
        for node in _own_nodes(function):
            if isinstance(node, ast.Call):
                name = _call_name(node)
                if name is not None:
                    called.add(name)
                path = _import_path(node.func, self.imports)
                if path is not None:
                    imported.add(path)
                if name == "map" and node.args:  # map(self.visit, xs) calls visit
                    called.add(_reference_name(node.args[0]) or "")

    def note_backward_code(self, tree: ast.AST) -> None:
        """Hook registrations (module level included), engine calls, worklist loops."""
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _call_name(node)
                self.engine_calls = self.engine_calls or name in ("backward", "grad")
                self.hook_registrations = self.hook_registrations or name in _HOOK_REGISTRATIONS
            elif isinstance(node, ast.While):
                self.worklist_loops = self.worklist_loops or any(
                    isinstance(n, ast.Call) and _call_name(n) in _POPS for n in ast.walk(node)
                )

    def has_cycle(self) -> bool:
        graph = {
            name: {c for c in called if c in self.calls}
            | ({"__init__"} if called & self.class_names else set())
            for name, called in self.calls.items()
        }
        return _has_cycle(graph)


def _has_cycle(graph: Dict[str, Set[str]]) -> bool:
    """Iterative three-colour DFS: any back edge (a self-loop included) is a cycle."""
    colour: Dict[str, int] = {}
    for root in graph:
        if root in colour:
            continue
        colour[root] = 1
        stack = [(root, iter(graph[root]))]
        while stack:
            node, successors = stack[-1]
            nxt = next(successors, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
            elif nxt not in graph:
                continue
            elif colour.get(nxt) == 1:
                return True
            elif nxt not in colour:
                colour[nxt] = 1
                stack.append((nxt, iter(graph[nxt])))
    return False


def _data_model_candidate(function, owner: ast.ClassDef) -> bool:
    params = function.args.posonlyargs + function.args.args
    if not params:
        return False
    me = params[0].arg
    name = function.name
    decorators = {_decorator_name(d) for d in function.decorator_list}
    nodes = list(_own_nodes(function))
    if decorators & _ACCESSOR_DECORATORS:
        return any(
            (isinstance(n, ast.Attribute) and n.attr == name)
            or (isinstance(n, ast.Call) and _call_name(n) in _ATTRIBUTE_BUILTINS)
            for n in nodes
        )
    if name in _ATTRIBUTE_HOOKS:
        return any(
            (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == me)
            or (isinstance(n, ast.Call) and _call_name(n) in _ATTRIBUTE_BUILTINS)
            for n in nodes
        )
    if name in _CONSTRUCTORS:
        return any(
            isinstance(n, ast.Call) and (
                _call_name(n) in (owner.name, me, "type", "__class__")
                or isinstance(n.func, ast.Call)
            )
            for n in nodes
        )
    if name in _USES_RECEIVER_BARE:
        return _receiver_used_bare(nodes, me)
    return False


def _receiver_used_bare(nodes: List[ast.AST], me: str) -> bool:
    """``self`` used other than as ``self.attr``: ``repr(self)``, ``self == x``,
    ``self[k]``, ``x in self``, ``f"{self}"``, ``for x in self``, ``not self``..."""
    attribute_bases = {id(n.value) for n in nodes if isinstance(n, ast.Attribute)}
    return any(
        isinstance(n, ast.Name) and n.id == me and id(n) not in attribute_bases for n in nodes
    )


def _decorator_name(decorator: ast.AST) -> str:
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    if isinstance(decorator, ast.Attribute):
        return decorator.attr
    if isinstance(decorator, ast.Name):
        return decorator.id
    return ""
