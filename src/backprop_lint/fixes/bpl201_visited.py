"""BPL201 (unsafe): a recursive walk without a working visited set gets one, then runs as
frames on an explicit stack (the BPL202 fix).

Each frame first tests and records ``id(node)`` - ``node`` being the one parameter the
recursive calls move along - in a set made once per walk: every node is entered once, so
a diamond is walked (and its gradient accumulated) once and a cycle ends. ``id()`` keys
work for nodes that define ``__eq__`` / ``__hash__`` (tensors) and the nodes stay alive
while the walk runs.

Unsafe: code that relied on entering a node once per path (counting paths, or a walk that
must run again on purpose) changes behaviour. No fix where a recursive call's result is
used (a node skipped as visited would return None), nor where the recursion has not
exactly one moving parameter, nor where the BPL202 fix has none.
"""

from __future__ import annotations

from .bpl202_frames import frames
from .target import Rewrite, Target

CODE = "BPL201"
APPLICABILITY = "unsafe"
TITLE = "enter each node once, with an explicit stack"

EXAMPLES = [
    (
        "def backward(self):\n"
        "    topo = []\n"
        "\n"
        "    def build_topo(v):\n"
        "        for child in v._prev:\n"
        "            build_topo(child)\n"
        "        topo.append(v)\n"
        "\n"
        "    build_topo(self)\n",
        "def backward(self):\n"
        "    topo = []\n"
        "\n"
        "    def build_topo(v):\n"
        "        def build_topo_frame(v):\n"
        "            if id(v) in visited:\n"
        "                return\n"
        "            visited.add(id(v))\n"
        "            for child in v._prev:\n"
        "                yield build_topo_frame(child)\n"
        "            topo.append(v)\n"
        "\n"
        "        # one generator per active call on an explicit stack, not one Python frame\n"
        "        visited = set()\n"
        "        stack = [build_topo_frame(v)]\n"
        "        while stack:\n"
        "            for call in stack[-1]:\n"
        "                stack.append(call)\n"
        "                break\n"
        "            else:\n"
        "                stack.pop()\n"
        "\n"
        "    build_topo(self)\n",
    ),
]


def rewrite(target: Target) -> Rewrite:
    return Rewrite(target.finding, APPLICABILITY, target.function,
                   frames(target, visited_once=True))
