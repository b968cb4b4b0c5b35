"""Stage 3: the call graph of a module (networkx), built from the per-function facts.

Nodes are :class:`FunctionFacts`; an edge ``f -> g`` carries the call sites in ``f`` that
run ``g``'s body now (CODES.md: not inside lambdas or nested defs, generators only where
iterated, coroutines only where awaited).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Optional, Set

import libcst as cst
import networkx as nx

from .cfg import AWAITED, EVAL, ITERATED, Block
from .facts import FunctionFacts, ModuleFacts

_CALL_ROLES = (EVAL, ITERATED, AWAITED)


@dataclasses.dataclass(frozen=True)
class CallSite:
    caller: FunctionFacts
    callee: FunctionFacts
    call: cst.Call
    block: Block
    constructs: bool  # ``C(...)`` running ``C.__init__``: BPL104's business, not a self-call


def call_sites(facts: ModuleFacts, function: FunctionFacts) -> List[CallSite]:
    """Every call in ``function`` that runs a function of this module now."""
    sites = []
    for block, atom in function.cfg.atoms():
        if atom.role in _CALL_ROLES and isinstance(atom.node, cst.Call):
            callee = facts.called_function(atom.node, atom.role, function)
            if callee is not None:
                constructs = facts.constructs(atom.node, function)
                sites.append(CallSite(function, callee, atom.node, block, constructs))
    return sites


class CallGraph:
    """The module's functions and the calls among them that run now."""

    def __init__(self, facts: ModuleFacts, functions: Optional[Iterable[FunctionFacts]] = None):
        self.facts = facts
        self.graph = nx.DiGraph()
        self.sites: Dict[FunctionFacts, List[CallSite]] = {}
        for function in functions if functions is not None else facts.functions:
            self.graph.add_node(function)
            self.sites[function] = call_sites(facts, function)
            for site in self.sites[function]:
                self.graph.add_edge(function, site.callee)

    def self_calls(self, function: FunctionFacts) -> List[CallSite]:
        return [s for s in self.sites.get(function, []) if s.callee is function and not s.constructs]

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
