"""What the classes and functions a file imports define, read without importing them.

A question such as "does ``abc.ABC`` define ``__format__``?" or "does this imported
decorator call the function it wraps?" is answered from source text alone: nothing is
imported and nothing is run (no ``importlib.import_module``, no ``find_spec`` on a dotted
name, which imports the parents).

* **Where a module lives** is found the way Python's path finder would find it: the search
  roots are the analysed file's project (the folder above its top package: the
  ``__init__.py`` chain) and then ``sys.path`` (the standard library through it, and the
  installed packages); per root, a package folder with ``__init__`` wins over a module file,
  an extension module (``.so``/``.pyd``) over a ``.py``, and a folder without ``__init__``
  is a portion of a namespace package, used only when no root holds a regular one.
* **What is read**: the ``.py`` source, what really runs; a ``.pyi`` stub beside an
  extension module (or alone) answers what a class defines but never what a function body
  does (a stub has no body). Only the module asked about is parsed (CPython's ``ast``), once
  per process, and only the class or function asked about is summarised.
* **Builtins** (``object``, ``Exception``, ``dict``...) are read from the running
  interpreter's own ``builtins`` types, which are loaded in every process: their names are
  exactly what the Python running the check defines. Their attribute hooks
  (``__getattribute__``, ``__setattr__``, ``type.__call__``) are the standard behaviour
  that the analysis assumes anyway, and ``object``'s methods are the defaults, so they do
  not count as definitions.

Where anything is unclear - a module not found, a name bound twice, a base built by a
call, an extension module without a stub - the answer is "unknown" (None), and the
checks stay silent.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES  # already loaded by every interpreter
from typing import Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple, Union

from .astwalk import decorator_name

_MAX_HOPS = 12  # re-exports and aliases followed this deep
# hooks that builtin types define with the standard behaviour
_STANDARD_HOOKS = frozenset({"__getattribute__", "__setattr__", "__delattr__", "__call__", "__new__",
                             "__init__", "__init_subclass__", "__subclasshook__"})
_TRY_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


# -- where modules live ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Located:
    """A module found on the search roots: its source (None for an extension module or a
    namespace package), its stub, and the folders its submodules are searched in."""

    name: str
    source: Optional[str]
    stub: Optional[str]
    folders: Tuple[str, ...]


def search_roots(path: str) -> Tuple[str, ...]:
    """Where the analysed file's imports are searched: its project (the folder above its
    top package, and its own folder for a script) before ``sys.path``."""
    roots: List[str] = []
    if path and os.path.isfile(path):
        folder = os.path.dirname(os.path.abspath(path))
        roots.append(folder)
        top = folder
        while os.path.isfile(os.path.join(top, "__init__.py")):
            top = os.path.dirname(top)
        if top != folder:
            roots.insert(0, top)
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            absolute = os.path.abspath(entry)
            if absolute not in roots:
                roots.append(absolute)
    return tuple(roots)


def module_of(path: str) -> str:
    """The dotted name of the analysed file (its ``__init__.py`` chain), for relative imports."""
    folder, filename = os.path.split(os.path.abspath(path))
    stem = os.path.splitext(filename)[0]
    parts = [] if stem == "__init__" else [stem]
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, package = os.path.split(folder)
        if not package:
            break
        parts.insert(0, package)
    return ".".join(parts)


_LOCATED: Dict[Tuple[str, Tuple[str, ...]], Optional[Located]] = {}


def locate(name: str, roots: Sequence[str]) -> Optional[Located]:
    """The module ``name`` (dotted) as Python's path finder would find it, or None."""
    key = (name, tuple(roots))
    if key not in _LOCATED:
        _LOCATED[key] = _locate(name, tuple(roots))
    return _LOCATED[key]


def _locate(name: str, roots: Tuple[str, ...]) -> Optional[Located]:
    parent, _, last = name.rpartition(".")
    if parent:
        outer = locate(parent, roots)
        if outer is None or not outer.folders:
            return None  # not found, or a plain module: it has no submodules
        folders: Sequence[str] = outer.folders
    else:
        folders = roots
    portions: List[str] = []
    for folder in folders:
        package = os.path.join(folder, last)
        if os.path.isdir(package):
            init = _file_in(package, "__init__")
            if init is not None:
                return Located(name, init[0], init[1], (package,))
        module = _file_in(folder, last)
        if module is not None:
            return Located(name, module[0], module[1], ())
        if os.path.isdir(package):
            portions.append(package)
    if portions:  # a namespace package: all its portions, no code of its own
        return Located(name, None, None, tuple(portions))
    return None


def _file_in(folder: str, stem: str) -> Optional[Tuple[Optional[str], Optional[str]]]:
    """(source, stub) of module ``stem`` in ``folder``: an extension module hides the
    ``.py`` (the finder tries it first), and then only a stub can say what it defines."""
    stub = os.path.join(folder, stem + ".pyi")
    stub_found = stub if os.path.isfile(stub) else None
    if any(os.path.isfile(os.path.join(folder, stem + suffix)) for suffix in EXTENSION_SUFFIXES):
        return None, stub_found
    source = os.path.join(folder, stem + ".py")
    if os.path.isfile(source):
        return source, stub_found
    if stub_found:
        return None, stub_found
    return None


# -- parsed modules ----------------------------------------------------------------------

@dataclasses.dataclass(eq=False)
class ModuleInfo:
    """One parsed file: its top-level bindings, the runtime path only (a ``try`` body that
    imports, not its ``except ImportError`` fallback)."""

    name: str  # dotted
    path: str
    is_stub: bool
    is_package: bool
    roots: Tuple[str, ...]
    tree: ast.Module
    bindings: Dict[str, List[ast.AST]]
    star_imports: List[ast.ImportFrom]
    # ``sys.modules[__name__] = other``: importing it gives ``other`` (the dotted name of
    # an imported module), or something not known ("": another object, or a swap that
    # may not run)
    replaced_by: Optional[str] = None

    def absolute(self, module: Optional[str], level: int) -> Optional[str]:
        """The dotted name that ``from <level dots><module> import`` means here."""
        package = self.name.split(".") if self.is_package else self.name.split(".")[:-1]
        return _relative(package, module, level)


def _relative(package: List[str], module: Optional[str], level: int) -> Optional[str]:
    """``module`` imported with ``level`` leading dots from inside ``package`` (its parts)."""
    if level == 0:
        return module
    if level - 1 >= len(package):
        return None
    base = package[:len(package) - (level - 1)]
    return ".".join(base + ([module] if module else []))


_PARSED: Dict[str, Optional[ModuleInfo]] = {}


def forget_parsed() -> None:
    """Drop the modules read so far. The flake8 plugin does after each file: kept for the
    life of a flake8 process, their trees (200,000 objects on PyTorch) are scanned by every
    full collection of the garbage collector in flake8's own work - 16 CPU-s over PyTorch,
    where reading them again for the next file that asks costs too little to measure."""
    _PARSED.clear()


# the files read for the analysis under way (see consulted_files): what its result depends on
_CONSULTED: List[set] = []


@contextlib.contextmanager
def consulted_files() -> Iterator[set]:
    """Collects the files whose text the answers given meanwhile came from (cached or
    not): a result kept for later is stale when one of them changes."""
    found: set = set()
    _CONSULTED.append(found)
    try:
        yield found
    finally:
        _CONSULTED.remove(found)


Stamp = Tuple[str, int, int]


def stamps(paths) -> Tuple[Stamp, ...]:
    """(path, modification time, size) of each file, to tell later whether it changed."""
    return tuple(sorted(_stamp(p) for p in paths))


def _stamp(path: str) -> Stamp:
    try:
        status = os.stat(path)
    except OSError:
        return (path, -1, -1)
    return (path, status.st_mtime_ns, status.st_size)


def unchanged(recorded: Sequence[Stamp]) -> bool:
    return all(_stamp(stamp[0]) == tuple(stamp) for stamp in recorded)


def _parse(located: Located, roots: Tuple[str, ...], want_bodies: bool) -> Optional[ModuleInfo]:
    """The module's parse: its source, or (for what classes define) its stub."""
    path = located.source if located.source is not None or want_bodies else located.stub
    if path is None:
        return None
    key = path + "\0" + "\0".join(roots)
    for consulted in _CONSULTED:
        consulted.add(path)
    if key not in _PARSED:
        _PARSED[key] = _read(located, path, roots)
    return _PARSED[key]


def _read(located: Located, path: str, roots: Tuple[str, ...]) -> Optional[ModuleInfo]:
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    bindings: Dict[str, List[ast.AST]] = {}
    stars: List[ast.ImportFrom] = []
    conditional: set = set()
    replaced_by: Optional[str] = None
    for statement in _runtime_statements(tree.body, conditional):
        if isinstance(statement, ast.ImportFrom) and statement.names[0].name == "*":
            stars.append(statement)
            continue
        if _replaces_itself(statement):  # (where it may not run, what holds is not known)
            replaced_by = "" if statement in conditional else _imported_module(
                statement.value, bindings)  # type: ignore[attr-defined]
        for name, node in _bound_by(statement):
            if statement in conditional:
                bindings.setdefault(name, []).append(node)
            else:  # runs for sure, after every binding before it: it holds at the end
                bindings[name] = [node]
    stem = os.path.splitext(os.path.basename(path))[0]
    return ModuleInfo(located.name, path, path.endswith(".pyi"), stem == "__init__", roots, tree,
                      bindings, stars, replaced_by)


def _replaces_itself(statement: ast.stmt) -> bool:
    """``sys.modules[__name__] = ...`` (Python 3.13's ``collections/abc.py``, lazy modules)."""
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        return False
    target = statement.targets[0]
    return (isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Name)
            and target.slice.id == "__name__" and isinstance(target.value, ast.Attribute)
            and target.value.attr == "modules" and isinstance(target.value.value, ast.Name)
            and target.value.value.id == "sys")


def _imported_module(value: ast.expr, bindings: Dict[str, List[ast.AST]]) -> str:
    """The dotted name of the module a plain ``import`` bound to the name ``value``; ""
    for anything else (an instance of a lazy-module class: its members are not known)."""
    nodes = bindings.get(value.id, []) if isinstance(value, ast.Name) else []
    if len(nodes) == 1 and isinstance(nodes[0], ast.Import):
        name = value.id  # type: ignore[attr-defined]
        for alias in nodes[0].names:
            if alias.asname == name or alias.asname is None and alias.name == name:
                return alias.name
    return ""


def _runtime_statements(body: Sequence[ast.stmt], conditions: Optional[set] = None):
    """The statements of a body that run, flattening ``if`` / ``try`` / ``with``: both arms
    of an ``if``, a ``try`` without its ``except ImportError`` fallback (the import is taken
    to work, as it does where the code runs). ``conditions`` collects the statements that
    may not run (in an ``if`` arm or an exception handler)."""
    stack = [(s, False) for s in reversed(body)]
    while stack:
        statement, conditional = stack.pop()
        if conditional and conditions is not None:
            conditions.add(statement)
        if isinstance(statement, ast.If):
            arms = statement.orelse if _is_type_checking(statement.test) else statement.body + statement.orelse
            stack.extend((s, True) for s in reversed(arms))
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            handlers = [h for h in statement.handlers if not _catches_import_error(h)]
            stack.extend((s, True) for h in reversed(handlers) for s in reversed(h.body))
            inner = statement.body + statement.orelse + statement.finalbody
            stack.extend((s, conditional) for s in reversed(inner))
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            stack.extend((s, conditional) for s in reversed(statement.body))
        else:
            yield statement


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return bool(kinds) and all(isinstance(k, ast.Name) and k.id in _TRY_IMPORT_ERRORS for k in kinds)


def _bound_by(statement: ast.stmt):
    """(name, binding statement or alias) for each name a statement binds."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield statement.name, statement
    elif isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            yield (alias.asname or alias.name.split(".")[0]), statement
    elif isinstance(statement, ast.Assign):
        for target in statement.targets:
            for name in _target_names(target):
                yield name, statement
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        if isinstance(statement.target, ast.Name) and (
                isinstance(statement, ast.AugAssign) or statement.value is not None):
            yield statement.target.id, statement
    elif isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
        for inner in ast.walk(statement):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                yield inner.id, statement
    elif isinstance(statement, ast.Delete):
        for target in statement.targets:
            for name in _target_names(target):
                yield name, statement


def _target_names(target: ast.AST):
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


# -- classes and functions ---------------------------------------------------------------

@dataclasses.dataclass(eq=False)
class ClassInfo:
    """What one class defines in its own body. ``bases`` are resolved on demand: None
    marks one that cannot be known."""

    qualname: str  # module.Class
    names: FrozenSet[str]  # bound in the body: methods, properties, class attributes
    declared: FrozenSet[str]  # annotated without a value (in a stub: may be a class attribute)
    instance_attributes: FrozenSet[str]  # ``self.x = ...`` in its methods
    methods: Dict[str, ast.FunctionDef]
    module: Optional[ModuleInfo]
    node: Optional[ast.ClassDef]
    runtime: Optional[type] = None  # a builtin type: read from the running interpreter
    _bases: Optional[List[Optional["ClassInfo"]]] = None
    _metaclass: Union[None, "ClassInfo", bool] = False  # False: not looked up yet; None: unknown

    @property
    def bases(self) -> List[Optional["ClassInfo"]]:
        if self._bases is None:
            if self.runtime is not None:
                self._bases = [_builtin_type(b) for b in self.runtime.__bases__]
            else:
                try:
                    self._bases = [_resolve_class(self.module, b, 0) for b in self.node.bases] or [
                        builtin_class("object")]  # type: ignore[union-attr]
                except (Exception, RecursionError):  # noqa: B902 - see imported_target
                    self._bases = [None]
        return self._bases

    def defines(self, name: str) -> bool:
        """Bound in the body; in a stub, an annotation may stand for a class attribute too."""
        return name in self.names or (self.module is not None and self.module.is_stub and name in self.declared)

    @property
    def metaclass_expression(self) -> Optional[ast.expr]:
        if self.node is None:
            return None
        for keyword in self.node.keywords:
            if keyword.arg == "metaclass":
                return keyword.value
        return None

    @property
    def metaclass(self) -> Optional["ClassInfo"]:
        """The metaclass its own header names (``type`` when it names none), None if unknown."""
        if self._metaclass is False and self.runtime is not None:
            self._metaclass = _builtin_type(type(self.runtime))
        if self._metaclass is False:
            expression = self.metaclass_expression
            try:
                self._metaclass = builtin_class("type") if expression is None else _resolve_class(
                    self.module, expression, 0)
            except (Exception, RecursionError):  # noqa: B902 - see imported_target
                self._metaclass = None
        return self._metaclass  # type: ignore[return-value]


@dataclasses.dataclass(eq=False)
class FunctionInfo:
    node: Union[ast.FunctionDef, ast.AsyncFunctionDef]
    module: ModuleInfo


def _class_info(module: ModuleInfo, node: ast.ClassDef) -> ClassInfo:
    names, declared, methods = set(), set(), {}
    for statement in _runtime_statements(node.body):
        if isinstance(statement, ast.AnnAssign) and statement.value is None and isinstance(statement.target, ast.Name):
            declared.add(statement.target.id)
            continue
        for name, _ in _bound_by(statement):
            names.add(name)
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods[statement.name] = statement
    return ClassInfo(f"{module.name}.{node.name}", frozenset(names), frozenset(declared),
                     frozenset(_instance_attributes(methods.values())), methods, module, node)


def _instance_attributes(methods) -> set:
    found = set()
    for method in methods:
        args = method.args.posonlyargs + method.args.args
        if not args or any(decorator_name(d) == "staticmethod" for d in method.decorator_list):
            continue
        me = args[0].arg
        for node in ast.walk(method):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and \
                    isinstance(node.value, ast.Name) and node.value.id == me:
                found.add(node.attr)
    return found


_BUILTIN_CLASSES: Dict[str, Optional[ClassInfo]] = {}


def builtin_class(name: str) -> Optional[ClassInfo]:
    """A class of the ``builtins`` module, from the running interpreter's own type."""
    if name not in _BUILTIN_CLASSES:
        kind = getattr(builtins, name, None)
        if not isinstance(kind, type):
            _BUILTIN_CLASSES[name] = None
        else:
            names = frozenset() if kind is object else frozenset(vars(kind)) - _STANDARD_HOOKS
            _BUILTIN_CLASSES[name] = ClassInfo(f"builtins.{name}", names, frozenset(), frozenset(), {},
                                               None, None, runtime=kind)
    return _BUILTIN_CLASSES[name]


def _builtin_type(kind: type) -> Optional[ClassInfo]:
    return builtin_class(kind.__name__) if getattr(builtins, kind.__name__, None) is kind else None


# -- resolving names ---------------------------------------------------------------------

Found = Union[ClassInfo, FunctionInfo, ModuleInfo, Located]


def find(dotted: str, roots: Sequence[str], want_bodies: bool = False) -> Optional[Found]:
    """The class, function or module that the absolute dotted name ``dotted`` means;
    ``want_bodies``: read sources only (a stub has no function bodies)."""
    return _find(dotted, tuple(roots), want_bodies, 0)


def _find(dotted: str, roots: Tuple[str, ...], want_bodies: bool, hops: int) -> Optional[Found]:
    if hops > _MAX_HOPS or not dotted:
        return None
    parts = dotted.split(".")
    if len(parts) == 2 and parts[0] == "builtins":
        return builtin_class(parts[1])
    for cut in range(len(parts), 0, -1):  # the longest prefix that is a module
        located = locate(".".join(parts[:cut]), roots)
        if located is None:
            continue
        found: Optional[Found] = _module_or_namespace(located, roots, want_bodies, hops)
        for attribute in parts[cut:]:
            if found is None:
                return None
            found = _member(found, attribute, roots, want_bodies, hops + 1)
        return found
    return None


def _module_or_namespace(located: Located, roots, want_bodies, hops: int = 0) -> Optional[Found]:
    if located.source is None and located.stub is None:
        return located if located.folders else None
    module = _parse(located, roots, want_bodies)
    if module is not None and module.replaced_by is not None:  # what importing it gives
        return _find(module.replaced_by, roots, want_bodies, hops + 1) if module.replaced_by else None
    return module


def _member(found: Found, name: str, roots, want_bodies: bool, hops: int) -> Optional[Found]:
    """``found.name``: a binding of a module (or a submodule), a class's nested class."""
    if isinstance(found, Located):  # a namespace package: only submodules
        sub = locate(f"{found.name}.{name}", roots)
        return None if sub is None else _module_or_namespace(sub, roots, want_bodies, hops)
    if isinstance(found, ModuleInfo):
        return _module_member(found, name, want_bodies, hops)
    return None


def _module_member(module: ModuleInfo, name: str, want_bodies: bool, hops: int) -> Optional[Found]:
    if hops > _MAX_HOPS:
        return None
    nodes = module.bindings.get(name, [])
    if len(nodes) > 1:
        return None  # bound twice: which one holds is not known
    if nodes:
        return _binding_value(module, name, nodes[0], want_bodies, hops)
    if module.is_package:  # a submodule reached as an attribute of its package
        sub = locate(f"{module.name}.{name}", module.roots)
        if sub is not None:
            return _module_or_namespace(sub, module.roots, want_bodies, hops)
    for star in module.star_imports:
        origin = module.absolute(star.module, star.level)
        source = _find(origin, module.roots, want_bodies, hops + 1) if origin else None
        if isinstance(source, ModuleInfo) and not name.startswith("_"):
            found = _module_member(source, name, want_bodies, hops + 1)
            if found is not None:
                return found
    return None


def _binding_value(module: ModuleInfo, name: str, node: ast.AST, want_bodies: bool, hops: int) -> Optional[Found]:
    if isinstance(node, ast.ClassDef):
        return _class_info(module, node)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return FunctionInfo(node, module)
    if isinstance(node, ast.ImportFrom):
        alias = next(a for a in node.names if (a.asname or a.name) == name)
        origin = module.absolute(node.module, node.level)
        if origin is None:
            return None
        return _find(f"{origin}.{alias.name}", module.roots, want_bodies, hops + 1)
    if isinstance(node, ast.Import):
        alias = next(a for a in node.names if (a.asname or a.name.split(".")[0]) == name)
        target = alias.name if alias.asname else alias.name.split(".")[0]
        return _find(target, module.roots, want_bodies, hops + 1)
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return _resolve_expression(module, node.value, want_bodies, hops + 1)
    return None


def _resolve_expression(module: Optional[ModuleInfo], expr: ast.expr, want_bodies: bool, hops: int) -> Optional[Found]:
    """What a name or dotted attribute in ``module`` names (``Generic[T]``: ``Generic``)."""
    if module is None or hops > _MAX_HOPS:
        return None
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    path: List[str] = []
    while isinstance(expr, ast.Attribute):
        path.insert(0, expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    if expr.id in module.bindings or module.star_imports:
        found = _module_member(module, expr.id, want_bodies, hops)
    else:
        found = builtin_class(expr.id)
    for attribute in path:
        if found is None:
            return None
        found = _member(found, attribute, module.roots, want_bodies, hops + 1)
    return found


def _resolve_class(module: Optional[ModuleInfo], expr: ast.expr, hops: int) -> Optional[ClassInfo]:
    found = _resolve_expression(module, expr, False, hops)
    return found if isinstance(found, ClassInfo) else None


def find_class(dotted: str, roots: Sequence[str]) -> Optional[ClassInfo]:
    found = find(dotted, roots)
    return found if isinstance(found, ClassInfo) else None


def find_function(dotted: str, roots: Sequence[str]) -> Optional[FunctionInfo]:
    found = find(dotted, roots, want_bodies=True)
    return found if isinstance(found, FunctionInfo) else None


def lineage(cls: ClassInfo) -> Optional[List[ClassInfo]]:
    """The class and all its bases (each once, depth first); None if any is unknown."""
    order: List[ClassInfo] = []
    stack: List[Optional[ClassInfo]] = [cls]
    while stack:
        current = stack.pop()
        if current is None or len(order) > 200:
            return None
        if any(current is c for c in order):
            continue
        order.append(current)
        stack.extend(reversed(current.bases))
    return order


def absolute_import(dotted: str, importer_path: str) -> Optional[str]:
    """A name as the analysed file imported it (relative ones keep their dots) made absolute."""
    level = len(dotted) - len(dotted.lstrip("."))
    if not level:
        return dotted
    if not importer_path:
        return None
    package = module_of(importer_path).split(".")
    if os.path.basename(importer_path) != "__init__.py":
        package = package[:-1]
    return _relative(package, dotted[level:] or None, level)


# -- what function bodies do -------------------------------------------------------------

CallTest = Callable[[ast.Call], bool]


def calls_through(function: Union[ast.FunctionDef, ast.AsyncFunctionDef], called: bool) -> bool:
    """A decorator (``called``: a decorator factory, ``@deco(...)``) whose result calls the
    decorated function on every path before it can return or raise, or hands the function
    back itself: a self-call through it still runs the body. A wrapper that may return
    without calling (a re-entry guard such as ``reprlib.recursive_repr``, a cache lookup)
    or whose result is not a ``def`` seen here does not."""
    if called:
        inner = _returned_function(function)
        if inner is None:
            return False
        function = inner
    params = function.args.posonlyargs + function.args.args
    if len(params) != 1 or function.args.vararg or function.args.kwonlyargs:
        return False
    wrapped = params[0].arg
    returned = _returned_value(function)
    if isinstance(returned, ast.Name) and returned.id == wrapped:
        return True  # the function itself (a registration)
    wrapper = _returned_function(function)
    if wrapper is None or any(decorator_name(d) not in ("wraps", "update_wrapper") for d in wrapper.decorator_list):
        return False
    return surely_calls(wrapper.body, lambda call: isinstance(call.func, ast.Name) and call.func.id == wrapped)


def _returns(function: ast.AST) -> List[ast.Return]:
    found, stack = [], list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _returned_value(function: ast.AST) -> Optional[ast.expr]:
    """What the function returns, when every ``return`` returns the same name and the
    body does not end without one."""
    returns = _returns(function)
    body = getattr(function, "body", [])
    if not returns or not body or not isinstance(body[-1], ast.Return):
        return None
    values = [r.value for r in returns]
    if all(isinstance(v, ast.Name) for v in values) and len({v.id for v in values}) == 1:  # type: ignore[union-attr]
        return values[0]
    if len(values) == 1 and isinstance(values[0], ast.Call) and values[0].args:
        # functools.wraps(f)(wrapper) / update_wrapper(wrapper, f)
        call = values[0]
        if decorator_name(call.func) == "update_wrapper" and isinstance(call.args[0], ast.Name):
            return call.args[0]
        if isinstance(call.func, ast.Call) and decorator_name(call.func.func) == "wraps" \
                and isinstance(call.args[0], ast.Name):
            return call.args[0]
    return None


def _returned_function(function: ast.AST) -> Optional[ast.FunctionDef]:
    """The nested ``def`` the function returns (defined once, in its own body)."""
    returned = _returned_value(function)
    if not isinstance(returned, ast.Name):
        return None
    defined = [s for s in getattr(function, "body", []) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
               and s.name == returned.id]
    if len(defined) != 1:
        return None
    bound_again = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == returned.id
                   and isinstance(n.ctx, (ast.Store, ast.Del))]
    return None if bound_again else defined[0]  # type: ignore[return-value]


def surely_calls(body: Sequence[ast.stmt], is_call: CallTest) -> bool:
    """Every path through ``body`` makes a call that ``is_call`` accepts before it can
    leave (``return``, ``raise``, ``break``, ``continue``). A loop counts when it surely
    runs its body once: ``while True`` and ``for ... in range(...)`` (a retry loop: a
    count of zero would never call the function at all)."""
    for statement in body:
        verdict = _statement_calls(statement, is_call)
        if verdict is True:
            return True
        if verdict is None:
            return False
    return False


def _statement_calls(statement: ast.stmt, is_call: CallTest) -> Optional[bool]:
    """True: surely calls; False: does not, and goes on to the next statement; None: may
    leave (or do something not followed) first."""
    if isinstance(statement, ast.If):
        if _expression_calls(statement.test, is_call):
            return True
        if surely_calls(statement.body, is_call) and surely_calls(statement.orelse, is_call):
            return True
        return None if _may_leave(statement) else False
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        if any(_expression_calls(item.context_expr, is_call) for item in statement.items):
            return True
        return True if surely_calls(statement.body, is_call) else (None if _may_leave(statement) else False)
    if isinstance(statement, ast.Try):
        if surely_calls(statement.body, is_call):
            return True
        return None if _may_leave(statement) else False
    if isinstance(statement, ast.While):
        if isinstance(statement.test, ast.Constant) and statement.test.value and surely_calls(statement.body, is_call):
            return True
        return None if _may_leave(statement) or _contains_call(statement, is_call) else False
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        if isinstance(statement.iter, ast.Call) and isinstance(statement.iter.func, ast.Name) \
                and statement.iter.func.id == "range" and surely_calls(statement.body, is_call):
            return True
        return None if _may_leave(statement) or _contains_call(statement, is_call) else False
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return None if statement.decorator_list else False
    if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return)):
        if statement.value is not None and _expression_calls(statement.value, is_call):
            return True
        return None if isinstance(statement, ast.Return) else False
    if isinstance(statement, (ast.Pass, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Assert)):
        return False
    return None  # raise, break, continue, match, del...: not followed


def _may_leave(statement: ast.stmt) -> bool:
    stack: List[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Return, ast.Raise, ast.Break, ast.Continue)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)) or node is statement:
            stack.extend(ast.iter_child_nodes(node))
    return False


def _contains_call(node: ast.AST, is_call: CallTest) -> bool:
    return any(isinstance(n, ast.Call) and is_call(n) for n in ast.walk(node))


def _expression_calls(expr: ast.expr, is_call: CallTest) -> bool:
    """The expression surely makes the call when evaluated (not in a lambda, a
    comprehension, a branch of ``x if c else y`` or a later operand of ``and`` / ``or``)."""
    stack: List[ast.AST] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call) and is_call(node):
            return True
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.IfExp):
            stack.append(node.test)
        elif isinstance(node, ast.BoolOp):
            stack.append(node.values[0])
        else:
            stack.extend(ast.iter_child_nodes(node))
    return False


# -- the analysed module's view ----------------------------------------------------------

_ROOTS: Dict[str, Tuple[str, ...]] = {}


def roots_of(path: str) -> Tuple[str, ...]:
    if path not in _ROOTS:
        _ROOTS[path] = search_roots(path)
    return _ROOTS[path]


def imported_target(facts, dotted: Optional[str], function=None, want_bodies: bool = False) -> Optional[Found]:
    """What a dotted name used in the analysed module (``ABC``, ``nn.Module``,
    ``reprlib.recursive_repr``) means when its head is a top-level import or a builtin;
    ``facts`` is the module's :class:`~backprop_lint.facts.ModuleFacts`. Whatever goes
    wrong reading other code (an odd file, a tree too deep) makes the answer unknown: it
    must not cost the analysed file its findings."""
    try:
        return _imported_target(facts, dotted, function, want_bodies)
    except (Exception, RecursionError):  # noqa: B902 - unknown, never an error of this file
        return None


def _imported_target(facts, dotted: Optional[str], function, want_bodies: bool) -> Optional[Found]:
    if not dotted:
        return None
    head = dotted.split(".", 1)[0]
    scopes = [facts.module_scope]
    while function is not None:
        scopes.append(function.scope)
        function = function.parent
    if any(head in scope.bindings for scope in scopes[1:]):
        return None  # a local name of an enclosing function
    if head in facts.imports:
        if len(facts.module_scope.bindings.get(head, ())) != 1:
            return None  # imported, then rebound (or imported twice)
        absolute = absolute_import(facts.absolute(dotted), facts.path)
        return find(absolute, roots_of(facts.path), want_bodies) if absolute else None
    if "." not in dotted and head not in facts.module_scope.bindings:
        return builtin_class(head)
    return None


@dataclasses.dataclass
class Inherited:
    """What a class of the analysed module inherits from classes defined elsewhere:
    ``known`` when every base, on every level, was found."""

    known: bool
    classes: List[ClassInfo]

    def defines(self, name: str) -> bool:
        return any(c.defines(name) for c in self.classes)

    def defines_outside_builtins(self, name: str) -> bool:
        return any(c.defines(name) for c in self.classes if c.runtime is None)

    @property
    def instance_attributes(self) -> FrozenSet[str]:
        return frozenset().union(*(c.instance_attributes for c in self.classes))


def inherited(facts, cls) -> Inherited:
    """The classes from elsewhere on the bases of ``cls`` (a ClassFacts of ``facts``),
    looked up only for bases the module itself does not define."""
    cache = facts.__dict__.setdefault("_inherited", {})
    if id(cls) not in cache:
        try:
            cache[id(cls)] = _inherited(facts, cls)
        except (Exception, RecursionError):  # noqa: B902 - see imported_target
            cache[id(cls)] = Inherited(False, [])
    return cache[id(cls)]


def _inherited(facts, cls) -> Inherited:
    classes: List[ClassInfo] = []
    known = True
    for local in facts.mro(cls):
        if local is None:
            continue
        for base in local.bases:
            if base == "object" or (base is not None and facts.base_class(local, base) is not None):
                continue
            found = imported_target(facts, base, local.function)
            line = lineage(found) if isinstance(found, ClassInfo) else None
            if line is None:
                known = False
            else:
                classes.extend(c for c in line if not any(c is k for k in classes))
    return Inherited(known, classes)


def stores_on_instance(function: ast.AST) -> bool:
    """A ``__setattr__`` that may store the normal way (``object.__setattr__``,
    ``super().__setattr__``, ``Base.__setattr__``, the instance's ``__dict__``); one that
    never does keeps its attributes elsewhere (on the class, in a dictionary), and then the
    instance has none that a read could miss."""
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "__setattr__":
                return True
            if node.func.attr in ("update", "setdefault") and _is_instance_dict(node.func.value):
                return True
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and _is_instance_dict(node.value):
            return True
    return False


def _is_instance_dict(expr: ast.expr) -> bool:
    return (isinstance(expr, ast.Attribute) and expr.attr == "__dict__") or (
        isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "vars")


def constructs_on_call(function: ast.AST) -> bool:
    """A metaclass's ``__call__`` that surely goes on to the normal construction
    (``super().__call__(...)`` / ``type.__call__(cls, ...)``) before it can return: one
    that may return something else (a cached instance, a singleton) may never run
    ``__init__``."""
    def is_construction(call: ast.Call) -> bool:
        return isinstance(call.func, ast.Attribute) and call.func.attr == "__call__"
    return surely_calls(getattr(function, "body", []), is_construction)


def metaclass_constructs(classes: Sequence[ClassInfo]) -> bool:
    """Every metaclass these classes name is known and runs the normal construction when
    called."""
    return all(constructs_when_called(cls.metaclass) for cls in classes)


def constructs_when_called(meta: Optional[ClassInfo]) -> bool:
    """Calling a class of this metaclass constructs it normally: the metaclass does not
    define ``__call__``, or its ``__call__`` surely calls through."""
    line = lineage(meta) if meta is not None else None
    if line is None:
        return False
    for owner in line:
        if owner.runtime is None and "__call__" in owner.names:
            method = owner.methods.get("__call__")
            return method is not None and constructs_on_call(method)
    return True
