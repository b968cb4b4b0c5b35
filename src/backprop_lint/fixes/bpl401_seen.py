"""BPL401 (unsafe): a worklist walk without a visited set gets one.

``while stack: node = stack.pop(); ...`` becomes ``seen = set()`` before the loop and, right
after the pop, ``if id(node) in seen: continue`` / ``seen.add(id(node))``: every node is
processed once, whatever pushes it (``append``, ``extend``, a deque's ``appendleft``). The
order of the nodes processed is the order of their first pops in the original walk.

Unsafe: code that relied on processing a node once per path (a gradient pushed along each
path with the node) changes behaviour. No fix where the loop does not start by popping one
item into a plain name (a ``(node, grad)`` pair: processing the node once would drop the
gradient of the second path), or pops from something other than what its test reads.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .target import NoFix, Rewrite, Target, every_node, fresh_name, names_used

CODE = "BPL401"
APPLICABILITY = "unsafe"
TITLE = "process each node once (a seen set tested after the pop)"

EXAMPLES = [
    (
        "def backward_all(root):\n"
        "    stack = [root]\n"
        "    while stack:\n"
        "        node = stack.pop()\n"
        "        node.backward_step()\n"
        "        stack.extend(node.parents)\n",
        "def backward_all(root):\n"
        "    stack = [root]\n"
        "    seen = set()\n"
        "    while stack:\n"
        "        node = stack.pop()\n"
        "        if id(node) in seen:\n"
        "            continue\n"
        "        seen.add(id(node))\n"
        "        node.backward_step()\n"
        "        stack.extend(node.parents)\n",
    ),
]

GUARD = """\
if id({node}) in {seen}:
    continue
{seen}.add(id({node}))
"""
POPS = {"pop", "popleft"}


def rewrite(target: Target) -> Rewrite:
    loop = _loop_at(target)
    node = _popped_name(loop)
    seen = fresh_name("seen", names_used(target.function))
    config = target.module.config_for_parsing
    guard = list(cst.parse_module(GUARD.format(node=node, seen=seen), config=config).body)
    body = list(loop.body.body)
    new_loop = loop.with_changes(
        body=loop.body.with_changes(body=body[:1] + guard + body[1:]), leading_lines=[])
    init = cst.parse_statement(f"{seen} = set()", config=config).with_changes(
        leading_lines=loop.leading_lines)
    replacement = target.function.visit(_Replace(loop, [init, new_loop]))
    return Rewrite(target.finding, APPLICABILITY, target.function, replacement)


def _loop_at(target: Target) -> cst.While:
    for node in every_node(target.function):
        if isinstance(node, cst.While) and target.line_of(node) == target.finding.line:
            return node
    raise NoFix("no while loop at the finding's line")


def _popped_name(loop: cst.While) -> str:
    """``node`` of a loop ``while q: node = q.pop()`` (or ``pop(0)``, ``popleft()``)."""
    if loop.orelse is not None or not isinstance(loop.body, cst.IndentedBlock):
        raise NoFix("a while-else or a one-line loop")
    queue = _queue_tested(loop.test)
    first = loop.body.body[0] if loop.body.body else None
    if not (isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1
            and isinstance(first.body[0], cst.Assign) and len(first.body[0].targets) == 1):
        raise NoFix("the loop does not start by popping one item")
    assign = first.body[0]
    target, value = assign.targets[0].target, assign.value
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in POPS and isinstance(value.func.value, cst.Name)
            and value.func.value.value == queue):
        raise NoFix("the loop does not start by popping from the worklist it tests")
    if not isinstance(target, cst.Name):
        raise NoFix("the popped item is not one node (a tuple: processing the node once "
                    "would drop what came with its other pushes)")
    return target.value


def _queue_tested(test: cst.BaseExpression) -> Optional[str]:
    if isinstance(test, cst.Name):
        return test.value
    if (isinstance(test, cst.Call) and isinstance(test.func, cst.Name)
            and test.func.value == "len" and len(test.args) == 1
            and isinstance(test.args[0].value, cst.Name)):
        return test.args[0].value.value
    raise NoFix("the loop's test is not the worklist itself")


class _Replace(cst.CSTTransformer):
    def __init__(self, loop: cst.While, statements) -> None:
        super().__init__()
        self.loop = loop
        self.statements = statements

    def leave_While(self, original: cst.While, updated: cst.While):
        if original is self.loop:
            return cst.FlattenSentinel(self.statements)
        return updated
