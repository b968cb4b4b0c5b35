"""The screen (screen.py) and the plan it makes may never change what is reported: on real
files, analysed alone (flake8) and together (the command), the findings with the screen are
exactly those without it.

The sample is the standard library of the Python running the tests - real code of every
style, on every machine, no corpus needed: every 25th module plus modules known to hold
findings or to have tricked the screen (data-model methods, ``__getattr__`` forwarding,
recursion through helpers).
"""

from __future__ import annotations

import ast
import dataclasses
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

from backprop_lint.analysis import Options, analyse_project, analyse_source
from backprop_lint.parsing import parse_planned, planned_text
from backprop_lint.screen import screen_file

STDLIB = Path(sysconfig.get_paths()["stdlib"])
KNOWN = ["codecs.py", "os.py", "reprlib.py", "unittest/mock.py", "json/encoder.py",
         "ast.py", "copy.py", "pickle.py", "fractions.py", "pathlib.py", "enum.py",
         "collections/__init__.py", "logging/__init__.py", "tkinter/__init__.py",
         "email/_header_value_parser.py", "xml/dom/minidom.py"]
MAX_LINES = 4000  # keeps the unscreened analysis of the sample within a minute


def _sample() -> List[Path]:
    every = sorted(p for p in STDLIB.rglob("*.py")
                   if "site-packages" not in p.parts and "test" not in p.parts)
    chosen = {STDLIB / name for name in KNOWN} | set(every[::25])
    return sorted(p for p in chosen if p.is_file() and _lines(p) <= MAX_LINES)


def _lines(path: Path) -> int:
    return _read(path).count("\n")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="surrogateescape")


def _as_data(findings) -> List[tuple]:
    return [(f.path, f.line, f.column, f.code, f.message) for f in findings]


SAMPLE = _sample()
_UNSCREENED: Dict[Path, list] = {}  # the slow side of the comparison, computed once


def _unscreened(path: Path) -> list:
    if path not in _UNSCREENED:
        _UNSCREENED[path] = analyse_source(_read(path), Options(screen=False))
    return _UNSCREENED[path]


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: str(p.relative_to(STDLIB)))
def test_screen_changes_nothing_alone(path: Path) -> None:
    screened = analyse_source(_read(path), Options(screen=True))
    assert _as_data(screened) == _as_data(_unscreened(path))


def test_screen_changes_nothing_together() -> None:
    """Project mode: the plans there also keep what other files' code reaches."""
    sources: Dict[str, str] = {str(p.relative_to(STDLIB.parent)): _read(p) for p in SAMPLE}
    screened = analyse_project(sources, Options(screen=True))
    unscreened = analyse_project(sources, Options(screen=False))
    assert {p: _as_data(f) for p, f in screened.items()} == \
        {p: _as_data(f) for p, f in unscreened.items()}


def test_sample_holds_findings() -> None:
    """The comparison above means something only if the sample has findings to lose."""
    found = [f for p in SAMPLE for f in _unscreened(p)]
    assert len({f.code[:4] for f in found}) >= 1 and len(found) >= 3, _as_data(found)


@pytest.mark.parametrize("path", SAMPLE[::3], ids=lambda p: str(p.relative_to(STDLIB)))
def test_plan_keeps_the_file_valid_python_with_its_line_numbers(path: Path) -> None:
    """Leaving out every body the plan allows leaves code CPython parses, and the line
    map puts each ``def`` back on its source line."""
    source = _read(path)
    tree = ast.parse(source)
    keep_nothing = dataclasses.replace(screen_file(tree), keep=frozenset())
    planned = planned_text(source, keep_nothing.plan().blank)
    defs = [(name, planned.source_line(line)) for name, line in _top_level_defs(ast.parse(planned.text))]
    assert defs == _top_level_defs(tree)
    assert planned.text.count("\n") <= source.count("\n")
    # leaving out the statements nothing names keeps it valid, each def on its line
    pruned = planned_text(source, keep_nothing.plan().stand_ins(source))
    defs = [(name, pruned.source_line(line)) for name, line in _top_level_defs(ast.parse(pruned.text))]
    assert set(defs) <= set(_top_level_defs(tree))


def _top_level_defs(tree: ast.Module) -> List[tuple]:
    return [(n.name, n.lineno) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


@pytest.mark.parametrize("source", [
    "def élan(n):\n    return élan(n)\n",  # identifiers need not start in ASCII
    "def f(n):\n    return f (n)\n",  # a space before the parenthesis
    "def f(n):\n    return f\\\n(n)\n",  # a continued line
    "class Graph:\n    def backprop(self, node):\n        return list(map(self.backprop, node._prev))\n",
    # flow-sensitive names: the call (however long) before the deletion stays in the plan
    "import os\nTABLE = {'a': [1, 2],\n         'b': [3, 4]}\n\n\ndef _setup(registry):\n    _setup(registry)\n\n\n"
    "def helper(x):\n    return os.path.join(x, 'y')\n\n\n_setup(\n    {'k': 1},\n)\nprint(TABLE)\ndel _setup\n",
    # field-sensitive progress: the lock stored in a method the plan leaves out, the
    # instance of a class made by a call spread over lines
    "import threading\n\n\nclass Walker:\n    def __init__(self):\n        self.i = 3\n"
    "        self._lock = threading.RLock()\n\n    def step(self):\n        if self.i > 0:\n"
    "            with self._lock:\n                self.step()\n",
    "class Counter:\n    def __init__(self, start):\n        self.hits = start\n\n\n"
    "STATS = Counter(\n    start=0,\n)\n\n\ndef poll(source):\n    if ENABLED:\n        STATS.hits += 1\n"
    "        poll(source)\n",
    # a metaclass's __call__ (not a data-model site itself) decides whether __init__ runs
    "class Meta(type):\n    def __call__(cls, *a):\n        print(cls)\n        return super().__call__(*a)\n\n\n"
    "class Unit(metaclass=Meta):\n    def __init__(self):\n        self.u = Unit()\n",
    # a class-level collection of names, written over several lines, decides a guard
    "class R:\n    F = [\n        'x',\n        '_v',\n    ]\n\n    def __init__(self, v):\n        self._v = v\n\n"
    "    def __getattr__(self, name):\n        if name in self.F:\n            return self._v[name]\n"
    "        raise AttributeError(name)\n",
])
def test_screen_keeps_what_the_analysis_reports(source: str) -> None:
    found = analyse_source(source, Options(screen=False))
    assert found, "the case should hold a finding"
    assert _as_data(analyse_source(source, Options(screen=True))) == _as_data(found)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 695 type parameters need 3.12")
def test_screen_keeps_generic_functions() -> None:
    source = "def f[T](n: T) -> T:\n    return f(n)\n"
    found = analyse_source(source, Options(screen=False))
    assert _as_data(analyse_source(source, Options(screen=True))) == _as_data(found)


def test_planned_text_maps_lines_back_to_the_source() -> None:
    source = ("import os\r\n\r\ndef unused(a):\r\n    x = 1\r\n    y = 2\r\n    return x + y\r\n\r\n"
              "def spin(n):\r\n    return spin(n)\r\n")
    planned = planned_text(source, [(4, 4, 6, "pass")])
    # the body's other lines and the empty lines are left out
    assert planned.text == "import os\r\ndef unused(a):\r\n    pass\r\ndef spin(n):\r\n    return spin(n)\r\n"
    assert [planned.source_line(i) for i in range(1, 6)] == [1, 3, 4, 8, 9]
    found = parse_planned(source, [(4, 4, 6, "pass")])
    spin = [n for n in found.module.body if getattr(getattr(n, "name", None), "value", "") == "spin"][0]
    assert found.start(spin) == (8, 0)


def test_planned_text_leaves_out_comments_but_not_a_continued_line() -> None:
    source = textwrap.dedent('''\
        def f(n):
            # a comment
            x = n \\

            s = """a

            # ends here"""
            return f(x)


        def g():
            return 1
    ''')
    planned = planned_text(source, [(12, 4, 12, "pass")])
    # the empty line after ``x = n \\`` stays (leaving it out would join ``s = ...`` to
    # it), and so does the comment-like line that ends the string
    assert planned.lines == (1, 3, 4, 5, 7, 8, 11, 12)
    assert ast.dump(ast.parse(planned.text).body[0].body[2]) == ast.dump(
        ast.parse("return f(x)").body[0])


def test_a_plan_libcst_refuses_falls_back_to_the_whole_source() -> None:
    """A stand-in that breaks the text (a plan with a bug) costs speed, never a result."""
    source = "def f(n):\n    return f(n)\n\n\ndef g():\n    return 1\n"
    broken = [(6, 4, 6, "return (")]
    parsed = parse_planned(source, broken)
    assert parsed.line_map is None
    assert parsed.module.code == source


def test_nodes_on_cycles_are_those_networkx_finds() -> None:
    """The screen peels nodes without a way in or out before it asks networkx: the nodes
    on cycles (self-loops included) must be exactly what networkx alone finds."""
    import random

    import networkx as nx

    from backprop_lint.screen import _on_cycles

    def reference(graph):
        digraph = nx.DiGraph(graph)
        found = set(nx.nodes_with_selfloops(digraph))
        for component in nx.strongly_connected_components(digraph):
            if len(component) > 1:
                found |= component
        return found

    generator = random.Random(5)
    graphs = [{i: {i + 1} for i in range(60)} | {60: {0}},  # one long cycle
              {i: {i + 1} for i in range(60)} | {60: set()}]  # a chain: peeled off
    for _ in range(2000):
        size, density = generator.randint(0, 12), generator.random() * 0.3
        graphs.append({i: {j for j in range(size) if generator.random() < density} for i in range(size)})
    for graph in graphs:
        assert _on_cycles(graph) == reference(graph), graph
    assert any(reference(g) for g in graphs) and any(not reference(g) for g in graphs)


# Backward-pass code judged alone: what BPL2xx-4xx can report decides whether the file is
# analysed. Each pair: the near miss the screen leaves out, and the case it must keep.
BACKWARD_ALONE = {
    "a training step's loss.backward()": (False, """
        def step_backward(model, batch):
            loss = model(batch)
            loss.backward()
    """),
    "an autograd Function's backward that runs the engine again": (True, """
        import torch

        class Square(torch.autograd.Function):
            @staticmethod
            def backward(ctx, grad):
                ctx.saved.backward()
                return grad
    """),
    "an explicit engine call in what a hook runs": (True, """
        import torch

        def _regrad(grad):
            return torch.autograd.grad(grad.sum(), [grad])

        def hook(grad):
            return _regrad(grad)

        def install(t):
            t.register_hook(hook)
    """),
    "a walk that no backward-pass code reaches": (False, """
        class Node:
            def visit(self):
                for child in self.children:
                    child.visit()

            def backward(self):
                return self.grad
    """),
    "a walk that backward-pass code reaches": (True, """
        class Node:
            def visit(self):
                for child in self.children:
                    child.visit()

            def backward(self):
                self.visit()
    """),
    # scope follows resolved calls only, as the analysis's does (by a method's name alone,
    # it would run into every class with a method of that name)
    "a walk that backward-pass code calls by the method's name alone": (False, """
        class Node:
            def visit(self):
                for child in self.children:
                    child.visit()

        class Loss:
            def backward(self, node):
                node.visit()
    """),
    # a walk steps to a node reached through the node's attributes: a parameter is none
    "the same method called on a parameter": (False, """
        class Node:
            def visit(self, other):
                other.visit(self)

            def backward(self):
                self.visit(self.peer)
    """),
    "a walk that a function named like backward-pass code reaches": (True, """
        def visit(node):
            for child in node.children:
                visit(child)

        def run_backward(tree):
            visit(tree)
    """),
    "a walk that a test named like backward-pass code reaches": (False, """
        def visit(node):
            for child in node.children:
                visit(child)

        def test_backward(tree):
            visit(tree)
    """),
    "a walk that a helper of a test class reaches": (False, """
        import unittest

        def visit(node):
            for child in node.children:
                visit(child)

        class GradTestCase(unittest.TestCase):
            def check_backward(self, tree):
                visit(tree)
    """),
    "an engine call under an imported name in a hook lambda": (True, """
        import torch
        from torch.autograd import grad as autograd_grad

        t = torch.ones(1, requires_grad=True)
        t.register_hook(lambda g: autograd_grad(g.sum(), [t]))
    """),
    "a hook lambda that calls no engine, in a file with an engine call": (False, """
        import torch

        t = torch.ones(1, requires_grad=True)
        t.register_hook(lambda g: g * 2)
        t.sum().backward()
    """),
}


def _codes_alone(source: str) -> List[str]:
    """The codes the analysis reports for the file without the screen, checking that the
    screen sends it to the analysis exactly when there is one and changes nothing."""
    found = analyse_source(source, Options(screen=False))
    assert screen_file(ast.parse(source), Options().backward_functions, linking=False).local == bool(found)
    assert _as_data(analyse_source(source, Options(screen=True))) == _as_data(found)
    return [f.code for f in found]


@pytest.mark.parametrize("kept, source", BACKWARD_ALONE.values(), ids=list(BACKWARD_ALONE))
def test_backward_pass_code_is_analysed_alone_only_where_it_can_be_reported(kept: bool, source: str) -> None:
    assert bool(_codes_alone(textwrap.dedent(source))) == kept


# A data-model method meeting its receiver bare: each pair, the use that runs nothing of
# the data model (returned, handed to a function of the program) and the form that re-enters.
BARE_RECEIVER = """\
def describe(box):
    return 'a box'


class Box:
    def METHOD(self):
        BODY
"""
BARE_RECEIVER_USES = [
    ("__iter__", "return self", "for item in self:\n            yield item"),
    ("__repr__", "return describe(self)", "return f'<{self!r}>'"),
    ("__hash__", "return describe(self).__hash__()", "return hash(self)"),
    ("__bool__", "return self.items is not describe(self)", "return not self"),
    ("__len__", "return len(describe(self))", "return len(self)"),
    ("__str__", "return describe(self)", "return '%s' % (self,)"),
]


@pytest.mark.parametrize("method, runs_nothing, re_enters", BARE_RECEIVER_USES,
                         ids=[m for m, _, _ in BARE_RECEIVER_USES])
def test_a_bare_receiver_is_a_data_model_site_only_where_the_data_model_runs(
        method: str, runs_nothing: str, re_enters: str) -> None:
    for body, reported in ((runs_nothing, False), (re_enters, True)):
        source = BARE_RECEIVER.replace("METHOD", method).replace("BODY", body)
        assert _codes_alone(source) == (["BPL104"] if reported else [])


@pytest.mark.parametrize("construction, reported", [
    ("functools.lru_cache(size)(self._load)", False),  # a call of what a call returned
    ("type(self)(size)", True),  # the instance's own class
])
def test_a_constructor_calling_what_a_call_returns_constructs_its_class_only_through_type(
        construction: str, reported: bool) -> None:
    source = ("import functools\n\n\nclass Cache:\n    def __init__(self, size):\n"
              f"        self.get = {construction}\n")
    assert _codes_alone(source) == (["BPL104"] if reported else [])


def _bound_outside_functions(text: str) -> set:
    """The names bound by statements of the module and of its classes."""
    names, bodies = set(), [ast.parse(text).body]
    while bodies:
        for node in bodies.pop():
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update(a.asname or a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            if isinstance(node, (ast.ClassDef, ast.If)):
                bodies.append(node.body)
    return names


def _pruned(source: str) -> set:
    result = screen_file(ast.parse(source), linking=False)
    assert result.local
    return _bound_outside_functions(planned_text(source, result.plan().stand_ins(source)).text)


def test_what_no_kept_code_names_is_left_out() -> None:
    source = textwrap.dedent('''\
        import json
        import os
        from typing import Optional

        TABLE = {"a": 1}
        LIMIT = TABLE["a"]


        def helper(n):
            return n - 1


        def unused(a):
            return json.dumps(a) + LIMIT


        class Unused:
            def method(self):
                return os.getcwd()


        def spin(n: Optional[int]):
            return spin(helper(n))
    ''')
    assert _pruned(source) == {"Optional", "helper", "spin"}
    assert _as_data(analyse_source(source, Options(screen=True))) == \
        _as_data(analyse_source(source, Options(screen=False)))


def test_what_kept_code_names_stays_with_what_it_names() -> None:
    """Names named by what stays, classes holding what stays, the heirs of a class that
    stays and its private names, the lines the skeleton keeps, backward-pass roots."""
    source = textwrap.dedent('''\
        import torch
        from base import Root as _Root

        SIZE = 3
        ALIAS = SIZE


        class Base(_Root):
            __slots__ = ("a",)

            def __init__(self):
                self.a = 1

            def visit(self, node):
                return node


        class Walker(Base):
            def walk(self, node):
                return self.walk(self.visit(node) * ALIAS)


        class Heir(Walker):
            def other(self):
                return 1


        class Stranger:
            def visit(self, node):
                return node

            def alone(self):
                return 2


        class Lonely:
            def alone(self):
                return 2


        def backward(grad):
            return grad


        if (found := SIZE):
            pass
    ''')
    assert _pruned(source) == {"_Root", "SIZE", "ALIAS", "Base", "__slots__", "__init__",
                               "visit", "Walker", "walk", "Heir", "Stranger", "backward"}


def test_a_hook_registration_keeps_the_functions_it_names() -> None:
    """A registered hook is a backward-pass root, which stays; the analysis finds it by
    the name it is registered under. A lambda is no root (the engine runs its own calls
    only, and the analysis follows none of them): what it names stays, as any code's."""
    source = textwrap.dedent('''\
        import torch


        def hook(grad):
            return grad


        def spin(n):
            return spin(n)


        def lonely():
            return 2


        torch.ones(1).register_hook(hook)
    ''')
    assert _pruned(source) == {"torch", "hook", "spin"}
    behind_a_lambda = source.replace("register_hook(hook)", "register_hook(lambda g: hook(g))")
    assert _pruned(behind_a_lambda) == {"torch", "hook", "spin"}
    assert _as_data(analyse_source(behind_a_lambda, Options(screen=True))) == \
        _as_data(analyse_source(behind_a_lambda, Options(screen=False)))


HOOKED = textwrap.dedent("""\
    import functools


    def hook(grad):
        return grad


    def walk(node):
        for p in node._prev:
            walk(p)


    def install(t):
        t.register_hook(REGISTERED)
""")


@pytest.mark.parametrize("registered, roots, walks", [
    ("hook", {"hook"}, False),
    ("functools.partial(walk, depth=1)", {"walk"}, True),  # walk is backward-pass code
    # a lambda is no root (the engine runs its own calls only): the names in it are taken
    # for hooks all the same, more than the analysis finds, never less
    ("lambda g: hook(g)", {"hook"}, False),
])
def test_only_functions_named_in_a_hook_registration_are_hook_roots(registered: str, roots: set,
                                                                    walks: bool) -> None:
    """The analysis finds a registered hook by the name it is registered under, so the
    screen counts as backward-pass roots only the functions a registration names."""
    source = HOOKED.replace("REGISTERED", registered)
    screened = screen_file(ast.parse(source))
    assert {screened.bodies[index][0] for index in screened.roots} == roots
    found = analyse_source(source, Options(screen=False))
    assert ("BPL201" in {f.code for f in found}) == walks
    assert _as_data(analyse_source(source, Options(screen=True))) == _as_data(found)


def test_a_function_declaring_outer_names_stands_in_as_its_declarations() -> None:
    """``global`` / ``nonlocal`` rebind names outside the function: the stand-in keeps the
    declarations and binds the declared names the function binds - not the others (a
    read of a global rebinds nothing), and a nested ``def`` of one keeps the body. The
    stand-in of a nested function lives in its enclosing body, which then stays - unless
    the names it rebinds are that body's own: then nothing left reads them."""
    source = textwrap.dedent('''\
        import os

        COUNT = 0
        CACHE = None


        def bump():
            global COUNT, CACHE
            print(CACHE)
            for COUNT in range(3):
                pass


        def outer():
            total = 0

            def add(n):
                nonlocal total
                total += [total := n for n in range(n)][0]
            return add


        def outermost():
            depth = 0

            def middle():
                def inner():
                    nonlocal depth
                    depth = 1
                return inner


        def counting():
            def tick():
                global COUNT
                COUNT += 1
            return tick


        def defines():
            global helper

            def helper():
                return 1


        def spin(n):
            print(COUNT)
            return spin(n)
    ''')
    result = screen_file(ast.parse(source), linking=False)
    text = planned_text(source, result.plan().stand_ins(source)).text
    assert "def bump(): global COUNT, CACHE; COUNT = None\n" in text
    assert "total" not in text  # outer, left out whole: nothing names it either
    assert "            nonlocal depth; depth = None\n" in text  # the name is outermost's
    assert "        global COUNT; COUNT = None\n" in text
    assert "    def helper():\n" in text
    assert _as_data(analyse_source(source, Options(screen=True))) == \
        _as_data(analyse_source(source, Options(screen=False)))


def test_a_cycle_across_files_is_judged_from_the_summaries_control_flow(monkeypatch) -> None:
    """The screens see the cycle: each function's summary carries its control flow, so
    judging it parses no file again - and the verdict is the one the files parsed again
    give. Only naming the calls of a cycle that is reported reads its files again (once
    each): working out every call's line in every summary cost more."""
    import backprop_lint.project as project

    sources = {
        "pkg/__init__.py": "",
        "pkg/engine.py": "from . import ops\n\n\ndef backward(grad):\n    return ops.apply_grad(grad)\n",
        "pkg/ops.py": textwrap.dedent('''\
            from .engine import backward


            def apply_grad(grad):
                if grad is None:
                    pass
                while grad.pending:  # a loop that can stop: still on every path
                    grad = grad.step()
                return backward(grad)


            def escapes(grad):
                try:
                    return backward(grad)
                except RecursionError:
                    return None
            '''),
    }
    again = analyse_project(sources, Options(screen=False))  # no plan: parsed again
    assert [(p, f.line, f.code) for p, fs in again.items() for f in fs] == [("pkg/engine.py", 4, "BPL103")]

    parsed = []
    parse_quietly = project._parse_quietly

    def counted_parse(source, blank, path):
        parsed.append(path)
        return parse_quietly(source, blank, path)

    monkeypatch.setattr(project, "_parse_quietly", counted_parse)
    assert analyse_project(sources, Options(screen=True)) == again
    assert sorted(parsed) == ["pkg/engine.py", "pkg/ops.py"]  # the cycle's files, once each
    parsed.clear()
    del sources["pkg/engine.py"]  # no cycle: nothing is read again
    assert analyse_project(sources, Options(screen=True)) == {p: [] for p in sources}
    assert parsed == []
