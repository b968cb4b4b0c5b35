"""The screen's proof that a recursion ends (ending.py) against the full analysis.

The proof lets the screen leave a cycle's bodies out of what libcst parses: it must never
clear a function the full analysis would report as BPL101, BPL102 or BPL103. Each case
below is checked both ways - what the proof says, and the screened analysis equal to the
unscreened one - and random recursive functions check the same on many shapes.
"""

from __future__ import annotations

import ast
import random
import sys
import textwrap
from typing import Any, Callable, List, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_lint.analysis import Options, analyse_source
from backprop_lint.ending import recursion_ends
from backprop_lint.screen import screen_file


def _codes(source: str, screen: bool) -> List[tuple]:
    return [(f.line, f.code, f.message) for f in analyse_source(source, Options(screen=screen))]


def _analysed_alone(source: str) -> bool:
    """Whether the screen sends the file to the analysis, as flake8's plugin runs it."""
    return screen_file(ast.parse(source), Options().backward_functions, linking=False).local


def _cleared(source: str) -> bool:
    """Whether the proof clears ``f`` as a self-recursion (calls named ``f`` on the cycle)."""
    tree = ast.parse(source)
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "f")
    receiver = function.args.args[0].arg if function.args.args and function.args.args[0].arg == "self" else None

    def on_cycle(call: ast.Call) -> bool:
        return "f" in (getattr(call.func, "id", None), getattr(call.func, "attr", None))
    return recursion_ends(function, receiver, on_cycle)


def _kept(source: str) -> bool:
    """Whether the screen still sends ``f``'s body to libcst for BPL1xx."""
    result = screen_file(ast.parse(source))
    if not result.local:
        return False
    names = [name for name, _, _ in result.bodies]
    return names.index("f") in result.keep


ENDING = {
    "base case on a parameter the call changes": """
        def f(n):
            if n == 0:
                return 0
            return f(n - 1) + 1
    """,
    "walk over children behind the loop": """
        def f(node):
            total = node.value
            for child in node.children:
                total += f(child)
            return total
    """,
    "descends behind a test of its argument": """
        def f(tree):
            if isinstance(tree, list):
                return [f(x) for x in tree]
            return tree
    """,
    "the test calls something unknown": """
        def f(self, n):
            if self.done():
                return
            self.f(n)
    """,
    "short-circuit guard": """
        def f(node):
            return node is not None and f(node.parent)
    """,
    "conditional expression": """
        def f(n):
            return 1 if n <= 1 else n * f(n - 1)
    """,
    "exit through a try body, finally plain": """
        def f(n):
            try:
                if n > 3:
                    return f(n - 1)
            finally:
                log = 1
    """,
}

REPORTED = {
    "no base case": ("BPL101", """
        def f(n):
            return f(n - 1)
    """),
    "guard reads what the call passes on": ("BPL102", """
        def f(n):
            if n == 0:
                return 0
            return f(n)
    """),
    "guard reads only the receiver's state": ("BPL102", """
        class A:
            def f(self):
                if self.ready:
                    return 1
                return self.f()
    """),
    "guard of a pure builtin of what is passed on": ("BPL102", """
        def f(items):
            if len(items) == 0:
                return
            f(items)
    """),
    "passed on by keyword": ("BPL102", """
        def f(n, m):
            if n == 0:
                return
            f(m=m + 1, n=n)
    """),
    "passed on through *args": ("BPL102", """
        def f(*args):
            if not args:
                return
            f(*args)
    """),
    "the only exit is behind the self-call": ("BPL101", """
        def f(n):
            f(n - 1)
            if n == 0:
                return
    """),
    "while True around the call": ("BPL101", """
        def f(n):
            while True:
                f(n - 1)
    """),
    "loop over a non-empty literal": ("BPL101", """
        def f(n):
            for k in (1, 2):
                f(n - k)
    """),
    "the call in the test itself": ("BPL101", """
        def f(n):
            if f(n - 1):
                return 1
            return 0
    """),
    "a finally that runs the call": ("BPL101", """
        def f(n):
            try:
                return n
            finally:
                f(n - 1)
    """),
    "mutual recursion without a base case": ("BPL103", """
        def f(n):
            return g(n + 1)

        def g(n):
            return f(n - 1)
    """),
    "mutual recursion passing everything on": ("BPL103", """
        def f(n):
            if n == 0:
                return
            g(n)

        def g(n):
            f(n)
    """),
}


@pytest.mark.parametrize("source", ENDING.values(), ids=list(ENDING))
def test_a_recursion_that_ends_is_cleared_and_nothing_is_lost(source: str) -> None:
    source = textwrap.dedent(source)
    assert _cleared(source)
    assert not _kept(source)
    assert _codes(source, screen=False) == []
    assert _codes(source, screen=True) == []


@pytest.mark.parametrize("code, source", REPORTED.values(), ids=list(REPORTED))
def test_a_recursion_reported_is_never_cleared(code: str, source: str) -> None:
    source = textwrap.dedent(source)
    found = _codes(source, screen=False)
    assert [c for _, c, _ in found] == [code]
    assert _kept(source)
    assert _codes(source, screen=True) == found


# -- cycles judged as a whole --------------------------------------------------------------
# A cycle ends when its functions without a way out form no cycle among themselves and its
# calls without a block form none; its calls resolved as the analysis resolves them.
CYCLES_ENDING = {
    "a dispatcher without a way out, its callee with one": """
        def parse(tokens):
            return parse_list(tokens)

        def parse_list(tokens):
            if not tokens:
                return []
            return [parse(tokens[1:])]
    """,
    "the override calls the base class's method": """
        class Base:
            def setup(self):
                return 1

        class Child(Base):
            def setup(self):
                log(self)
                return Base.setup(self) + 1
    """,
    "a name the function imports itself": """
        def cache_dir():
            from helpers import cache_dir
            return cache_dir()
    """,
}

CYCLES_REPORTED = {
    # each near miss differs from its cycle that ends in one call
    "the callee passes on what its guard reads": ("BPL103", CYCLES_ENDING[
        "a dispatcher without a way out, its callee with one"].replace("tokens[1:]", "tokens")),
    "the override calls its own class's method": ("BPL101", CYCLES_ENDING[
        "the override calls the base class's method"].replace("Base.setup(self)", "Child.setup(self)")),
    "a template method the subclass completes": ("BPL103", """
        class Base:
            def run(self):
                return self.step()

        class Child(Base):
            def step(self):
                return self.run()
    """),
    "the function imports something else": ("BPL101", """
        def cache_dir():
            import helpers
            return cache_dir()
    """),
}


@pytest.mark.parametrize("source", CYCLES_ENDING.values(), ids=list(CYCLES_ENDING))
def test_a_cycle_that_ends_as_a_whole_is_cleared(source: str) -> None:
    source = textwrap.dedent(source)
    assert not _analysed_alone(source)
    assert _codes(source, screen=False) == []


@pytest.mark.parametrize("code, source", CYCLES_REPORTED.values(), ids=list(CYCLES_REPORTED))
def test_a_cycle_reported_as_a_whole_is_kept(code: str, source: str) -> None:
    source = textwrap.dedent(source)
    found = _codes(source, screen=False)
    assert [c for _, c, _ in found] == [code]
    assert _analysed_alone(source)
    assert _codes(source, screen=True) == found


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match statements need Python 3.10")
def test_a_mapping_pattern_binds_its_rest_in_the_function() -> None:
    """``case {**settings}`` makes ``settings`` a name of the function: no self-call."""
    source = ("def settings(d):\n    match d:\n        case {**settings}:\n            pass\n"
              "    return settings(d)\n")
    assert _codes(source, screen=False) == []
    assert not _analysed_alone(source)


def test_a_member_without_a_way_out_is_no_proof_by_itself() -> None:
    """The dispatcher alone is no proof: the cycle is cleared by its callee's."""
    tree = ast.parse(textwrap.dedent(CYCLES_ENDING["a dispatcher without a way out, its callee with one"]))
    dispatcher = tree.body[0]
    assert not recursion_ends(dispatcher, None, lambda call: True)


def _calling_out_first(source: str) -> str:
    """``log(n)`` first in ``f``: every call on the cycle is then blocked for the path
    search, so only the proof's exit rules keep the function from being cleared."""
    return source.replace("def f(n):\n", "def f(n):\n    log(n)\n", 1)


@pytest.mark.parametrize("source", [s for c, s in REPORTED.values() if c == "BPL101"],
                         ids=[k for k, (c, _) in REPORTED.items() if c == "BPL101"])
def test_no_exit_is_claimed_where_the_control_flow_has_none(source: str) -> None:
    source = _calling_out_first(textwrap.dedent(source))
    assert "log(n)" in source
    found = _codes(source, screen=False)
    assert [c for _, c, _ in found] == ["BPL101"]
    assert not _cleared(source)
    assert _codes(source, screen=True) == found


# -- random recursive functions -------------------------------------------------------------
_ARGUMENTS = ["n, m", "n - 1, m", "n, m.left", "m=m, n=n", "n=n - 1, m=m", "*a", "n, *a", "m.left, n"]
_TESTS = ["n == 0", "not m", "m is None", "g(n)", "len(m) > 0", "n", "True", "DEBUG", "f(n, m)",
          "isinstance(m, list)", "n and m.ok", "m or h()", "(lambda: n)()", "x", "[] == m",
          "self.ready", "a", "len(a) < 2", "n if m else a", "not self.ready", "n != 0",
          "m is not None", "STATE.count", "getattr(self, 'seen')"]
_CONTEXTS = ["lock", "LOCK", "self._lock", "suppress(KeyError)", "suppress(g(n))", "open(m)"]
_ITERABLES = ["m", "m.children", "[1, 2]", "range(n)", "()", "g(n)", "f(n, m)", "a"]


Choose = Callable[[Sequence[Any]], Any]


def _random_module(choose: Choose) -> str:
    """One to three functions (or methods) calling themselves and each other, every shape
    drawn by ``choose`` (hypothesis in the property, a seeded ``random`` in its check):
    methods also by their class's name, and overridden in a subclass calling ``super()``."""
    names = choose([["f"], ["f", "g"], ["f", "g", "h"]])
    methods = choose([False, True])
    targets = [f"self.{name}" for name in names] + [f"C.{name}" for name in names] if methods else names
    lines: List[str] = ["def __init__(self):", "    self._lock = threading.RLock()"] if methods else []
    for name in names:
        lines += [f"def {name}({'self, ' if methods else ''}n, m, *a):"] + _indent(_block(choose, 3, False, targets))
    if not methods:
        return "\n".join(_PRELUDE + lines) + "\n"
    overridden = choose(names)
    subclass = choose([[], ["class D(C):", f"    def {overridden}(self, n, m, *a):"]
                       + _indent(_indent(_block(choose, 2, False, targets + [f"super().{overridden}"])))])
    return "\n".join(_PRELUDE + ["class C:"] + _indent(lines) + subclass) + "\n"


# what the drawn statements store into and enter (checks/progress.py): a lock made here,
# an instance of a class seen here
_PRELUDE = ["import threading", "from contextlib import suppress", "LOCK = threading.Lock()",
            "class Box:", "    count = 0", "STATE = Box()"]


def _block(choose: Choose, depth: int, in_loop: bool, targets: List[str]) -> List[str]:
    return [line for _ in range(choose([1, 2, 3])) for line in _statement(choose, depth, in_loop, targets)]


def _statement(choose: Choose, depth: int, in_loop: bool, targets: List[str]) -> List[str]:
    call = f"{choose(targets)}({choose(_ARGUMENTS)})"
    simple = [f"return {call}", call, "return", "raise ValueError", "x = n - 1", "m = m.next",
              "pass", f"x = {call}", "log(n)", "m.seen = True", f"return [{call} for v in m]",
              f"x = {{v: {call} for v in m.children if v}}", f"return n and {call}",
              f"return 1 if {choose(_TESTS)} else {call}", f"{choose(targets)}(g(n), m)",
              f"lock = [{call}]", "self.seen = True", "self.ready = False", "STATE.count += 1",
              "STATE.total = n", "del self.seen"] + (["break", "continue"] if in_loop else [])
    # a name of the cycle bound in the function itself is not the cycle's function there
    simple += [f"from helpers import {t}" for t in targets if "." not in t]
    kind = "simple" if depth == 0 else choose(["simple", "if", "if-else", "while", "for",
                                               "try-finally", "try-except", "with"])
    if kind == "simple":
        return [choose(simple)]

    def inner() -> List[str]:
        return _indent(_block(choose, depth - 1, in_loop or kind in ("while", "for"), targets))
    test = choose(_TESTS)
    headers = {"if": [f"if {test}:"], "while": [f"while {test}:"], "with": [f"with {choose(_CONTEXTS)}:"],
               "for": [f"for v in {choose(_ITERABLES)}:"]}
    if kind in headers:
        return headers[kind] + inner()
    if kind == "if-else":
        return [f"if {test}:"] + inner() + ["else:"] + inner()
    handler = "finally:" if kind == "try-finally" else "except Exception:"
    return ["try:"] + inner() + [handler] + inner()


def _indent(lines: List[str]) -> List[str]:
    return ["    " + line for line in lines]


def _compiles(source: str) -> bool:
    try:
        compile(source, "<random>", "exec")
    except SyntaxError:  # e.g. ``continue`` in a finally block before Python 3.8
        return False
    return True


@st.composite
def _modules(draw) -> str:
    return _random_module(lambda options: draw(st.sampled_from(options)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_modules())
def test_random_recursions_lose_no_finding(source: str) -> None:
    if _compiles(source):
        assert _codes(source, screen=True) == _codes(source, screen=False)


def test_random_recursions_are_both_cleared_and_reported() -> None:
    """The property above means something only if the shapes drawn go both ways."""
    choose = random.Random(5).choice
    cleared = reported = 0
    for source in filter(_compiles, (_random_module(choose) for _ in range(200))):
        reported += any(code.startswith("BPL1") for _, code, _ in _codes(source, screen=False))
        cleared += not screen_file(ast.parse(source)).local
    assert cleared >= 10 and reported >= 10, (cleared, reported)


def test_each_statement_list_is_scanned_once(monkeypatch) -> None:
    """Thousands of calls on the cycle after one long list of statements: the proof
    looks for the first statement that blocks once per list, not once per call."""
    import backprop_lint.ending as ending

    seen = []
    original = ending._surely_blocks
    monkeypatch.setattr(ending, "_surely_blocks", lambda s, *rest: seen.append(s) or original(s, *rest))
    size = 500
    source = ("def f(n):\n    if FLAG:\n        return\n"
              + "".join(f"    x{i} = n + {i}\n" for i in range(size)) + "    log(n)\n"
              + "    f(n - 1)\n" * size)
    function = ast.parse(source).body[0]
    assert recursion_ends(function, None, lambda call: getattr(call.func, "id", "") == "f")
    assert len(seen) <= size + 2
