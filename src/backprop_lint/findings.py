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
    call: int = 0  # the line of its call to the next step, in its file (0: not known)


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
    wrong: str  # an example the code reports (exactly this code, and nothing else)
    right: str  # the same example fixed: nothing is reported
    details: str = ""  # Markdown: the README's section, after the name
    # the automatic fix, if there is one: "safe: what it does" (--fix) or "unsafe: ..."
    # (--fix --unsafe-fixes); empty: none (the message's hint says how to fix it by hand)
    fix: str = ""


# The right example of both graph-walk codes: a visited set, and no recursion at all.
EXPLICIT_STACK_TOPO = (
    "def build_topo(root):\n    topo, visited, stack = [], set(), [(root, False)]\n"
    "    while stack:\n        v, done = stack.pop()\n        if done:\n"
    "            topo.append(v)\n        elif v not in visited:\n            visited.add(v)\n"
    "            stack.append((v, True))\n"
    "            stack.extend((child, False) for child in v._prev)\n    return topo\n"
)

CODES = (
    CodeDoc(
        "BPL101",
        "infinite recursion",
        "The function calls itself on every path: no base case is ever reached.",
        "every function",
        "class Tensor:\n    def backward(self, grad=None):\n"
        "        grad = 1.0 if grad is None else grad\n"
        "        self.backward(grad)  # meant: self._backward(grad)\n",
        "class Tensor:\n    def backward(self, grad=None):\n"
        "        grad = 1.0 if grad is None else grad\n        self._backward(grad)\n",
        "the function calls itself on every path: no `return`, `raise` or\n"
        "end of the function is reachable without recursing first. Conditions count (an `if` whose\n"
        "both branches recurse still recurses); `assert` is not a base case; a self-call inside a\n"
        "`try` whose handler catches `RecursionError` does not count.",
    ),
    CodeDoc(
        "BPL102",
        "recursion without progress",
        "A base case exists, but the self-call passes on unchanged everything the guard "
        "reads, so once it recurses it never reaches the base case.",
        "every function",
        "def unroll(weight, state, steps):\n    if steps == 0:\n        return state\n"
        "    return unroll(weight, state @ weight, steps)\n",
        "def unroll(weight, state, steps):\n    if steps == 0:\n        return state\n"
        "    return unroll(weight, state @ weight, steps - 1)\n",
        "a base case exists, but recursing never gets closer to\n"
        "it: the self-call passes on unchanged every argument its guard reads, and nothing else the\n"
        "guard reads is changed before the call. Once it recurses, it takes the same path again,\n"
        "forever. \"Changed\" is judged field by field: a store into `obj.a` changes only what reads\n"
        "an attribute `a` (unless the class of `obj` - which must be one the module shows, with no\n"
        "base from elsewhere - has a `__setattr__`, a property or other class-level `a`); a call\n"
        "cannot rebind the caller's locals, so it changes no guard that only compares a parameter\n"
        "passed on unchanged by identity (`x is None`, `isinstance(x, T)`) or with a number\n"
        "(`n > 0`); entering a lock the module makes (`threading.Lock()` / `RLock()`),\n"
        "`contextlib.suppress(...)` or `nullcontext(...)` runs no code. The path must be feasible:\n"
        "a test it takes one way cannot be taken the other way further on (`if flag:` ...\n"
        "`if not flag: f()`), and around a cycle (BPL103) the tests of all its functions must be\n"
        "able to hold together.",
    ),
    CodeDoc(
        "BPL103",
        "infinite mutual recursion",
        "Two or more functions call each other in a cycle and every call on the cycle "
        "is made on every path (or makes no progress).",
        "every function",
        "class Linear:\n    def backward(self, grad):\n        return self.grad_input(grad)\n\n"
        "    def grad_input(self, grad):\n        return self.backward(grad)\n",
        "class Linear:\n    def backward(self, grad):\n        return self.grad_input(grad)\n\n"
        "    def grad_input(self, grad):\n        return grad @ self.weight.T\n",
        "two or more functions call each other in a cycle, and every\n"
        "call on the cycle is made on every path (or passes its arguments on unchanged). Reported\n"
        "once per cycle, on its first function in the file; the message lists the cycle.",
    ),
    CodeDoc(
        "BPL104",
        "implicit self-recursion through Python's data model",
        "A property, __repr__, __eq__, __setattr__, __getattribute__, nn.Module.forward "
        "and the like re-enter themselves on every path through Python's data model.",
        "every class",
        "class Parameter:\n    @property\n    def grad(self):\n        return self.grad\n",
        "class Parameter:\n    @property\n    def grad(self):\n        return self._grad\n",
        "the method re-enters itself on\n"
        "every path without calling itself by name: a property that reads (a setter that assigns, a\n"
        "deleter that deletes) its own attribute, `__setattr__` setting an attribute on `self`\n"
        "normally, `__getattribute__` reading any attribute of `self`, `__repr__` calling\n"
        "`repr(self)`, `__str__` / `__format__` formatting `self`, `__eq__` comparing `self == ...`,\n"
        "`__len__` calling `len(self)`, `__getitem__` indexing `self[...]`, `__hash__`, `__bool__`,\n"
        "`__iter__`, `__contains__`, `__call__` calling `self(...)`, an `nn.Module.forward` calling\n"
        "`self(...)`, `__getattr__` calling `getattr(self, name)` with its own `name`, `__init__` /\n"
        "`__new__` constructing their own class, a `cached_property` reading itself. Whether `str()`\n"
        "and `format()` fall back to `__repr__` / `__str__` is decided by what the class and its\n"
        "bases define, bases from other modules included (read, not imported); `Unit(...)` in\n"
        "`__init__` counts only when every metaclass on the way is known to construct when called\n"
        "(one whose `__call__` may hand back an existing instance may never run `__init__`); a\n"
        "decorator defined in the file or imported from elsewhere counts as transparent when\n"
        "its wrapper calls the function on every path.",
        fix="unsafe: repr(self) in __repr__ becomes object.__repr__(self); str(self) / format(self) "
        "in __str__ / __format__ format type(self).__name__",
    ),
    CodeDoc(
        "BPL105",
        "__getattr__ can re-enter itself",
        "__getattr__ reads an instance attribute of self; while that attribute is missing "
        "(unpickling, copy.copy, before __init__ set it) the read calls __getattr__ again.",
        "every class",
        "class Wrapper:\n    def __init__(self, module):\n        self.module = module\n\n"
        "    def __getattr__(self, name):\n        return getattr(self.module, name)\n",
        "class Wrapper:\n    def __init__(self, module):\n        self.module = module\n\n"
        "    def __getattr__(self, name):\n        module = self.__dict__.get(\"module\")\n"
        "        if module is None:\n            raise AttributeError(name)\n"
        "        return getattr(module, name)\n",
        "`__getattr__` reads an attribute of `self` that its\n"
        "class does not define - an instance attribute, set in `__init__` or later - by `self.x`,\n"
        "`getattr(self, \"x\")` or `hasattr(self, \"x\")`. While that attribute\n"
        "is missing - during unpickling, in `copy.copy`, before `__init__` has set it - the read calls\n"
        "`__getattr__` again, forever. Read it through `self.__dict__`, `object.__getattribute__` or\n"
        "`super()`.\n"
        "\n"
        "What the class defines includes its bases from other modules, read where they are defined\n"
        "(see \"Imported code\" in [docs/how-it-works.md](docs/how-it-works.md)): a class\n"
        "attribute `x = None` on a base means the read never misses,\n"
        "an attribute a base's `__init__` sets on `self` can. The method is followed with its name\n"
        "parameter set to the attribute's name: a guard that no path reading `self.x` lets `\"x\"`\n"
        "through (`re.match` with a literal pattern, `str` methods, `in` a literal or a collection\n"
        "bound once in the class or module, `==`) means no re-entry for `x`. A class whose\n"
        "`__setattr__` keeps values elsewhere has no instance attribute `x` from `self.x = v`; a base\n"
        "with its own `__getattribute__`, or a base that cannot be found, keeps the check silent.",
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
        "def build_topo(v, topo):\n    for child in v._prev:\n        build_topo(child, topo)\n"
        "    topo.append(v)\n",
        EXPLICIT_STACK_TOPO,
        "a recursion from a node\n"
        "to the nodes reached through its attributes (`for p in node._prev: walk(p)`) with no\n"
        "visited set, or one that tests one key and records another: a cyclic graph recurses\n"
        "forever, shared sub-graphs are walked exponentially often and accumulate gradients more\n"
        "than once. The fix is a visited set; an explicit stack also removes the depth limit\n"
        "(BPL202).\n"
        "\n"
        "How it reads \"graph walk\": the recursive call hands on a node reached through the current\n"
        "node's attributes. A walk that *branches* (each `p` of `v._prev`, `map(self.visit,\n"
        "n.children)`, `t.backward()` for each input of an op) is reported wherever backward-pass\n"
        "code reaches it. A walk along a *single link* (`self.parent.backward()`) cannot meet a node\n"
        "twice by a diamond; it is reported only where the function itself is named as\n"
        "backward-pass code (a glob match or a hook) - elsewhere `self.data.get_size()` is almost\n"
        "always delegation down a chain of wrappers. A call on another object is matched to a\n"
        "method by its name only when that object is such a node (`child.backward()`), and the\n"
        "backward-pass scope spreads only over calls resolved without that guess.\n"
        "\n"
        "Which method such a call runs depends on what the node's attribute holds, read from what\n"
        "the module stores into it (in the methods of the node's class, its bases and\n"
        "subclasses): `Value(data, (self, other))` with `self._prev = set(children)` fills `_prev`\n"
        "with Values, so `for v in self._prev: v.backward()` in `Value` runs `Value.backward`,\n"
        "even when other classes define `backward` too; an annotation (`parent:\n"
        "Optional[\"Chain\"]`) says the same. Here graphs are assumed homogeneous: a collection\n"
        "that the module fills with one node of a kind (`self` in `(self, other)`) holds nodes of\n"
        "that kind only, whatever else goes in with it (`other`). An attribute set from a\n"
        "required constructor argument (`Engine(strategy)`: the first node of a graph has no link,\n"
        "so a link is never required) or annotated with classes that are not nodes\n"
        "(`self._fabric: Optional[Fabric]`) holds a collaborator: `self._strategy.backward(loss)`\n"
        "delegates and is not followed. Where the module shows nothing (a link set from\n"
        "outside, an optional constructor argument), the call is matched by name as above. A value\n"
        "a method just computed (`y = self.f(x); y.backward(grad)`) and a node popped off a\n"
        "worklist (`f = funcs.pop(); f.backward()`) are not neighbours of the current node.",
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
        "def build_topo(v, topo, visited):\n    if v not in visited:\n        visited.add(v)\n"
        "        for child in v._prev:\n            build_topo(child, topo, visited)\n"
        "        topo.append(v)\n",
        EXPLICIT_STACK_TOPO,
        "a recursive graph walk with a\n"
        "working visited set still needs one Python frame per node: graphs deeper than the recursion\n"
        "limit (about 1000 - long scalar chains, unrolled RNNs) raise `RecursionError`. Use an\n"
        "explicit stack.",
        fix="safe: the body runs as generator frames on an explicit stack: same nodes, "
        "same order, same output",
    ),
    CodeDoc(
        "BPL301",
        "re-entrant backward",
        "A backward pass is started from inside a backward pass (autograd Function.backward "
        "or a backward hook calling .backward() / torch.autograd.grad).",
        "backward-pass code (hooks included)",
        "def rescale(grad):\n    loss.backward()  # a second backward pass, inside this one\n"
        "    return grad * 2\n\n\nweight.register_hook(rescale)\n",
        "def rescale(grad):\n    return grad * 2\n\n\nweight.register_hook(rescale)\n",
        "a backward pass is started from inside a backward pass:\n"
        "`.backward()`, `torch.autograd.backward` or `torch.autograd.grad` called in a\n"
        "`torch.autograd.Function.backward` or in a registered backward hook; and\n"
        "`torch.autograd.backward` / `torch.autograd.grad` in the functions those call (code the\n"
        "engine runs). The engine is recognised under the names it is imported by (`from\n"
        "torch.autograd import grad as autograd_grad`, `import torch.autograd as ag`, `from torch\n"
        "import autograd`, also inside a function). A function merely *named* like backward-pass\n"
        "code that calls the engine\n"
        "(`Tensor.backward`, a training step, a gradient penalty computed before `loss.backward()`)\n"
        "is where a pass starts, not a pass inside a pass: it is not reported.",
    ),
    CodeDoc(
        "BPL401",
        "worklist graph walk without a visited set",
        "A while-loop worklist pushes a node's parents with no visited test: it never ends "
        "on a cyclic graph and is exponential on shared sub-graphs.",
        "backward-pass code",
        "def backward_all(root):\n    stack = [root]\n    while stack:\n"
        "        node = stack.pop()\n        node.backward_step()\n"
        "        stack.extend(node.parents)\n",
        "def backward_all(root):\n    stack, seen = [root], {root}\n    while stack:\n"
        "        node = stack.pop()\n        node.backward_step()\n"
        "        for parent in node.parents:\n            if parent not in seen:\n"
        "                seen.add(parent)\n                stack.append(parent)\n",
        "a `while` loop over a worklist\n"
        "that pushes a node's parents without testing whether they were seen: it never ends on a\n"
        "cyclic graph and is exponential on shared sub-graphs. A marker the loop both writes and\n"
        "tests is a visited set (`if t._creator is None: continue` with `t._creator = None` once\n"
        "`t` is done); a test that a node has a parent (`if x.creator is not None:` before the\n"
        "push) is not. A helper the loop calls pushes onto the worklist only if it receives that\n"
        "list (or shares it: a closure's list, the same `self.queue`); a list of its own, whatever\n"
        "its name, is another list.",
        fix="unsafe: a seen set tested right after the pop: each node is processed once",
    ),
    CodeDoc(
        "BPL402",
        "list.pop(0) used as a queue",
        "list.pop(0) is O(n): the walk becomes quadratic. Use collections.deque.popleft().",
        "backward-pass code",
        "def backward_bfs(root):\n    queue, seen = [root], {root}\n    while queue:\n"
        "        node = queue.pop(0)\n        node.backward_step()\n"
        "        for parent in node.parents:\n            if parent not in seen:\n"
        "                seen.add(parent)\n                queue.append(parent)\n",
        "import collections\n\n\ndef backward_bfs(root):\n"
        "    queue, seen = collections.deque([root]), {root}\n    while queue:\n"
        "        node = queue.popleft()\n        node.backward_step()\n"
        "        for parent in node.parents:\n            if parent not in seen:\n"
        "                seen.add(parent)\n                queue.append(parent)\n",
        "`list.pop(0)` moves every remaining element:\n"
        "O(n) per pop, so the walk is quadratic. Use `collections.deque` and `popleft()`.",
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
        "not a finding about your code: the file was not analysed, and\n"
        "the message names the reason. Under flake8, a file that CPython cannot parse gets\n"
        "flake8's own `E999` and no BPL result; the `backprop-lint` command, which has no `E999`,\n"
        "reports it as BPL900 (`CPython cannot parse this file: ...`). Otherwise BPL900 is a last\n"
        "resort - libcst could not parse a file that CPython parses, or the checker hit an\n"
        "internal error (please report it with the file); any file that CPython parses, however\n"
        "deeply nested, is meant to be analysed. The checker never raises: an exception in a\n"
        "flake8 plugin would abort the whole flake8 run, for every file.",
    ),
)

CODE_DOCS = {doc.code: doc for doc in CODES}
