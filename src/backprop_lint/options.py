"""What the analysis is asked to do (a module of its own: the command reads its cache
before it imports the analysis, libcst and networkx)."""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
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


_TEST_NAME = re.compile(r"^test(_|[A-Z0-9]|$)")


def names_a_test(name: str) -> bool:
    """A function pytest and unittest collect as a test by its name alone (``test_*``)."""
    return _TEST_NAME.match(name) is not None


def names_backward_code(name: str, globs: Iterable[str]) -> bool:
    """Does a function name match one of the ``--backward-functions`` globs? Case-
    insensitively, and a leading ``*`` stands for whole words only (split at ``_`` and
    at changes of case): ``*topo*`` matches ``topo_sort``, ``_toposort``, ``build_topo``
    and ``TopoSort``, not ``_autopopulate``."""
    lowered = name.lower()
    starts = None
    for starred, rest, literal in _prepared(tuple(globs)):
        if literal not in lowered:
            continue  # (every function name is asked about: most fail here, cheaply)
        if not starred:
            if fnmatch.fnmatchcase(lowered, rest):
                return True
            continue
        if starts is None:
            starts = [0] + [m.start() for m in _WORD_START.finditer(name)]
        if any(fnmatch.fnmatchcase(lowered[i:], rest) for i in starts):
            return True
    return False


@functools.lru_cache(maxsize=16)
def _prepared(globs: Tuple[str, ...]) -> Tuple[Tuple[bool, str, str], ...]:
    """Each glob as (leading ``*``, the pattern after it, lowered; the text before its
    first wildcard, which any name it matches contains)."""
    prepared = []
    for glob in globs:
        glob = glob.lower()
        rest = glob.lstrip("*")
        literal = re.split(r"[*?\[]", rest, maxsplit=1)[0]
        prepared.append((glob.startswith("*"), rest if glob.startswith("*") else glob, literal))
    return tuple(prepared)
