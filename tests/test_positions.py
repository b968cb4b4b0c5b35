"""Cheap positions (parsing.ParsedModule.def_start / start_within) must equal libcst's own
(PositionProvider over the whole module) for every function and every call in it: on code
written to trip them (indentation of every kind, continuation lines, strings spanning
lines, decorators, nested and async functions) and on real modules, with and without a
screen plan leaving lines out."""

from __future__ import annotations

import ast
import sysconfig
import textwrap
from pathlib import Path
from typing import List

import libcst as cst
import pytest

from backprop_lint.facts import ModuleFacts
from backprop_lint.parsing import parse_planned, parse_source, run_with_deep_stack
from backprop_lint.screen import screen_file

TRICKY = {
    "two_space_indent": """
        class A:
          def f(self, x):
            return self.g(x,
                          x)
          def g(self, y):
            return f(y)
    """,
    "tabs": "class A:\n\tdef f(self):\n\t\treturn self.f(1,\n\t\t\t2)\n",
    "mixed_continuation": """
        def outer():
            def inner(a):
                value = g(a,
        b)
                return inner(value) + h(\\
                    a)
            return inner
    """,
    "strings_over_lines": '''
        def f(x):
            y = """first
        second""" + g(x); z = h(
            """a
            b""", k(1))
            return f(y)
    ''',
    "decorators_async": """
        @decorator(call())
        @other
        async def f(x):
            await f(x)

        class B:
            @property
            def p(self):
                return self.p

            @staticmethod
            def s(): return B.s()
    """,
    "class_in_function": """
        def make():
            class Local:
                def m(self):
                    return [self.m() for _ in range(2)]
            return Local().m()
    """,
    "backslash_def": "def \\\n  f(x):\n    return f(x)\n",
    "non_ascii": "def f(x):\n    s = 'ééé'; return f(g('ü', x))\n",
}


def _check(source: str, blank=()) -> int:
    """Compare every cheap position with libcst's; the number of positions compared. The
    cheap ones are all taken first: none of them may have fallen back on libcst's."""
    def work() -> int:
        parsed = parse_planned(source, blank)
        facts = ModuleFacts(parsed)
        cheap = []
        for function in facts.functions:
            cheap.append((function.node, (function.line, function.column)))
            nodes = [call for call, _ in function.calls] + list(function.node.body.body)
            cheap += [(node, facts.position(node, function)) for node in nodes]
        assert parsed._positions is None, "a cheap position fell back on libcst's"
        for node, position in cheap:
            assert position == parsed.start(node), node
        return len(cheap)
    return run_with_deep_stack(work)


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_code(name: str) -> None:
    source = textwrap.dedent(TRICKY[name]).lstrip("\n")
    ast.parse(source)
    assert _check(source) > 0


def test_a_node_outside_the_function_falls_back() -> None:
    def work():
        parsed = parse_source("def f():\n    pass\n\n\nx = g()\n")
        facts = ModuleFacts(parsed)
        call = facts.all_calls[0][0]
        return facts.position(call, facts.functions[0]), parsed.start(call)
    cheap, full = run_with_deep_stack(work)
    assert cheap == full == (5, 4)


STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _modules() -> List[Path]:
    every = sorted(p for p in STDLIB.rglob("*.py")
                   if "site-packages" not in p.parts and "test" not in p.parts)
    return [p for p in every[::80] if p.stat().st_size < 120_000]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(STDLIB)))
def test_real_modules_with_and_without_a_plan(path: Path) -> None:
    source = path.read_text(encoding="utf-8", errors="surrogateescape")
    try:
        tree = ast.parse(source)
        cst.parse_module(source)
    except Exception:
        pytest.skip("not parsable by both parsers")
    _check(source)
    result = screen_file(tree, ("*backward*",))
    # with the screen's plan (most bodies left out), and with every body kept
    _check(source, result.plan().blank)
