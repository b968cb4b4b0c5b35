"""What the checker reports: the finding record and the table of codes.

The table is the single source of the codes' documentation: the flake8 plugin, the
README and ``--explain`` all read it (CODES.md is the contract it follows).
"""

from __future__ import annotations

import dataclasses
from typing import FrozenSet, Optional, Tuple


@dataclasses.dataclass(frozen=True, order=True)
class ChainStep:
    """One function on a reported call chain: where it is defined."""

    line: int
    function: str
    path: str = ""


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One result: 1-based line, 0-based column (flake8 adds one when it prints)."""

    line: int
    column: int
    code: str
    message: str
    chain: Tuple[ChainStep, ...] = ()
    path: str = ""  # the file, in project mode

    def text(self) -> str:
        return f"{self.code} {self.message}"


# A backward-pass finding and the functions of which one must be backward-pass code for
# it to count (None: it always counts). Checks report walks and loops wherever they are;
# the scope, which may come from another module, decides.
Scoped = Tuple[Finding, Optional[FrozenSet[str]]]


@dataclasses.dataclass(frozen=True)
class CodeDoc:
    code: str
    name: str
    summary: str
    scope: str
    wrong: str
    right: str
    # the automatic fix, if there is one: "safe: what it does" (--fix) or "unsafe: ..."
    # (--fix --unsafe-fixes); empty: none (the message's hint says how to fix it by hand)
    fix: str = ""


CODES = (
    CodeDoc(
        "BPL101",
        "infinite recursion",
        "The function calls itself on every path: no base case is ever reached.",
        "every function",
        "def backward(self, grad):\n    self.grad += grad\n    self.backward(grad)\n",
        "def backward(self, grad):\n    self.grad += grad\n    for p in self._prev:\n"
        "        p.backward(grad)\n",
    ),
    CodeDoc(
        "BPL102",
        "recursion without progress",
        "A base case exists, but the self-call passes on unchanged everything the guard "
        "reads, so once it recurses it never reaches the base case.",
        "every function",
        "def countdown(n):\n    if n > 0:\n        countdown(n)\n",
        "def countdown(n):\n    if n > 0:\n        countdown(n - 1)\n",
    ),
    CodeDoc(
        "BPL103",
        "infinite mutual recursion",
        "Two or more functions call each other in a cycle and every call on the cycle "
        "is made on every path (or makes no progress).",
        "every function",
        "def backward(self, g):\n    return self._grad(g)\n\n"
        "def _grad(self, g):\n    return self.backward(g)\n",
        "def backward(self, g):\n    return self._grad(g)\n\n"
        "def _grad(self, g):\n    return g * self.local_grad\n",
    ),
    CodeDoc(
        "BPL104",
        "implicit self-recursion through Python's data model",
        "A property, __repr__, __eq__, __setattr__, __getattribute__, nn.Module.forward "
        "and the like re-enter themselves on every path through Python's data model.",
        "every class",
        "@property\ndef grad(self):\n    return self.grad\n",
        "@property\ndef grad(self):\n    return self._grad\n",
        fix="unsafe: repr(self) in __repr__ becomes object.__repr__(self); str(self) / format(self) "
        "in __str__ / __format__ format type(self).__name__",
    ),
    CodeDoc(
        "BPL105",
        "__getattr__ can re-enter itself",
        "__getattr__ reads an instance attribute of self; while that attribute is missing "
        "(unpickling, copy.copy, before __init__ set it) the read calls __getattr__ again.",
        "every class",
        "def __getattr__(self, name):\n    return getattr(self.module, name)\n",
        "def __getattr__(self, name):\n    module = self.__dict__.get('module')\n"
        "    if module is None:\n        raise AttributeError(name)\n"
        "    return getattr(module, name)\n",
        fix="safe: a read of self that every call makes first goes through "
        "object.__getattribute__ (a missing attribute raises AttributeError)",
    ),
    CodeDoc(
        "BPL201",
        "recursive graph walk without a working visited set",
        "A recursive walk over a node's parents/children with no (or a broken) visited set: "
        "cyclic graphs recurse forever, shared sub-graphs are walked exponentially often "
        "and accumulate gradients more than once.",
        "backward-pass code",
        "def build_topo(v):\n    for child in v._prev:\n        build_topo(child)\n"
        "    topo.append(v)\n",
        "def build_topo(v):\n    if v not in visited:\n        visited.add(v)\n"
        "        for child in v._prev:\n            build_topo(child)\n        topo.append(v)\n",
        fix="unsafe: each node is entered once (a set of id(node)), then the walk runs on an "
        "explicit stack",
    ),
    CodeDoc(
        "BPL202",
        "recursion depth grows with graph depth",
        "A correct recursive graph walk still needs one Python frame per node: graphs "
        "deeper than the recursion limit (about 1000) raise RecursionError. Use an "
        "explicit stack.",
        "backward-pass code",
        "def build_topo(v):\n    if v not in visited:\n        visited.add(v)\n"
        "        for child in v._prev:\n            build_topo(child)\n        topo.append(v)\n",
        "stack = [(root, False)]\nwhile stack:\n    v, done = stack.pop()\n"
        "    if done:\n        topo.append(v)\n    elif v not in visited:\n"
        "        visited.add(v)\n        stack.append((v, True))\n"
        "        stack.extend((c, False) for c in v._prev)\n",
        fix="safe: the body runs as generator frames on an explicit stack: same nodes, "
        "same order, same output",
    ),
    CodeDoc(
        "BPL301",
        "re-entrant backward",
        "A backward pass is started from inside a backward pass (autograd Function.backward "
        "or a backward hook calling .backward() / torch.autograd.grad).",
        "backward-pass code (hooks included)",
        "def hook(grad):\n    loss.backward()\n\nt.register_hook(hook)\n",
        "def hook(grad):\n    return grad * 2\n\nt.register_hook(hook)\n",
    ),
    CodeDoc(
        "BPL401",
        "worklist graph walk without a visited set",
        "A while-loop worklist pushes a node's parents with no visited test: it never ends "
        "on a cyclic graph and is exponential on shared sub-graphs.",
        "backward-pass code",
        "while stack:\n    n = stack.pop()\n    stack.extend(n.parents)\n",
        "while stack:\n    n = stack.pop()\n    if n in seen:\n        continue\n"
        "    seen.add(n)\n    stack.extend(n.parents)\n",
        fix="unsafe: a seen set tested right after the pop: each node is processed once",
    ),
    CodeDoc(
        "BPL402",
        "list.pop(0) used as a queue",
        "list.pop(0) is O(n): the walk becomes quadratic. Use collections.deque.popleft().",
        "backward-pass code",
        "while queue:\n    n = queue.pop(0)\n",
        "queue = collections.deque([root])\nwhile queue:\n    n = queue.popleft()\n",
        fix="safe: a local list used only as a queue becomes a collections.deque",
    ),
    CodeDoc(
        "BPL900",
        "file could not be analysed",
        "libcst cannot parse the file, or the checker hit an internal error; the message "
        "names the reason. The checker itself never raises.",
        "every file",
        "",
        "",
    ),
)

CODE_DOCS = {doc.code: doc for doc in CODES}
