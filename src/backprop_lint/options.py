"""What the analysis is asked to do (a module of its own: the command reads its cache
before it imports the analysis, libcst and networkx)."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from typing import Iterable, Tuple

DEFAULT_BACKWARD_GLOBS: Tuple[str, ...] = ("*backward*", "*backprop*", "*topo*", "*deepwalk*")


@dataclasses.dataclass(frozen=True)
class Options:
    backward_functions: Tuple[str, ...] = DEFAULT_BACKWARD_GLOBS
    # skip the cheap ast screen and analyse every file fully (tests of the screen use it)
    screen: bool = True


# where a word of an identifier starts: after ``_``, at a capital after a small letter or
# a digit, at the last capital of a run followed by a small letter (``HTTPServer``)
_WORD_START = re.compile(r"(?<=_)[^_]|(?<=[a-z0-9])[A-Z]|(?<=[A-Z])[A-Z](?=[a-z])")


def names_backward_code(name: str, globs: Iterable[str]) -> bool:
    """Does a function name match one of the ``--backward-functions`` globs? Case-
    insensitively, and a leading ``*`` stands for whole words only (split at ``_`` and
    at changes of case): ``*topo*`` matches ``topo_sort``, ``_toposort``, ``build_topo``
    and ``TopoSort``, not ``_autopopulate``."""
    lowered = name.lower()
    starts = None
    for glob in globs:
        glob = glob.lower()
        if not glob.startswith("*"):
            if fnmatch.fnmatchcase(lowered, glob):
                return True
            continue
        if starts is None:
            starts = [0] + [m.start() for m in _WORD_START.finditer(name)]
        rest = glob.lstrip("*")
        if any(fnmatch.fnmatchcase(lowered[i:], rest) for i in starts):
            return True
    return False
