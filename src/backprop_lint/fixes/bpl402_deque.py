"""BPL402 (safe): a local list used only as a queue becomes a ``collections.deque``.

``q.pop(0)`` moves every other item of the list: a walk that pops from the front is
quadratic. When the list is a local of the function, created by list displays
(``q = [root]``, ``q = []``) and only appended to, extended, popped (``pop(0)`` or
``pop()``), tested for truth, measured with ``len`` and iterated by a loop that leaves it
alone, a deque does all of that the same way: the displays become ``deque(...)`` and
``pop(0)`` becomes ``popleft()``.

No fix where the list is used in any other way (slicing, indexing, sorting, ``+``,
printing, returning or passing it on, a loop that changes it while iterating - a deque
raises there), where it is a parameter, global or nonlocal, or where a nested scope uses it.
"""

from __future__ import annotations

from typing import Dict, Optional, Set, Tuple

import libcst as cst

from .target import (SCOPES, NoFix, Rewrite, Target, assigned_names, every_node, own_scope,
                     param_names)

CODE = "BPL402"
APPLICABILITY = "safe"
TITLE = "use collections.deque and popleft()"

EXAMPLES = [
    (
        "def backward_order(root):\n"
        "    order, queue = [], [root]\n"
        "    while queue:\n"
        "        node = queue.pop(0)\n"
        "        order.append(node)\n"
        "        queue.extend(node.parents)\n"
        "    return order\n",
        "import collections\n"
        "\n"
        "def backward_order(root):\n"
        "    order, queue = [], collections.deque([root])\n"
        "    while queue:\n"
        "        node = queue.popleft()\n"
        "        order.append(node)\n"
        "        queue.extend(node.parents)\n"
        "    return order\n",
    ),
]

QUEUE_METHODS = {"append", "extend", "pop"}


def rewrite(target: Target) -> Rewrite:
    function = target.function
    pop = _pop_zero_at(target)
    queue = pop.func.value.value  # type: ignore[attr-defined]
    if queue in param_names(function.params):
        raise NoFix(f"`{queue}` is a parameter: the caller's list")
    changes = _queue_changes(function, queue)
    deque, imports = _deque_name(target.module, function)
    replacement = function.visit(_ToDeque(changes, deque))
    return Rewrite(target.finding, APPLICABILITY, function, replacement, imports)


def _pop_zero_at(target: Target) -> cst.Call:
    for node, _ in own_scope(target.function.body):
        if _is_pop(node, "0") and target.line_of(node) == target.finding.line:
            return node  # type: ignore[return-value]
    raise NoFix("the pop(0) is not on a local name in the function's own scope")


def _is_pop(node: cst.CSTNode, index: Optional[str]) -> bool:
    """``name.pop(<index>)`` (``index`` None: ``name.pop()``)."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "pop" and isinstance(node.func.value, cst.Name)):
        return False
    if index is None:
        return not node.args
    return (len(node.args) == 1 and node.args[0].keyword is None and not node.args[0].star
            and isinstance(node.args[0].value, cst.Integer) and node.args[0].value.value == index)


def _queue_changes(function: cst.FunctionDef, queue: str) -> Dict[cst.CSTNode, str]:
    """node -> "deque" (a list display that makes the queue) or "popleft" (a pop(0)); raises
    NoFix at the first use a deque would not do the same way."""
    changes: Dict[cst.CSTNode, str] = {}
    for node, above in own_scope(function.body):
        if isinstance(node, SCOPES):
            if any(isinstance(n, cst.Name) and n.value == queue for n in every_node(node)):
                raise NoFix(f"a nested scope uses `{queue}`")
            continue
        if isinstance(node, (cst.Global, cst.Nonlocal)) and any(
                n.name.value == queue for n in node.names):
            raise NoFix(f"`{queue}` is not a local")
        if isinstance(node, cst.Name) and node.value == queue:
            _check_use(node, above, queue, changes)
    return changes


def _check_use(name: cst.Name, above: Tuple[cst.CSTNode, ...], queue: str,
               changes: Dict[cst.CSTNode, str]) -> None:
    parent = above[-1] if above else None
    grand = above[-2] if len(above) > 1 else None
    made = _made_by(name, above)
    if made is not None:
        changes[made] = "deque"
        return
    if isinstance(parent, cst.Attribute) and parent.value is name:
        if parent.attr.value in QUEUE_METHODS and isinstance(grand, cst.Call) \
                and grand.func is parent:
            if parent.attr.value != "pop":
                return
            if _is_pop(grand, "0"):
                changes[grand] = "popleft"
                return
            if _is_pop(grand, None):
                return
        raise NoFix(f"`{queue}.{parent.attr.value}` is not a queue operation")
    if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call) and len(grand.args) == 1 \
            and isinstance(grand.func, cst.Name) and grand.func.value == "len":
        return
    if _truth_test(name, above):
        return
    if isinstance(parent, cst.For) and parent.iter is name and not any(
            isinstance(n, cst.Name) and n.value == queue for n in every_node(parent.body)):
        return
    raise NoFix(f"`{queue}` is used as a list, not only as a queue")


def _made_by(name: cst.Name, above: Tuple[cst.CSTNode, ...]) -> Optional[cst.List]:
    """The list display bound to ``name`` by ``q = [...]`` or ``a, q = x, [...]``; None
    if ``name`` is not bound here; NoFix if it is bound to anything else."""
    parent = above[-1] if above else None
    if isinstance(parent, cst.AssignTarget) and parent.target is name:
        assign, value = above[-2], above[-2].value  # type: ignore[attr-defined]
    elif (isinstance(parent, cst.Element) and len(above) > 2 and isinstance(above[-2], cst.Tuple)
          and isinstance(above[-3], cst.AssignTarget) and above[-3].target is above[-2]):
        assign = above[-4]
        values = assign.value  # type: ignore[attr-defined]
        names = above[-2].elements
        if not (isinstance(values, cst.Tuple) and len(values.elements) == len(names)
                and not any(isinstance(e, cst.StarredElement) for e in values.elements)):
            raise NoFix(f"`{name.value}` is unpacked from something other than a list display")
        value = values.elements[list(names).index(parent)].value
    elif isinstance(parent, (cst.AnnAssign, cst.AugAssign, cst.For, cst.AsName, cst.NamedExpr,
                             cst.Del, cst.StarredElement, cst.Element, cst.CompFor)) \
            and not isinstance(parent, cst.Element):
        raise NoFix(f"`{name.value}` is bound to something other than a list display")
    else:
        return None
    if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1
            and isinstance(value, cst.List)):
        raise NoFix(f"`{name.value}` is bound to something other than a list display")
    return value


def _truth_test(node: cst.CSTNode, above: Tuple[cst.CSTNode, ...]) -> bool:
    """``while q``, ``if q``, ``not q``, ``x if q else y``, and ``and`` / ``or`` of those
    inside such a test (an ``or`` elsewhere could hand the list itself on)."""
    for parent in reversed(above):
        if isinstance(parent, (cst.While, cst.If)) and parent.test is node:
            return True
        if isinstance(parent, cst.IfExp) and parent.test is node:
            return True
        if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            return True
        if isinstance(parent, cst.BooleanOperation):
            node = parent
            continue
        return False
    return False


def _deque_name(module: cst.Module, function: cst.FunctionDef) -> Tuple[str, Tuple[str, ...]]:
    """What to call: ``deque`` if the module imports it, else ``collections.deque`` (and
    ``collections`` imported if it is not)."""
    used = assigned_names(function)
    imported: Set[str] = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                imported |= {cst.helpers.get_full_name_for_node(a.name) for a in small.names
                             if a.asname is None}
            if isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name) \
                    and small.module.value == "collections" and not isinstance(small.names, cst.ImportStar):
                imported |= {f"from:{a.name.value}" for a in small.names
                             if a.asname is None and isinstance(a.name, cst.Name)}
    if "from:deque" in imported and "deque" not in used - {"deque"}:
        return "deque", ()
    if "collections" in used:
        raise NoFix("the function has a local named `collections`")
    return "collections.deque", () if "collections" in imported else ("collections",)


class _ToDeque(cst.CSTTransformer):
    def __init__(self, changes: Dict[cst.CSTNode, str], deque: str) -> None:
        super().__init__()
        self.changes = changes
        self.deque = cst.parse_expression(deque)

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.BaseExpression:
        if self.changes.get(original) != "deque":
            return updated
        args = [cst.Arg(updated.with_changes(lpar=[], rpar=[]))] if updated.elements else []
        return cst.Call(func=self.deque, args=args, lpar=updated.lpar, rpar=updated.rpar)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.changes.get(original) != "popleft":
            return updated
        func = updated.func.with_changes(attr=cst.Name("popleft"))  # type: ignore[attr-defined]
        return updated.with_changes(func=func, args=[])
