"""Messages a person reads in an editor's hover: a short first claim naming the function,
the reason, then a hint for the case at hand (the flake8 plugin and the command share them)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import pytest

from backprop_lint.analysis import Options, analyse_source
from conftest import FIXTURES
from test_fixtures import FIXTURE_FILES, read_source

# codes whose wording this file holds to the rule (BPL2xx come with their backward-pass
# root, "reached from ...", and are checked where that is made)
CHECKED = ("BPL101", "BPL102", "BPL103", "BPL104", "BPL105", "BPL201", "BPL202", "BPL301", "BPL401",
           "BPL402")


def messages(source: str, code: str) -> List[str]:
    return [f.message for f in analyse_source(textwrap.dedent(source), Options()) if f.code == code]


def test_first_sentence_is_short_on_every_fixture() -> None:
    for path in FIXTURE_FILES:
        try:
            findings = analyse_source(read_source(path), Options())
        except SyntaxError:
            continue
        for finding in findings:
            if finding.code in CHECKED:
                first = finding.message.split(". ", 1)[0]
                assert len(first) <= 200, (path.relative_to(FIXTURES), finding.code, first)


def test_bpl301_on_autograd_grad_does_not_say_accumulated() -> None:
    found = messages("""\
        import torch

        class Recompute(torch.autograd.Function):
            @staticmethod
            def backward(ctx, grad):
                return torch.autograd.grad(ctx.y, ctx.x, grad)

            @staticmethod
            def forward(ctx, x):
                return x
        """, "BPL301")
    assert len(found) == 1 and "accumulat" not in found[0], found
    again = messages("""\
        def hook(grad):
            loss.backward()

        t.register_hook(hook)
        """, "BPL301")
    assert len(again) == 1 and "accumulate into .grad" in again[0], again


HINTED = {
    "forward": ("""\
        import torch.nn as nn

        class MLP(nn.Module):
            def forward(self, x):
                return self(x)
        """, "self.layer(x)"),
    "__init__": ("""\
        class Node:
            def __init__(self):
                self.child = Node()
        """, "pass it in"),
    "__len__": ("""\
        class Batch:
            def __len__(self):
                return len(self)
        """, "len(self._items)"),
}


def test_bpl104_hint_is_specific_to_the_method() -> None:
    hints = {}
    for name, (source, expected) in HINTED.items():
        found = messages(source, "BPL104")
        assert len(found) == 1 and expected in found[0], (name, found)
        hints[name] = found[0].split(" on every path. ", 1)[1]
    assert len(set(hints.values())) == len(hints), hints


def test_bpl104_says_how_self_is_formatted() -> None:
    as_string = messages("""\
        class A:
            def __repr__(self):
                return f"A({self})"
        """, "BPL104")
    assert len(as_string) == 1 and "repr(self)" not in as_string[0].split(". ")[0], as_string
    assert "formats self as a string" in as_string[0]
    as_repr = messages("""\
        class B:
            def __repr__(self):
                return f"B({self!r})"
        """, "BPL104")
    assert len(as_repr) == 1 and "formats repr(self)" in as_repr[0], as_repr


CROSS_MODULE = {
    "pkg/__init__.py": "",
    "pkg/engine.py": "from . import ops\n\n\ndef backward(grad):\n    return ops.apply_grad(grad)\n",
    "pkg/ops.py": "from .engine import backward\n\n\ndef apply_grad(grad):\n"
                  "    x = 1\n    return backward(grad)\n",
}


def _project(tmp_path: Path) -> None:
    for name, text in CROSS_MODULE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)


def _command(tmp_path: Path, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "backprop_lint", "--isolated", "--no-cache",
                           *(args or ("--format", "concise")), "."], cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL).stdout


def test_cross_module_bpl103_names_each_call(tmp_path) -> None:
    _project(tmp_path)
    text = _command(tmp_path)
    assert "(pkg/engine.py:5, pkg/ops.py:6)" in text, text
    assert len(text.splitlines()) == 1 and len(text.split(" BPL103 ")[1].split(". ")[0]) <= 200


@pytest.mark.parametrize("project", ["cross-module", "one file"])
def test_sarif_related_locations_include_the_calls(tmp_path, project) -> None:
    if project == "one file":
        (tmp_path / "m.py").write_text("def ping(n):\n    return pong(n)\n\n\n"
                                       "def pong(n):\n    return ping(n)\n")
        expected = {("m.py", 2), ("m.py", 6)}
    else:
        _project(tmp_path)
        expected = {("pkg/engine.py", 5), ("pkg/ops.py", 6)}
    (result,) = json.loads(_command(tmp_path, "--format", "sarif"))["runs"][0]["results"]
    places = {(loc["physicalLocation"]["artifactLocation"]["uri"],
               loc["physicalLocation"]["region"]["startLine"])
              for loc in result["relatedLocations"]}
    assert expected <= places, places
    flow = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(flow) == 3  # the two functions' defs, then the first again


def test_bpl202_names_a_nested_walk_by_its_qualified_name() -> None:
    found = messages("""\
        class Value:
            def backward(self):
                topo, visited = [], set()

                def build_topo(v):
                    if v not in visited:
                        visited.add(v)
                        for child in v._prev:
                            build_topo(child)
                        topo.append(v)
                build_topo(self)
        """, "BPL202")
    assert len(found) == 1
    assert found[0].startswith(
        "recursion depth grows with graph depth: Value.backward.<locals>.build_topo -> "
        "Value.backward.<locals>.build_topo takes one Python frame per node."), found
