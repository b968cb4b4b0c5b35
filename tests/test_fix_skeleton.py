"""Deciding which findings have a fix (``[*]``) works on the file's skeleton
(fixes/skeleton.py): it must decide exactly as the whole text does, keep every line
where it was, and parse wherever the whole text parses."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from backprop_lint.analysis import Options, analyse_project, analyse_source
from backprop_lint.fixes import FIXERS
from backprop_lint.fixes.plan import plan_file
from backprop_lint.fixes.skeleton import Skeleton
from backprop_lint.fixing import fix_infos
from conftest import FIXTURES, FIXTURES_TOO_NEW

# the layouts a skeleton must get right: functions in an except handler, a decorated
# class first in a body left out, a global rebinding the name a fix asks about, nested
# functions inside the function a finding is on, methods beside a finding's method
TRICKY = '''\
import functools

try:
    from fast import helper
except ImportError:
    def helper(x):
        class Inner:
            def method(self):
                return 1
        return Inner


def topo(node, order, seen):
    if node in seen:
        return order
    seen.add(node)
    for parent in node.parents:
        topo(parent, order, seen)
    order.append(node)
    return order


def rebinds():
    global topo
    topo = None


def unrelated(x):
    @functools.lru_cache
    class Decorated:
        pass
    return Decorated


def backward_walk(root):
    visited, order = set(), []

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v.parents:
                build_topo(child)
            order.append(v)

    build_topo(root)
    return order


class Proxy:
    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def other(self):
        def nested():
            return 2
        return nested
'''


# findings whose fixes read only their class (BPL104, BPL105): decided on the module's
# statements that hold them - a class at the top, one inside an ``if``, a decorated one,
# a class in a class, a class made by a function - and nothing else of the module
CLASSES = '''\
import functools

TABLE = {
    "a": 1,
}


class Proxy:
    default = None

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)


if TABLE:
    class Guarded:
        def __getattr__(self, name):
            return getattr(self.fallback, name)
else:
    Guarded = None


def unrelated():
    return TABLE


@functools.total_ordering
class Outer:
    class Inner:
        def __repr__(self):
            return "Inner(" + repr(self) + ")"

    def __lt__(self, other):
        return False


def make():
    class Made:
        def __str__(self):
            return "Made " + str(self)
    return Made
'''


def decisions(text: str, deciding: bool):
    plan = plan_file(text, analyse_source(text), deciding=deciding)
    return ({(f.line, f.code): r.applicability for f, r in plan.rewrites.items()},
            {(f.line, f.code): why for f, why in plan.refused.items()})


def fixable_texts():
    yield pytest.param(TRICKY, id="tricky")
    yield pytest.param(CLASSES, id="classes")
    for path in sorted(FIXTURES.glob("*.py")):
        if path.name in FIXTURES_TOO_NEW:
            continue
        text = path.read_text(encoding="utf-8")
        if any(f.code in FIXERS for f in analyse_source(text)):
            yield pytest.param(text, id=path.name)


@pytest.mark.parametrize("text", list(fixable_texts()))
def test_the_skeleton_decides_as_the_whole_text(text) -> None:
    assert decisions(text, deciding=True) == decisions(text, deciding=False)


def test_the_tricky_layouts_have_fixes_to_decide() -> None:
    fixed, _ = decisions(TRICKY, deciding=True)
    assert {code for _, code in fixed} == {"BPL202", "BPL105"}


def test_the_skeleton_keeps_lines_and_leaves_out_only_unrelated_bodies() -> None:
    finding_lines = {f.line for f in analyse_source(TRICKY)}
    skeleton = Skeleton(TRICKY, finding_lines)
    before, after = TRICKY.splitlines(), skeleton.text.splitlines()
    assert len(after) == len(before)
    cst.parse_module(skeleton.text)
    kept = {n.name for n in ast.walk(ast.parse(skeleton.text)) if isinstance(n, ast.FunctionDef)}
    # the bodies holding a finding stay whole, with what is nested in them
    assert {"backward_walk", "build_topo", "__getattr__"} <= kept
    # a global declaration may rebind a name a fix asks about: that body stays
    assert "    topo = None" in after
    # unrelated bodies are left out, and what was defined only inside them with them
    assert not {"method", "nested", "Decorated", "Inner"} & kept
    assert "        return getattr(self._inner, name)" in after
    lines = [(n.lineno, n.end_lineno) for n in ast.walk(ast.parse(skeleton.text))
             if isinstance(n, ast.FunctionDef)]
    assert sorted(skeleton.function_lines) == sorted(lines)
    for line in finding_lines:
        assert after[line - 1] == before[line - 1]


def test_fixes_that_read_their_class_are_decided_on_the_statements_holding_them() -> None:
    found = analyse_source(CLASSES)
    assert {f.code for f in found} == {"BPL104", "BPL105"}
    fixed, _ = decisions(CLASSES, deciding=True)
    assert {line for line, _ in fixed} == {f.line for f in found}
    skeleton = Skeleton(CLASSES, {f.line for f in found}, whole_module=False)
    assert "TABLE = {" not in skeleton.text and "def unrelated" not in skeleton.text
    assert "        return getattr(self._inner, name)" in skeleton.text
    assert "    Guarded = None" in skeleton.text  # (the rest of a statement holding one)
    cst.parse_module(skeleton.text)
    # the functions of those statements, in the source's lines (a body left out ends on
    # its stand-in: __init__, __lt__)
    assert skeleton.function_lines == [(11, 12), (14, 15), (20, 21), (33, 34), (36, 37), (40, 44), (42, 43)]


def test_a_file_cpython_cannot_parse_is_its_own_skeleton() -> None:
    text = "def f(:\n    pass\n"
    skeleton = Skeleton(text, {1})
    assert skeleton.text == text and skeleton.function_lines is None


def test_the_processes_decide_as_the_command_does() -> None:
    """Project mode's processes decide which findings have a fix where each file is at
    hand; the command, given the same findings, decides the same."""
    texts = {str(p): p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.py"))
             if p.name not in FIXTURES_TOO_NEW}
    decided = {}
    found = analyse_project(texts, Options(), jobs=2, noqa=True, decided=decided)
    expected = fix_infos(texts, found, with_edits=False)
    told = {(path, f): decided[path][(f.line, f.column, f.code)]
            for path, findings in found.items() for f in findings
            if f.code in FIXERS and path in decided}
    assert {k: v for k, v in told.items() if v is not None} == expected
    assert {f.code for _, f in expected} >= {"BPL104", "BPL105", "BPL202", "BPL402"}
    # every finding of a fixable code that a file shows alone was decided (the links add none here)
    assert len(told) == sum(f.code in FIXERS for findings in found.values() for f in findings)
