"""Backward-pass scope across files (project mode): tests are no roots and scope does not
pass through them; a root in another file brings a walk into scope."""

from __future__ import annotations

import ast
import textwrap

from backprop_lint.analysis import Options, analyse_project, analyse_source, project_verdicts
from backprop_lint.parsing import planned_text
from backprop_lint.screen import screen_file

LIBRARY = """\
def merge_tree(node, other):
    for child in node.children:
        merge_tree(child, other)
"""

A_TEST = """\
from lib import merge_tree


def test_backward_runs():
    merge_tree(None, None)
"""

A_BACKWARD_PASS = """\
from lib import merge_tree


def run_backward():
    merge_tree(None, None)
"""


def _codes(sources, screen=True):
    found = analyse_project(sources, Options(screen=screen))
    return {path: [(f.line, f.code) for f in findings] for path, findings in found.items() if findings}


def test_a_test_named_backward_brings_nothing_into_scope() -> None:
    sources = {"lib.py": LIBRARY, "tests/test_lib.py": A_TEST}
    assert _codes(sources) == {} == _codes(sources, screen=False)


def test_a_root_in_another_file_brings_the_walk_into_scope() -> None:
    sources = {"lib.py": LIBRARY, "train.py": A_BACKWARD_PASS, "tests/test_lib.py": A_TEST}
    assert _codes(sources) == {"lib.py": [(1, "BPL201")]} == _codes(sources, screen=False)


def test_a_finding_says_which_root_reached_it_in_another_file() -> None:
    found = analyse_project({"lib.py": LIBRARY, "train.py": A_BACKWARD_PASS}, Options())
    (finding,) = found["lib.py"]
    assert finding.message.endswith(" Reached from run_backward, train.py:4.")


def test_a_finding_says_which_root_reached_it_in_its_own_file() -> None:
    source = LIBRARY + "\n\nclass Trainer:\n    def backward(self, tree):\n        merge_tree(tree, None)\n"
    (finding,) = analyse_project({"lib.py": source}, Options())["lib.py"]
    assert finding.message.endswith(" Reached from Trainer.backward, l.7.")
    (alone,) = analyse_source(source)
    assert alone.message == finding.message


def test_a_root_says_nothing_of_where_it_was_reached_from() -> None:
    source = "def backward_walk(node):\n    for p in node.parents:\n        backward_walk(p)\n"
    (finding,) = analyse_source(source)
    assert "Reached from" not in finding.message


NODES = """\
class Layer:
    def propagate(self, grad):
        return grad


class Value:
    def __init__(self, data, children=()):
        self.data = data
        self._prev = set(children)

    def __add__(self, other):
        return Value(self.data + other.data, (self, other))

    def propagate(self, grad):
        for v in self._prev:
            v.propagate(grad)
"""

TRAINER = """\
from nodes import Value


def run_backward(root):
    Value.propagate(root, 1.0)
"""

ENGINE = """\
class Engine:
    def __init__(self, strategy):
        self._strategy = strategy

    def backward(self, loss):
        self._strategy.backward(loss)
"""


def test_a_walk_among_nodes_of_one_kind_in_scope_from_another_file() -> None:
    """Value.propagate walks Values (what __add__ stores into _prev), although Layer
    defines propagate too; a root in another file brings it into scope."""
    sources = {"nodes.py": NODES, "train.py": TRAINER}
    expected = {"nodes.py": [(14, "BPL201")]}
    assert _codes(sources) == expected == _codes(sources, screen=False)
    assert _codes({"nodes.py": NODES}) == {}


def test_a_collaborator_is_not_walked_alone_or_in_a_project() -> None:
    """self._strategy is a required constructor argument: Engine.backward delegates."""
    strategy = "class Strategy:\n    def backward(self, loss):\n        loss.backward()\n"
    assert _codes({"engine.py": ENGINE, "strategy.py": strategy}) == {}
    assert analyse_source(ENGINE) == []


def test_a_root_brings_a_walk_into_scope_through_a_packages_re_export() -> None:
    """``from pkg import merge_tree`` where ``pkg/__init__.py`` re-exports it from
    ``pkg.lib``: the screens follow the re-export as the project does, so the package's
    ``__init__.py`` (whose imports the project reads) and the walk are analysed."""
    sources = {"pkg/__init__.py": "from .lib import merge_tree\n", "pkg/lib.py": LIBRARY,
               "train.py": A_BACKWARD_PASS.replace("from lib import", "from pkg import")}
    expected = {"pkg/lib.py": [(1, "BPL201")]}
    assert _codes(sources) == expected == _codes(sources, screen=False)
    through_a_module = {**sources, "train.py": "import pkg\n\n\ndef run_backward():\n    pkg.merge_tree(None, None)\n"}
    assert _codes(through_a_module) == expected == _codes(through_a_module, screen=False)


def test_only_the_functions_on_the_way_of_a_linked_file_are_analysed() -> None:
    """A file analysed for what another file's root reaches keeps the bodies on the way,
    function by function: not another class's method of the same name, nor what the way
    calls by a method's name alone (scope does not follow such calls)."""
    library = LIBRARY + textwrap.dedent("""\


        class Report:
            def merge_tree(self, rows):
                return sorted(rows, key=lambda row: row.merged)


        class Tree:
            def size(self):
                return sum(child.size() for child in self.children)
        """)
    trainer = A_BACKWARD_PASS + "    tree.size()\n"
    sources = {"lib.py": library, "train.py": trainer.replace("def run_backward():", "def run_backward(tree):")}
    screens = {path: screen_file(ast.parse(text), Options().backward_functions) for path, text in sources.items()}
    plan = project_verdicts(screens)["lib.py"]
    planned = planned_text(library, plan.stand_ins(library)).text
    assert "for child in node.children" in planned
    assert "sorted(rows" not in planned and "child.size()" not in planned
    expected = {"lib.py": [(1, "BPL201")]}
    assert _codes(sources) == expected == _codes(sources, screen=False)
