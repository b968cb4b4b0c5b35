"""Backward-pass scope and recursive graph walks: BPL201, BPL202.

The *walk graph* extends the call graph the way a reader of autograd code would: a call
on another object (``child.backward()``) runs the method of that name in the module's
classes (another class's first, the caller's own class only when no other class defines
it), and ``map(self.visit, n.children)`` calls ``visit`` on each child. A recursion (a
strongly connected component of this graph) is a *graph walk* when one of its calls hands
on a neighbour of the current node. Its visited set *works* when every such call sits
behind a "not seen yet" test whose key the recursion also records, in a set that outlives
one call (see graphwalk.py). Working: BPL202 (depth still grows with the graph). Not:
BPL201.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst
import networkx as nx

from ..callgraph import argument_binding, shortest_cycle
from ..cfg import Block
from ..facts import FunctionFacts, ModuleFacts
from ..findings import Finding, Scoped
from .report import at_def
from ..names import dotted_name, is_name
from ..options import names_a_test, names_backward_code
from .graphwalk import (
    Derivation,
    ElementOf,
    Nodes,
    nodes_of,
    block_test,
    describe_key,
    guard_successor,
    name_of_container,
    unguarded_path,
    visited_records,
)
from .nodekinds import NodeKinds
from .render import chain_text, source_of

HOOK_REGISTRATIONS = frozenset(
    "register_hook register_full_backward_hook register_backward_hook "
    "register_full_backward_pre_hook register_multi_grad_hook".split()
)
_CACHING_DECORATORS = frozenset({"cache", "lru_cache"})


@dataclasses.dataclass(frozen=True)
class Hop:
    """One call of the walk graph, and what the callee's parameters receive."""

    caller: FunctionFacts
    callee: FunctionFacts
    call: cst.Call
    receives: Tuple[Tuple[str, cst.BaseExpression], ...]
    how: str = "call"  # "call" (resolved), "map" (map(self.visit, xs)), "name" (by method name)

    @property
    def by_name(self) -> bool:
        return self.how == "name"

    @property
    def block(self) -> Optional[Block]:
        return self.caller.cfg.block_of(self.call)


class WalkGraph:
    def __init__(self, modules: Sequence[ModuleFacts]):
        self.functions = [f for module in modules for f in module.functions]
        self.graph = nx.DiGraph()
        self.hops: Dict[FunctionFacts, List[Hop]] = {}
        self._derivations: Dict[FunctionFacts, Derivation] = {}
        self._steps: Dict[int, Tuple[Optional[str], Optional[cst.BaseExpression]]] = {}
        self._kinds: Dict[int, NodeKinds] = {}
        self.methods_by_name: Dict[str, List[FunctionFacts]] = {}
        for cls in (c for module in modules for c in module.classes):
            for name, methods in cls.methods.items():
                if len(methods) == 1 and not methods[0].is_accessor:
                    self.methods_by_name.setdefault(name, []).append(methods[0])
        for function in self.functions:
            self.graph.add_node(function)
            hops = self.hops[function] = [
                Hop(function, callee, call, tuple(receives), how)
                for call, role in function.calls
                for callee, receives, how in self._callees(call, role, function)
            ]
            for hop in hops:
                self.graph.add_edge(function, hop.callee)

    def derivation(self, function: FunctionFacts) -> Derivation:
        if function not in self._derivations:
            self._derivations[function] = Derivation(function)
        return self._derivations[function]

    def step(self, hop: Hop) -> Tuple[Optional[str], Optional[cst.BaseExpression]]:
        """(the callee parameter receiving a neighbour of the caller's node, that neighbour);
        (None, None) when the call hands on no neighbour: no step of a graph walk. A
        neighbour is reached through the node's attributes (``self.grad_fn``, each ``p`` of
        ``v._prev``)."""
        key = id(hop)
        if key not in self._steps:
            found: Tuple[Optional[str], Optional[cst.BaseExpression]] = (None, None)
            derivation = self.derivation(hop.caller)
            for param, expr in hop.receives:
                if derivation.fans_out(expr) or derivation.collection(expr):
                    found = (param, expr)
                    break
            self._steps[key] = found
        return self._steps[key]

    def fans_out(self, hop: Hop) -> bool:
        """The step goes to one of several nodes (``for p in v._prev``), not along a
        single link (``self.parent``): only such a walk can meet a node twice."""
        neighbour = self.neighbour(hop)
        return neighbour is not None and self.derivation(hop.caller).fans_out(neighbour)

    def neighbour(self, hop: Hop) -> Optional[cst.BaseExpression]:
        return self.step(hop)[1]

    def _callees(self, call: cst.Call, role: str, caller: FunctionFacts):
        """(callee, [(callee parameter, expression it receives)]) for each function the
        call may run now."""
        facts = caller.module
        direct = facts.called_function(call, role, caller)
        if direct is not None:
            yield direct, argument_binding(caller, direct, call), "call"
            return
        func = call.func
        if is_name(func, "map") and len(call.args) >= 2:
            target = facts.resolve_reference(call.args[0].value, caller)
            if isinstance(target, FunctionFacts) and not target.is_generator:
                element = ElementOf(call.args[1].value)
                params = [p.name for p in target.params if p.kind == "positional"]
                bound = isinstance(call.args[0].value, cst.Attribute) and target.receiver is not None
                if len(params) > int(bound):
                    yield target, [(params[int(bound)], element)], "map"
            return
        # ``child.backward()`` / ``self._ctx.backward()`` on a node reached through the
        # current node's attributes: the method of that name (of another class first); any
        # other object's methods are not followed
        # (a method of that name first: _methods_named finds none otherwise, and the
        # derivation walks the caller's whole body)
        if (isinstance(func, cst.Attribute) and func.attr.value in self.methods_by_name
                and not self._receiver_known(func.value, caller)
                and self.derivation(caller).collection(func.value)):
            for method in self._methods_named(func.attr.value, func.value, caller):
                if facts.runs_now(role, method):
                    yield method, argument_binding(caller, method, call), "name"

    def _receiver_known(self, receiver: cst.BaseExpression, caller: FunctionFacts) -> bool:
        """self / cls / a class of the module / super(): resolved by the call graph."""
        if isinstance(receiver, cst.Name):
            if receiver.value == caller.receiver:
                return True
            return caller.module.lookup(receiver.value, caller) is not None or (
                receiver.value in caller.module.imports
            )
        if isinstance(receiver, cst.Call):
            return is_name(receiver.func, "super") or isinstance(receiver.func, cst.Name)
        head = (dotted_name(receiver) or "").split(".")[0]
        return head in caller.module.imports  # torch.autograd.backward(...): a module's function

    def _methods_named(self, name: str, receiver: cst.BaseExpression,
                       caller: FunctionFacts) -> List[FunctionFacts]:
        """The methods ``receiver.name()`` may run. On what the caller's node holds
        (``self._ctx``, each ``v`` of ``self._prev``): the method of the kinds of node the
        module stores there (nodekinds.py); nothing on a collaborator (``self._strategy``).
        On anything else, and where the module does not show what it holds: a method of
        that name, another class's first (``node._ctx.backward()`` from a Tensor runs a
        Function's, ``layer.backward()`` in a Network a Linear's), the caller's own class
        only when no other class defines it."""
        attribute = self._attribute_of_node(receiver, caller)
        if attribute is not None:
            holding = self.kinds(caller.module).holding(caller.owner, attribute)
            if holding.kinds or holding.collaborator:
                return self._methods_of(name, holding.kinds, caller.module)
        methods = self.methods_by_name.get(name, [])
        own = caller.owner
        others = [m for m in methods if m.owner is not own]
        return others or [m for m in methods if m.owner is own]

    def _attribute_of_node(self, receiver: cst.BaseExpression, caller: FunctionFacts) -> Optional[str]:
        if caller.owner is None or caller.receiver is None:
            return None
        return self.derivation(caller).first_attribute(receiver, caller.receiver)

    def kinds(self, module: ModuleFacts) -> NodeKinds:
        if id(module) not in self._kinds:
            self._kinds[id(module)] = NodeKinds(module)
        return self._kinds[id(module)]

    def _methods_of(self, name: str, kinds, module: ModuleFacts) -> List[FunctionFacts]:
        """``name`` as the given kinds of node run it: each kind's own (along its bases),
        and its subclasses' overrides."""
        found: List[FunctionFacts] = []
        for kind in sorted(kinds, key=lambda c: c.qualname):
            for cls in [kind] + [c for c in module.classes if c is not kind and kind in module.mro(c)]:
                method = module.method(cls, name)
                if method is not None and method not in found and name in self.methods_by_name and (
                        method in self.methods_by_name[name]):
                    found.append(method)
        return found


# -- scope -------------------------------------------------------------------------------
def backward_scope(roots: Sequence[FunctionFacts],
                   walks: WalkGraph) -> Dict[FunctionFacts, Optional[FunctionFacts]]:
    """Backward-pass functions, each with the function it was reached from (None for the
    roots: :func:`backward_roots`)."""
    reached: Dict[FunctionFacts, Optional[FunctionFacts]] = {f: None for f in roots}
    queue = collections.deque(roots)  # breadth first: each function's shortest way in
    children: Dict[FunctionFacts, List[FunctionFacts]] = {}
    for function in walks.functions:
        if function.parent is not None:
            children.setdefault(function.parent, []).append(function)
    nested_in_root = set(roots)
    while queue:
        function = queue.popleft()
        # calls resolved by a method's name alone are not followed: in a big code base they
        # would carry the scope into every class with a method of that name; and only a
        # root's nested functions are in scope by nesting (another function's closure runs
        # only if it is called, and then the call brings it in)
        callees = [h.callee for h in walks.hops.get(function, []) if not h.by_name]
        nested = children.get(function, []) if function in nested_in_root else []
        nested_in_root.update(nested)
        for nxt in nested + callees:
            if nxt not in reached and not is_test(nxt):
                reached[nxt] = function
                queue.append(nxt)
    return reached


def backward_roots(modules: Sequence[ModuleFacts], globs: Sequence[str]) -> List[FunctionFacts]:
    """Functions named by the globs, then registered hooks, in file order."""
    roots = [f for module in modules for f in module.functions
             if names_backward_code(f.name, globs) and not is_test(f)]
    return roots + [f for module in modules for f in registered_hooks(module) if f not in roots]


def is_test(function: FunctionFacts) -> bool:
    """A test, as pytest and unittest collect them: ``test_*`` functions and methods, the
    methods of ``Test*`` classes and of ``unittest.TestCase`` subclasses. A test named
    ``test_backward_runs`` is no backward pass, and what it calls is library code."""
    if names_a_test(function.name):
        return True
    cls = function.owner
    if cls is None:
        return False
    classes = [c for c in function.module.mro(cls) if c is not None]
    return cls.name.startswith("Test") or any(
        (base or "").rsplit(".", 1)[-1].endswith("TestCase") for c in classes for base in c.bases)


def registered_hooks(facts: ModuleFacts) -> List[FunctionFacts]:
    """Functions passed to ``register_hook`` and its siblings anywhere in the module."""
    hooks = []
    for call, caller in hook_registrations(facts):
        target = facts.resolve_reference(hook_argument(call), caller)
        if isinstance(target, FunctionFacts) and target not in hooks:
            hooks.append(target)
    return hooks


def hook_registrations(facts: ModuleFacts) -> Iterator[Tuple[cst.Call, Optional[FunctionFacts]]]:
    for node, caller in facts.calls_everywhere():
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in HOOK_REGISTRATIONS and node.args:
            yield node, caller
        elif isinstance(func, cst.Name) and func.value in HOOK_REGISTRATIONS and node.args:
            yield node, caller


def hook_argument(call: cst.Call) -> cst.BaseExpression:
    """The hook function: the ``hook=`` keyword, else the last positional argument
    (``register_multi_grad_hook(tensors, fn)``), unwrapping ``functools.partial``."""
    chosen = None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("hook", "fn"):
            chosen = arg.value
            break
    if chosen is None:
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        chosen = positional[-1] if positional else call.args[0].value
    if isinstance(chosen, cst.Call) and (dotted_name(chosen.func) or "").endswith("partial") and chosen.args:
        chosen = chosen.args[0].value
    return chosen


# -- BPL201 / BPL202 ---------------------------------------------------------------------
def check_graph_walks(walks: WalkGraph,
                      scope: Dict[FunctionFacts, Optional[FunctionFacts]],
                      never_ending: Set[FunctionFacts], everywhere: bool = True) -> List[Scoped]:
    """Recursive graph walks, each counting if one of its functions is backward-pass code;
    all of them, or (``everywhere`` False) only those that ``scope`` already reaches."""
    findings: List[Scoped] = []
    for component in nx.strongly_connected_components(walks.graph):
        members = set(component)
        if len(members) == 1:
            (only,) = members
            if not walks.graph.has_edge(only, only):
                continue
        if members & never_ending or not everywhere and not any(f in scope for f in members):
            continue
        if _recurses_into_its_argument(walks, members):
            continue
        ordered = sorted(members, key=lambda f: f.order)  # sets of functions have no stable order
        hops = [h for f in ordered for h in walks.hops[f] if h.callee in members and walks.neighbour(h) is not None]
        if not any(walks.fans_out(h) for h in hops) and not (any(
            f in scope and scope[f] is None for f in members
        ) and _node_goes_round(walks, members, hops)):
            # a single link followed (``self.data.m()``) is delegation down a chain, which
            # cannot meet a node twice; it counts only where the function is itself named
            # as backward-pass code (``self.parent.backward()``, the contract's example)
            # and the node itself goes round the cycle
            continue
        first = min(members, key=lambda f: f.order)
        problem = _unguarded_cycle(walks, members, ordered, hops)
        if problem:
            finding = _report_broken(walks, first, members, problem())
        else:
            finding = _report_deep(walks, scope, first, members)
        findings.append((finding, frozenset(f.key for f in members)))
    return findings


def _recurses_into_its_argument(walks: WalkGraph, members: Set[FunctionFacts]) -> bool:
    """The recursion also descends into the elements of its own argument (``for item in
    var: f(item)``): nested data, ``_nested_map`` style, not a graph; its attribute steps
    (``for item in var.items``) descend through wrapped containers of the same tree."""
    for function in members:
        derivation = walks.derivation(function)
        for hop in walks.hops[function]:
            if hop.callee is not function:
                continue
            for param, expr in hop.receives:
                if isinstance(expr, cst.Name) and expr.value not in derivation.params and any(
                        derivation.reached(s) == (param, 0) for s in derivation.iterables.get(expr.value, [])):
                    return True
    return False


def _node_goes_round(walks: WalkGraph, members: Set[FunctionFacts], steps: List[Hop]) -> bool:
    """Some step comes back to its caller along calls that each hand on the node or a
    neighbour of it. A cycle that makes a new object on the way (``spec =
    spec_from_loader(name, self)``, then ``_load(spec)``) walks no graph: it builds one."""
    carried = nx.DiGraph()
    for function in members:
        names = _node_names(walks, function, members)
        for hop in walks.hops[function]:
            if hop.callee in members and (walks.neighbour(hop) is not None or any(
                    isinstance(expr, cst.Name) and expr.value in names for _, expr in hop.receives)):
                carried.add_edge(hop.caller, hop.callee)
    return any(carried.has_node(hop.callee) and nx.has_path(carried, hop.callee, hop.caller)
               for hop in steps)


def _unguarded_cycle(walks: WalkGraph, members: Set[FunctionFacts],
                     ordered: List[FunctionFacts], hops: List[Hop]) -> Optional[str]:
    """What is wrong with the first neighbour call that lies on a cycle of calls none of
    which is guarded; None when every cycle of the walk passes a working visited test
    (one guarded function per cycle is enough: Variable -> Creator -> Variable)."""
    problems = [_guard_problem(walks, members, hop) for hop in hops]
    guarded = {id(hop.call) for hop, problem in zip(hops, problems) if problem is None}
    unguarded = nx.DiGraph()
    for function in ordered:
        for hop in walks.hops[function]:
            if hop.callee in members and id(hop.call) not in guarded:
                unguarded.add_edge(hop.caller, hop.callee)
    for hop, problem in zip(hops, problems):
        if problem and unguarded.has_node(hop.callee) and nx.has_path(unguarded, hop.callee, hop.caller):
            return problem
    return None


def _node_names(walks: WalkGraph, function: FunctionFacts, members: Set[FunctionFacts]) -> Nodes:
    """The names that stand for "the current node" in a function of the walk: the
    parameters that receive neighbours, and the neighbours it hands on."""
    names = set()
    for hops in walks.hops.values():
        for hop in hops:
            param = walks.step(hop)[0] if hop.callee is function and hop.caller in members else None
            if param:
                names.add(param)
    for hop in walks.hops[function]:
        neighbour = walks.neighbour(hop) if hop.callee in members else None
        if neighbour is not None:
            root = walks.derivation(function).neighbour_root(neighbour)
            if root:
                names.add(root)
            if isinstance(neighbour, cst.Name):
                names.add(neighbour.value)
    return nodes_of(function, names)


def _guard_problem(walks: WalkGraph, members: Set[FunctionFacts], hop: Hop) -> Optional[str]:
    """None if a working visited set guards this call, else what is wrong (a function
    writing the message: positions for its line numbers cost a pass over the tree)."""
    if any(d.rsplit(".", 1)[-1] in _CACHING_DECORATORS for d in hop.callee.decorators):
        return None
    caller = hop.caller
    nodes = _node_names(walks, caller, members)
    records = set()
    for member in members:
        records |= visited_records(member.cfg, _node_names(walks, member, members))
    tests = []

    def guard(block: Block) -> Optional[int]:
        test = block_test(block, nodes)
        if test is not None and test.container is None and (None, test.key) not in records:
            test = None  # ``if node._ctx:`` is a marker only if the walk sets it
        if test is not None:
            tests.append(test)
        return guard_successor(block, test)

    line = _LazyLine(hop)  # positions cost a pass over the tree: only for a message
    if hop.block is None:
        return None  # the call is never reached
    if not unguarded_path(caller.cfg, hop.block, guard) and not tests:
        return None  # the call cannot be reached from the entry at all
    if unguarded_path(caller.cfg, hop.block, guard):
        if not tests:
            return lambda: f"no visited set guards the recursive call at l.{line}"
        return lambda: (f"the visited test '{_test_text(tests[0])}' does not guard the "
                        f"recursive call at l.{line}")
    for test in tests:
        if (test.container, test.key) in records:
            return _lifetime_problem(caller, hop, test.container, line)
    test = tests[0]
    recorded = sorted(k for c, k in records if c == test.container)
    if recorded:
        return lambda: (f"the visited set tests '{_test_text(test)}' but records "
                        f"{describe_key(recorded[0])}: the keys never match")
    recorded_other = _recorded_other_value(members, test.container)
    if recorded_other:
        return lambda: (f"the visited set tests '{_test_text(test)}' but records "
                        f"'{recorded_other}', which is not the node being walked")
    return lambda: f"the visited test '{_test_text(test)}' is never recorded: nothing is ever marked seen"


def _recorded_other_value(members: Set[FunctionFacts], container: Optional[str]) -> Optional[str]:
    """What a ``container.add(x)`` in the walk records when x is not a walked node."""
    if container is None:
        return None
    for member in sorted(members, key=lambda f: f.order):
        for _, atom in member.cfg.atoms():
            node = atom.node
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in ("add", "append")
                and node.args
                and dotted_name(node.func.value) == container
            ):
                return dotted_name(node.args[0].value) or "?"
    return None


class _LazyLine:
    """The line of a hop's call, looked up when a message is written."""

    def __init__(self, hop: Hop):
        self.hop = hop

    def __str__(self) -> str:
        return str(self.hop.caller.module.line_of(self.hop.call, self.hop.caller))


def _lifetime_problem(caller: FunctionFacts, hop: Hop, container: Optional[str], line) -> Optional[str]:
    """A visited set that is a fresh local of the recursive function forgets everything
    at each call; a parameter must be handed on."""
    root = name_of_container(container)
    if root is None or root in caller.scope.global_names or root in caller.scope.nonlocal_names:
        return None
    params = set(caller.param_names())
    if root in params:
        if _class_attribute(caller, root, container):
            return None  # self.seen defined in the class body: one set for all instances
        handed = [hop.call.func] + [a.value for a in hop.call.args]
        passed = any(
            is_name(value, root) or (isinstance(value, cst.Attribute) and is_name(value.value, root))
            for value in handed
        )
        return None if passed else lambda: (
            f"the visited set '{container}' is not handed on by the recursive call at "
            f"l.{line}: each call starts with a new one")
    if root in caller.scope.bindings:
        return lambda: (f"the visited set '{container}' is created anew in every call of "
                        f"'{caller.name}': it never remembers a node across the recursion")
    return None


def _class_attribute(function: FunctionFacts, root: str, container: Optional[str]) -> bool:
    if function.owner is None or root != function.receiver or container is None:
        return False
    attribute = container[len(root) + 1:].split(".")[0]
    return attribute in function.owner.scope.bindings


def _test_text(test) -> str:
    return source_of(test.node)


def _cycle(walks: WalkGraph, members: Set[FunctionFacts], first: FunctionFacts) -> List[FunctionFacts]:
    """``[build_topo, build_topo]`` or ``[Tensor.backward, Op.backward, Tensor.backward]``:
    a shortest way from the first function back to itself."""
    return (shortest_cycle(walks.graph.subgraph(members), first) or [first]) + [first]


def _cycle_names(walks: WalkGraph, members: Set[FunctionFacts], first: FunctionFacts) -> List[str]:
    return [f.qualname for f in _cycle(walks, members, first)]


def _report_broken(walks, first, members, problem) -> Finding:
    chain = chain_text(_cycle_names(walks, members, first))
    message = (
        f"recursive graph walk without a working visited set: {chain}. {_sentence(problem)}: "
        "a cyclic graph recurses forever, and a node shared by several paths (a diamond) is "
        "walked once per path - exponential time, gradients accumulated more than once. "
        "Test and record the same key (if id(n) in seen: return; seen.add(id(n))) in a set "
        "that outlives the call."
    )
    return at_def(first, "BPL201", message, _cycle(walks, members, first))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _report_deep(walks, scope, first, members) -> Finding:
    root_chain = []
    current = scope.get(first)
    while current is not None and current not in root_chain:
        root_chain.append(current)
        current = scope.get(current)
    names = [f.qualname for f in reversed(root_chain)] + _cycle_names(walks, members, first)
    message = (
        f"recursion depth grows with graph depth: {chain_text(names)} takes one Python frame "
        "per node. A graph deeper than the recursion limit (about 1000 nodes: a long scalar "
        "chain, an unrolled RNN) raises RecursionError. Walk it with an explicit stack: "
        "stack = [(root, False)]; while stack: n, done = stack.pop(); ..."
    )
    return at_def(first, "BPL202", message, _cycle(walks, members, first))
