"""Stage 3: the call graph of a module (networkx), built from the per-function facts.

Nodes are :class:`FunctionFacts`; an edge ``f -> g`` carries the call sites in ``f`` that
run ``g``'s body now (CODES.md: not inside lambdas or nested defs, generators only where
iterated, coroutines only where awaited).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst
import networkx as nx

from .cfg import Block
from .facts import FunctionFacts, ModuleFacts
from .names import is_name


@dataclasses.dataclass(frozen=True)
class CallSite:
    caller: FunctionFacts
    callee: FunctionFacts
    call: cst.Call
    constructs: bool  # ``C(...)`` running ``C.__init__``: BPL104's business, not a self-call

    @property
    def block(self) -> Optional[Block]:
        """The caller's block that makes the call (builds the caller's control-flow graph;
        None where the call is unreachable)."""
        return self.caller.cfg.block_of(self.call)


def call_sites(facts: ModuleFacts, function: FunctionFacts) -> List[CallSite]:
    """Every call in ``function`` that runs a function of this module now (no control-flow
    graph needed: most functions never need one)."""
    sites = []
    for call, role in function.calls:
        callee = facts.called_function(call, role, function)
        if callee is not None:
            sites.append(CallSite(function, callee, call, facts.constructs(call, function)))
    return sites


class CallGraph:
    """The module's functions and the calls among them that run now."""

    def __init__(self, modules: Sequence[ModuleFacts]):
        self.functions = [f for module in modules for f in module.functions]
        self.graph = nx.DiGraph()
        self.sites: Dict[FunctionFacts, List[CallSite]] = {}
        for function in self.functions:
            self.graph.add_node(function)
            self.sites[function] = call_sites(function.module, function)
            for site in self.sites[function]:
                self.graph.add_edge(function, site.callee)
        # a decorator of unknown effect between a call and the body cuts the call; it is
        # judged (which may read the module it comes from) only where it matters: on a cycle
        for component in nx.strongly_connected_components(self.graph):
            if len(component) > 1:
                self.graph.remove_edges_from([
                    (caller, callee) for caller, callee in self.graph.subgraph(component).edges
                    if caller is not callee and callee.wrapped])
        self.graph.remove_edges_from([(f, f) for f in list(nx.nodes_with_selfloops(self.graph)) if f.wrapped])

    def self_calls(self, function: FunctionFacts) -> List[CallSite]:
        calls = [s for s in self.sites.get(function, []) if s.callee is function and not s.constructs]
        if calls and function.wrapped:
            return []  # a decorator of unknown effect stands between the call and the body
        return calls

    def cycles(self) -> List[Set[FunctionFacts]]:
        """Strongly connected components of two or more functions (linear time)."""
        return [set(c) for c in nx.strongly_connected_components(self.graph) if len(c) > 1]

    def witness_cycle(self, members: Set[FunctionFacts], start: FunctionFacts) -> List[CallSite]:
        """A shortest cycle through ``start`` inside ``members`` (BFS, never enumerating
        all simple cycles: that is exponential on dense components)."""
        previous: Dict[FunctionFacts, CallSite] = {}
        frontier = [start]
        seen = {start}
        while frontier:
            nxt = []
            for function in frontier:
                for site in self.sites.get(function, []):
                    if site.callee not in members:
                        continue
                    if site.callee is start:
                        if function is start:
                            continue  # a self-call is not the cycle of several functions
                        return _unwind(previous, start, site)
                    if site.callee not in seen:
                        seen.add(site.callee)
                        previous[site.callee] = site
                        nxt.append(site.callee)
            frontier = nxt
        return []


def _unwind(previous: Dict[FunctionFacts, CallSite], start: FunctionFacts, last: CallSite):
    chain = [last]
    while chain[-1].caller is not start:
        chain.append(previous[chain[-1].caller])
    chain.reverse()
    return chain


def argument_binding(caller: FunctionFacts, callee: FunctionFacts,
                     call: cst.Call) -> List[Tuple[str, cst.BaseExpression]]:
    """(callee parameter, expression it receives) for the arguments we can align: the
    receiver of a bound call, positional arguments up to the first ``*``, keywords, and a
    ``*args`` / ``**kwargs`` passed on whole."""
    params = callee.params
    positional = [p for p in params if p.kind == "positional"]
    binding: List[Tuple[str, cst.BaseExpression]] = []
    position = 0
    func = call.func
    if isinstance(func, cst.Attribute) and callee.kind in ("method", "classmethod"):
        if _is_bound_call(func, caller, callee):
            position = 1
            if positional:
                binding.append((positional[0].name, func.value))
    names = callee.param_names()
    for arg in call.args:
        if arg.star == "*":
            vararg = next((p for p in params if p.kind == "vararg"), None)
            if vararg is not None and position == len(positional):
                binding.append((vararg.name, arg.value))
            position = len(params) + 1  # positions are unknown from here on
        elif arg.star == "**":
            varkw = next((p for p in params if p.kind == "varkw"), None)
            if varkw is not None:
                binding.append((varkw.name, arg.value))
        elif arg.keyword is not None:
            if arg.keyword.value in names:
                binding.append((arg.keyword.value, arg.value))
        else:
            if position < len(positional):
                binding.append((positional[position].name, arg.value))
            position += 1
    return binding


def argument_flow(caller: FunctionFacts, callee: FunctionFacts, call: cst.Call) -> Dict[str, str]:
    """For each parameter of ``callee`` that receives one of ``caller``'s parameters as
    it is (``f(x)``, ``f(n=n)``, ``self.m()`` for the receiver), the caller's name."""
    caller_params = set(caller.param_names())
    return {
        param: expr.value
        for param, expr in argument_binding(caller, callee, call)
        if isinstance(expr, cst.Name) and expr.value in caller_params
    }


def _is_bound_call(func: cst.Attribute, caller: FunctionFacts, callee: FunctionFacts) -> bool:
    """``self.m(...)`` / ``cls.m(...)`` / ``C(...).m(...)`` / ``obj.m(...)`` pass the
    receiver implicitly; ``C.m(self, ...)`` / ``type(self).m(self, ...)`` do not (unless m
    is a classmethod)."""
    receiver = func.value
    if callee.kind == "classmethod":
        return True
    if isinstance(receiver, cst.Call):
        return not is_name(receiver.func, "type")
    if isinstance(receiver, cst.Attribute) and receiver.attr.value == "__class__":
        return False
    if isinstance(receiver, cst.Name):
        return receiver.value == caller.receiver or receiver.value != (
            callee.owner.name if callee.owner else None
        )
    return True


def shortest_cycle(graph: nx.DiGraph, start) -> list:
    """A shortest cycle through ``start`` as the list of its nodes from ``start`` on
    (``[start]`` for a self-loop, ``[]`` for none): one BFS per successor, never an
    enumeration of all cycles."""
    if graph.has_edge(start, start):
        return [start]
    best = None
    for successor in graph.successors(start):
        try:
            back = nx.shortest_path(graph, successor, start)
        except nx.NetworkXNoPath:
            continue
        if best is None or len(back) < len(best):
            best = back
    return [start] + best[:-1] if best else []
