"""Backward-pass scope across files (project mode): tests are no roots and scope does not
pass through them; a root in another file brings a walk into scope."""

from __future__ import annotations

from backprop_lint.analysis import Options, analyse_project

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
