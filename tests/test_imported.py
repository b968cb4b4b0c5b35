"""imported.py: what imported classes and functions define, read without importing them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from importlib.machinery import EXTENSION_SUFFIXES

from backprop_lint import imported
from backprop_lint.analysis import analyse_source
from conftest import ROOT
from test_cli import run_cli, results, write

STDLIB = imported.search_roots("")


def _names(cls) -> list:
    return [c.qualname for c in imported.lineage(cls)]


# -- the standard library and builtins ------------------------------------------------------
def test_standard_library_classes_are_found_with_their_bases() -> None:
    abc_class = imported.find_class("abc.ABC", STDLIB)
    assert _names(abc_class) == ["abc.ABC", "builtins.object"]
    assert not imported.lineage(abc_class)[0].defines("__str__")
    mapping = imported.find_class("collections.abc.Mapping", STDLIB)  # a star re-export
    if sys.version_info >= (3, 13):
        # collections/abc.py now starts with sys.modules[__name__] = _collections_abc: a
        # module that replaces itself is not followed (unknown, so silent), or is followed
        # to the right class
        assert mapping is None or "_collections_abc.Sized" in _names(mapping)
        mapping = imported.find_class("_collections_abc.Mapping", STDLIB)
    assert "_collections_abc.Sized" in _names(mapping)
    assert any(c.defines("__getitem__") for c in imported.lineage(mapping))
    thread = imported.find_class("threading.Thread", STDLIB)
    assert thread.defines("__repr__") and not thread.defines("__format__")
    assert "_target" in thread.instance_attributes  # set in Thread.__init__


def test_builtins_come_from_the_running_interpreter_without_the_default_hooks() -> None:
    exception = imported.find_class("builtins.Exception", STDLIB)
    assert _names(exception) == ["builtins.Exception", "builtins.BaseException", "builtins.object"]
    assert any(c.defines("__str__") for c in imported.lineage(exception))  # BaseException's
    obj = imported.builtin_class("object")
    assert not obj.defines("__str__") and not obj.defines("__getattribute__")
    assert not imported.builtin_class("dict").defines("__getattribute__")
    assert imported.builtin_class("no_such_builtin") is None


def test_a_name_bound_twice_or_behind_a_c_module_is_unknown() -> None:
    # collections.OrderedDict is replaced by _collections' (a C module, no source)
    assert imported.find("collections.OrderedDict", STDLIB) is None
    # enum.py binds Enum = None first, then defines the class unconditionally: the class
    assert imported.find_class("enum.Enum", STDLIB) is not None


def test_a_module_that_replaces_itself_in_sys_modules_is_what_it_puts_there(tmp_path) -> None:
    """Python 3.13's collections/abc.py: ``import _collections_abc``, then
    ``sys.modules[__name__] = _collections_abc``; importing it gives the other module."""
    write(tmp_path, {
        "_impl.py": "class Mapping:\n    def __getitem__(self, key):\n        pass\n",
        "swapped.py": "import _impl\nimport sys\nclass Mapping:\n    pass\nsys.modules[__name__] = _impl\n",
        "lazy.py": "import sys\nclass Known:\n    pass\nclass _Lazy:\n    pass\n"
                   "sys.modules[__name__] = _Lazy()\n",
        "maybe.py": "import _impl\nimport sys\nclass Known:\n    pass\nif _impl:\n"
                    "    sys.modules[__name__] = _impl\n",
    })
    roots = (str(tmp_path),)
    mapping = imported.find_class("swapped.Mapping", roots)
    assert mapping is not None and mapping.defines("__getitem__")  # _impl's, not its own
    assert imported.find("lazy.Known", roots) is None  # an object whose members are unknown
    assert imported.find("maybe.Known", roots) is None  # the swap may run, or not


# -- packages: stubs, namespace packages, relative imports ------------------------------------
def test_a_stub_beside_an_extension_module_answers_for_its_classes(tmp_path) -> None:
    stub = "class Vec:\n    size: int\n    def norm(self) -> float: ...\n"
    write(tmp_path, {"pkg/__init__.py": "", "pkg/fast.pyi": stub,
                     "pkg/fast.py": "class Vec:\n    pass\n"})
    (tmp_path / "pkg" / f"fast{EXTENSION_SUFFIXES[0]}").write_bytes(b"\x7fELF")
    roots = (str(tmp_path),)
    located = imported.locate("pkg.fast", roots)
    assert located.source is None and located.stub.endswith("fast.pyi")  # the .so hides the .py
    vec = imported.find_class("pkg.fast.Vec", roots)
    assert vec.defines("norm") and vec.defines("size")  # a stub's annotation may be a class attribute
    assert imported.find("pkg.fast.Vec", roots, want_bodies=True) is None  # a stub has no bodies


def test_namespace_packages_join_their_portions_and_a_regular_package_wins(tmp_path) -> None:
    write(tmp_path, {"a/ns/one.py": "class One:\n    pass\n", "b/ns/two.py": "class Two:\n    pass\n",
                     "c/reg/__init__.py": "", "c/reg/mod.py": "class Mod:\n    pass\n",
                     "d/reg/mod.py": "class Other:\n    pass\n"})
    roots = tuple(str(tmp_path / r) for r in ("a", "b", "d", "c"))
    assert imported.find_class("ns.one.One", roots) is not None
    assert imported.find_class("ns.two.Two", roots) is not None
    # d/reg is only a namespace portion: c/reg (with __init__.py) is the package
    assert imported.find_class("reg.mod.Mod", roots) is not None
    assert imported.find("reg.mod.Other", roots) is None


def test_relative_imports_and_aliases_are_followed(tmp_path) -> None:
    write(tmp_path, {"pkg/__init__.py": "from .core import Base as Exported\n",
                     "pkg/core.py": "from ._impl import _Base\nBase = _Base\n",
                     "pkg/_impl.py": "class _Base:\n    default = None\n"})
    found = imported.find_class("pkg.Exported", (str(tmp_path),))
    assert found is not None and found.qualname == "pkg._impl._Base" and found.defines("default")
    assert imported.absolute_import("..core.Base", str(tmp_path / "pkg" / "sub" / "x.py")) is None
    assert imported.absolute_import(".core.Base", str(tmp_path / "pkg" / "x.py")) == "pkg.core.Base"


def test_nothing_is_imported_or_run(tmp_path) -> None:
    """In a fresh interpreter: looking up classes and decorators of a package that would
    leave a mark when imported leaves none, and the package is not in sys.modules."""
    mark = tmp_path / "imported-mark"
    write(tmp_path, {"noisy/__init__.py": f"open({str(mark)!r}, 'w').close()\n",
                     "noisy/parts.py": f"open({str(mark)!r}, 'w').close()\n"
                                       "def deco(f):\n    def w(*a):\n        return f(*a)\n    return w\n"
                                       "class Part:\n    x = 1\n"})
    script = textwrap.dedent(f"""
        import json, sys
        from backprop_lint import imported
        roots = ({str(tmp_path)!r},)
        found = [imported.find_class("noisy.parts.Part", roots) is not None,
                 imported.find_function("noisy.parts.deco", roots) is not None,
                 imported.find_class("threading.Thread", imported.search_roots("")) is not None]
        print(json.dumps([found, [m for m in ("noisy", "noisy.parts") if m in sys.modules],
                          "threading" in sys.modules]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr
    found, loaded, threading_loaded = json.loads(done.stdout)
    assert found == [True, True, True] and loaded == [] and not mark.exists()
    assert not threading_loaded  # the standard library's modules are read, not imported


# -- decorators --------------------------------------------------------------------------------
def _decorator(source: str, called: bool) -> bool:
    node = ast.parse(textwrap.dedent(source)).body[0]
    return imported.calls_through(node, called)


def test_a_wrapper_that_calls_through_on_every_path_keeps_the_call() -> None:
    assert _decorator("""
        def logged(f):
            @functools.wraps(f)
            def wrapper(*a, **k):
                log.debug("call")
                return f(*a, **k)
            return wrapper
    """, called=False)
    assert _decorator("""
        def retry(times):
            def decorate(f):
                def wrapper(*a):
                    for _ in range(times):
                        try:
                            return f(*a)
                        except OSError:
                            pass
                    raise RuntimeError
                return wrapper
            return decorate
    """, called=True)
    assert _decorator("def register(f):\n    REGISTRY.append(f)\n    return f\n", called=False)


def test_a_guard_a_cache_or_an_unknown_result_does_not() -> None:
    assert not _decorator("""
        def guard(f):
            busy = set()
            def wrapper(self):
                if id(self) in busy:
                    return "..."
                return f(self)
            return wrapper
    """, called=False)
    assert not _decorator("def opaque(f):\n    return make_wrapper(f)\n", called=False)
    assert not _decorator("""
        def sometimes(f):
            def wrapper(*a):
                return f(*a) if ENABLED else None
            return wrapper
    """, called=False)
    # a factory used without its call: the parameter is not the function
    assert not _decorator("""
        def deprecated(message):
            def decorate(f):
                def wrapper(*a):
                    return f(*a)
                return wrapper
            return decorate
    """, called=False)


# -- both front ends, and the command's cache ---------------------------------------------------
_BASE = "class Base:\n    def __init__(self, inner):\n        self._inner = inner\n"
_PROXY = ("from base import Base\n\n\nclass Proxy(Base):\n"
          "    def __getattr__(self, name):\n        return getattr(self._inner, name)\n")


def test_the_plugin_and_the_command_read_the_same_base(tmp_path) -> None:
    write(tmp_path, {"base.py": _BASE, "proxy.py": _PROXY})
    path = str(tmp_path / "proxy.py")
    assert [(f.line, f.code) for f in analyse_source(_PROXY, path=path)] == [(5, "BPL105")]
    assert analyse_source(_PROXY) == []  # where the file lives is unknown: so is its base
    result = run_cli("--isolated", "--no-cache", ".", cwd=tmp_path)
    assert results(result) == [("proxy.py", 5, 5, "BPL105")]


def test_a_cached_result_is_stale_when_a_base_it_read_changes(tmp_path) -> None:
    project, cache = tmp_path / "project", tmp_path / "cache"
    write(project, {"base.py": _BASE, "proxy.py": _PROXY})
    first = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert results(first) == [("proxy.py", 5, 5, "BPL105")]
    write(project, {"base.py": "class Base:\n    _inner = None\n\n    def __init__(self, inner):\n"
                               "        self._inner = inner\n"})
    second = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert results(second) == []  # a class attribute now: the read never misses
