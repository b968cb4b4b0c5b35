"""What the analysis is asked to do (a module of its own: the command reads its cache
before it imports the analysis, libcst and networkx)."""

from __future__ import annotations

import dataclasses
from typing import Tuple

DEFAULT_BACKWARD_GLOBS: Tuple[str, ...] = ("*backward*", "*backprop*", "*topo*", "*deepwalk*")


@dataclasses.dataclass(frozen=True)
class Options:
    backward_functions: Tuple[str, ...] = DEFAULT_BACKWARD_GLOBS
    # skip the cheap ast screen and analyse every file fully (tests of the screen use it)
    screen: bool = True
