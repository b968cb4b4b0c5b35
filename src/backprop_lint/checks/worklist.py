"""BPL401 and BPL402: worklist graph walks.

A worklist walk is a ``while W:`` loop that takes a node out of ``W`` (``pop``,
``popleft``, ``heappop``) and puts back nodes reached through the popped node's attributes
(``W.extend(n.parents)``, ``W.append(child)``, ``heappush(W, ...)``, or a local helper that
does so). Without a visited test guarding the push (or a Kahn-style count of unprocessed
users), a cyclic graph never empties the list and a diamond is walked once per path:
BPL401. ``W.pop(0)`` in such a loop is O(n) per pop: BPL402.
"""

from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Set, Tuple

import libcst as cst

from ..callgraph import argument_binding
from ..cfg import Block
from ..facts import FunctionFacts, ModuleFacts, target_names
from ..findings import Finding, Scoped
from ..names import dotted_name, is_name, own_nodes
from .report import at_node
from .graphwalk import nodes_of
from .graphwalk import Derivation, block_test, guard_successor, unguarded_path, visited_records

_POPS = frozenset({"pop", "popleft", "popitem"})
_PUSHES = frozenset({"append", "extend", "appendleft", "extendleft", "insert", "add"})


def check_worklists(candidates: Iterable[FunctionFacts]) -> List[Scoped]:
    """Worklist walks in ``candidates``, each counting if its function is backward-pass code."""
    findings: List[Scoped] = []
    for function in candidates:
        facts = function.module
        for loop in function.whiles:
            worklist = _worklist_name(loop.test)
            if worklist is None:
                continue
            calls = list(_calls_in(loop.body))
            pops = [c for c in calls if _pops(c, worklist)]
            pushes = list(_pushes(facts, function, calls, worklist)) if pops else []
            if not pushes or id(loop) not in function.cfg.loop_heads:
                continue
            requires = frozenset({function.key})
            findings += [(f, requires) for f in _report_pop0(facts, function, pops, worklist)]
            popped = _popped_names(loop.body, pops)
            derivation = Derivation(function, roots=popped)
            walking = [push for push in pushes
                       if _pushes_neighbours(derivation, push[0], push[1]) or push[2] is not function]
            if walking and not all(_guarded(facts, function, loop, popped, p, derivation) for p in walking):
                findings.append((_report_unvisited(facts, function, loop, worklist), requires))
    return findings


def _calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    return (n for n in own_nodes(node) if isinstance(n, cst.Call))


def _worklist_name(test: cst.BaseExpression) -> Optional[str]:
    """``while stack:`` / ``while self.queue:`` / ``while len(q):`` / ``while len(q) > 0:``."""
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        test = test.left
    if isinstance(test, cst.Call) and is_name(test.func, "len") and len(test.args) == 1:
        test = test.args[0].value
    return dotted_name(test)


def _pops(call: cst.Call, worklist: str) -> bool:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in _POPS:
        return dotted_name(func.value) == worklist
    name = dotted_name(func) or ""
    return name.rsplit(".", 1)[-1] == "heappop" and bool(call.args) and dotted_name(call.args[0].value) == worklist


def _push_item(call: cst.Call, worklist: str) -> Optional[cst.BaseExpression]:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in _PUSHES and call.args:
        if dotted_name(func.value) == worklist:
            return call.args[-1].value
    name = dotted_name(func) or ""
    if name.rsplit(".", 1)[-1] in ("heappush", "heappushpop") and len(call.args) >= 2:
        if dotted_name(call.args[0].value) == worklist:
            return call.args[1].value
    return None


def _pushes(facts: ModuleFacts, function: FunctionFacts, calls: List[cst.Call], worklist: str):
    """(call, pushed item, function holding the push, the call in ``function`` that runs
    it) - direct pushes, and calls to a helper of the module that pushes its argument onto
    the same worklist."""
    for call in calls:
        item = _push_item(call, worklist)
        if item is not None:
            yield call, item, function, call
            continue
        helper = facts.called_function(call, "eval", function)
        if helper is not None and helper is not function:
            binding = argument_binding(function, helper, call)
            theirs = _helpers_worklist(function, helper, binding, worklist)
            for inner in _calls_in(helper.node.body) if theirs else ():
                pushed = _push_item(inner, theirs)
                if pushed is not None:
                    argument = _argument_pushed(binding, pushed)
                    if argument is not None:
                        yield inner, argument, helper, call
                    break


def _helpers_worklist(caller: FunctionFacts, helper: FunctionFacts,
                      binding: List[Tuple[str, cst.BaseExpression]], worklist: str) -> Optional[str]:
    """The name the caller's worklist has in the helper: the parameter it is passed to,
    ``self.x`` for the same receiver's ``self.x``, or the same outer name (a closure, a
    global) when the helper binds no such name itself. A list of the helper's own (its
    local ``queue``) is another list, whatever its name."""
    for param, value in binding:
        if dotted_name(value) == worklist:
            return param
    head, _, rest = worklist.partition(".")
    if rest and head == caller.receiver and helper.receiver is not None and helper.owner is caller.owner:
        return f"{helper.receiver}.{rest}"
    if head in helper.scope.bindings or head in helper.param_names():
        return None
    return worklist


def _argument_pushed(binding: List[Tuple[str, cst.BaseExpression]],
                     pushed: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """What the caller hands the helper that the helper pushes: the argument of the
    parameter the pushed item is made of (``cand`` in ``(-cand.rank, cand)``)."""
    names = {n.value for n in own_nodes(pushed) if isinstance(n, cst.Name)}
    return next((value for param, value in binding if param in names), None)


def _pushes_neighbours(derivation: Derivation, call: cst.Call, item: cst.BaseExpression) -> bool:
    """``stack.extend(n.parents)`` / ``stack.append(p)`` for p in ``n.parents``: several
    nodes reached through the popped node's attributes."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in ("extend", "extendleft"):
        return derivation.collection(item)
    return derivation.fans_out(item)


def _popped_names(body: cst.CSTNode, pops: List[cst.Call]) -> Set[str]:
    """Names bound from a pop: ``n = stack.pop()``, ``n, g = q.popleft()``,
    ``_, _, f = heappop(h)``."""
    ids = {id(p) for p in pops}
    return {
        name.value
        for node in own_nodes(body)
        if isinstance(node, cst.Assign) and id(node.value) in ids
        for target in node.targets
        for name in target_names(target.target)
    }


def _guarded(facts: ModuleFacts, function: FunctionFacts, loop: cst.While, popped: Set[str],
             push: Tuple[cst.Call, cst.BaseExpression, FunctionFacts, cst.Call],
             derivation: Derivation) -> bool:
    """Whether a visited test guards the push: in the loop, on every way to the call that
    runs it (``if id(n) in seen: continue`` after the pop also guards a helper's push), or
    else inside the helper that pushes."""
    call, item, owner, site = push
    names = set(popped) | {n.value for n in target_names(item) if isinstance(n, cst.Name)}
    nodes = nodes_of(function, names | _loop_targets_of(derivation, item))
    records = visited_records(function.cfg, nodes | set(popped))
    if _guarded_in(function.cfg, site, nodes, records, function.cfg.loop_heads[id(loop)]):
        return True
    if owner is function:
        return False
    nodes = nodes_of(owner, owner.param_names())
    records = visited_records(owner.cfg, nodes) | visited_records(function.cfg, nodes | set(popped))
    return _guarded_in(owner.cfg, call, nodes, records, None)


def _guarded_in(cfg, call: cst.Call, nodes, records, start) -> bool:
    """No way from ``start`` (the entry if None) to ``call`` in ``cfg`` avoids a test of
    ``nodes`` against what the walk records."""
    block = cfg.block_of(call)
    if block is None:
        return True  # not where we can follow it: say nothing

    def guard(candidate: Block) -> Optional[int]:
        test = block_test(candidate, nodes)
        if test is not None and (test.container, test.key) not in records:
            test = None  # a test of something the walk never records is no visited test
        return guard_successor(candidate, test)

    return not unguarded_path(cfg, block, guard, start)


def _loop_targets_of(derivation: Derivation, item: cst.BaseExpression) -> Set[str]:
    """``for p in n.parents: stack.append(p)``: p names a node too; so does the loop's
    x in ``stack.append(x.creator)`` (the test and the record then read ``x.creator``)."""
    if isinstance(item, cst.Name):
        return {item.value}
    while isinstance(item, cst.Attribute):
        item = item.value
    return {item.value} if isinstance(item, cst.Name) and item.value in derivation.iterables else set()


def _report_pop0(facts: ModuleFacts, function: FunctionFacts, pops: List[cst.Call], worklist: str) -> List[Finding]:
    findings = []
    for call in pops:
        if (
            isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "pop"
            and len(call.args) == 1
            and isinstance(call.args[0].value, cst.Integer)
            and call.args[0].value.value == "0"
        ):
            message = (
                f"list.pop(0) used as a queue: '{worklist}.pop(0)' in '{function.qualname}' "
                "moves every remaining element on each pop, so the walk takes quadratic time. "
                f"Use collections.deque and {worklist}.popleft()."
            )
            findings.append(at_node(facts, call, "BPL402", message, function))
    return findings


def _report_unvisited(facts: ModuleFacts, function: FunctionFacts, loop: cst.While, worklist: str) -> Finding:
    message = (
        f"worklist graph walk without a visited set: the loop over '{worklist}' in "
        f"'{function.qualname}' pushes each node's neighbours without checking whether they "
        "were seen. A cyclic graph never empties it, and a shared node (a diamond) is "
        "processed once per path - exponential work, gradients accumulated more than once. "
        "Skip seen nodes (if n in seen: continue; seen.add(n)) or count unprocessed users "
        "(Kahn's algorithm)."
    )
    return at_node(facts, loop, "BPL401", message, function)
