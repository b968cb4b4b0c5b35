"""Project mode: the file summaries linked into one call graph.

flake8 checks one file at a time; the command hands every file to one analysis so that a
cycle ``engine.backward -> ops.apply_grad -> engine.backward`` is seen, and so that a walk
in one module counts as backward-pass code when a ``backward`` in another calls it. Each
module gets a dotted name from its path (packages are folders holding ``__init__.py``);
calls into other modules are resolved through the imports each summary recorded.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import networkx as nx

from .callgraph import shortest_cycle
from .cfg import AWAITED, ITERATED, every_path_hits
from .facts import FunctionFacts, ModuleFacts
from .parsing import AnalysisError, StandIn, def_starts, parse_planned, planned_text, run_with_deep_stack
from .checks.reached import add_root
from .findings import ChainStep, Finding
from .modules import ModuleNames
from .screen import ScreenResult, cycle_components, reachable, ways_back, with_nesting
from .summary import FileSummary, Flow, FunctionSummary


_MAX_REEXPORTS = 8  # ``pkg/__init__.py`` re-exporting ``pkg.ops.f``, followed this deep

Node = Tuple[str, str]  # (path, function key)
Screened = Tuple[str, int]  # (path, a function's index in the file's screen)


@dataclasses.dataclass
class Links:
    """What the screens of all files show together (functions by their index in the file,
    as :attr:`ScreenResult.bodies` numbers them)."""

    # the files project mode must analyse although alone they may hold nothing, each with
    # the functions that take part
    linked: Dict[str, Set[int]]
    # of those, the functions on a cycle of calls across files: their control flow goes
    # into the file's summary, the project needs it to judge the cycle
    cycling: Dict[str, Set[int]]


def linked_files(screened: Mapping[str, ScreenResult]) -> Links:
    """Files that project mode must analyse although alone they may hold nothing, each
    with the functions that take part: those on a cycle of calls across files, and those
    on a way from backward-pass code to what BPL2xx-4xx judge (with the whole walk there).
    Calls inside a file are those its screen resolved; a call into another file names a
    function there (an import: each function of that name), maybe through a re-export."""
    names = ModuleNames(screened)
    calls: Dict[Screened, Set[Screened]] = {}
    for path, result in screened.items():
        for index, callees in result.resolved.items():
            calls[(path, index)] = {(path, callee) for callee in callees}
    known: Dict[Tuple[str, str], Set[Screened]] = {}  # (package, import path) -> functions
    for path, result in screened.items():
        package = names.package_of.get(path, "")
        for index, dotted_paths in result.imported_calls.items():
            for dotted in dotted_paths:
                found = known.get((package, dotted))
                if found is None:
                    found = known[(package, dotted)] = _imported_functions(
                        screened, names, path, dotted, calls, 0)
                calls[(path, index)] |= found
    linked: Dict[str, Set[int]] = {}
    cycling: Dict[str, Set[int]] = {}
    for component in cycle_components(calls):
        if len({path for path, _ in component}) > 1:
            for path, index in component:
                linked.setdefault(path, set()).add(index)
                if index >= 0:
                    cycling.setdefault(path, set()).add(index)
    for path, index in _backward_ways(screened, calls):
        linked.setdefault(path, set()).add(index)
    return Links(linked, cycling)


def _imported_functions(screened: Mapping[str, ScreenResult], names: ModuleNames, importer: str,
                        dotted: str, calls: Dict[Screened, Set[Screened]], depth: int) -> Set[Screened]:
    """The functions an import path may name, over-approximating :meth:`Project.resolve`:
    each function of the file with the last name, a class's ``__init__``, and the file's
    re-export there (``from .ops import apply_grad`` in a package's ``__init__.py``): a
    node of its own, numbered below 0, that calls what it leads to. The project follows it
    in that file's summary: the file is analysed, though it may need no body."""
    found = names.split(importer, dotted) if depth <= _MAX_REEXPORTS else None
    if found is None:
        return set()
    path, parts = found
    result = screened[path]
    indices = list(result.named(parts[-1])) + list(result.constructors.get(parts[-1], ()))
    functions = {(path, index) for index in indices}
    if parts[0] in result.imports:
        rest = "".join("." + name for name in parts[1:])
        onwards = _imported_functions(screened, names, path, result.imports[parts[0]] + rest, calls, depth + 1)
        if onwards:
            reexport = (path, -1 - result.import_number(parts[0]))
            calls.setdefault(reexport, set()).update(onwards)
            functions.add(reexport)
    return functions


def _backward_ways(screened: Mapping[str, ScreenResult],
                   calls: Dict[Screened, Set[Screened]]) -> Set[Screened]:
    """The functions on a way from a root to what BPL2xx-4xx judge in backward-pass scope,
    and every function of a walk through one of those (``calls`` gets the edges from the
    roots to their nested functions; as :class:`screen._BackwardReach`
    finds them in one file)."""
    nesting = [((path, parent), (path, nested))
               for path, result in screened.items() for parent, nested in result.nesting]
    reaches = with_nesting(calls, nesting, copy=False)  # (the cycles across files are known)
    roots = {(path, index) for path, result in screened.items() for index in result.roots}
    tests = {(path, index) for path, result in screened.items() for index in result.tests}
    in_scope = reachable(roots, reaches, closed=tests)
    judged = {(path, index) for path, index in in_scope if index in screened[path].judged}
    ways = ways_back(judged, in_scope, reaches)
    for path, index in judged:
        for walk in screened[path].walks:
            if index in walk:
                ways.update((path, i) for i in walk)
    return ways


def def_positions(source: str, blank: Sequence[StandIn] = ()) -> List[Tuple[int, int]]:
    """(line, column) of every ``def`` the analysis saw in a file (the text its plan left),
    in source order: the index-th is the function the analysis numbered index."""
    planned = planned_text(source, blank)
    return [(planned.source_line(line), column) for line, column in def_starts(planned.text)]


class Project:
    def __init__(self, summaries: Sequence[FileSummary], sources: Mapping[str, str]):
        self.sources = sources
        self._positions: Dict[str, List[Tuple[int, int]]] = {}
        self._parsed: Dict[str, Optional[ModuleFacts]] = {}
        self._top_level: Dict[str, Dict[str, FunctionSummary]] = {}  # functions by qualname
        self.summaries = sorted(summaries, key=lambda s: s.path)
        self.names = ModuleNames(s.path for s in self.summaries)
        self.modules: Dict[str, FileSummary] = {s.path: s for s in self.summaries}
        self.functions: Dict[Node, FunctionSummary] = {}
        self.order: Dict[str, int] = {}
        for index, summary in enumerate(self.summaries):
            self.order[summary.path] = index
            for function in summary.functions:
                self.functions[(summary.path, function.key)] = function
        self.graph = self._link()

    # -- resolution -----------------------------------------------------------------------
    def _link(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        for summary in self.summaries:
            for function in summary.functions:
                node = (summary.path, function.key)
                graph.add_node(node)
                for call in function.calls:
                    target = self.target(summary, call.target, call.role)
                    if target is not None:
                        data = graph.get_edge_data(node, target, {})
                        numbers = data.get("calls", set()) | ({call.number} if call.how == "call" else set())
                        graph.add_edge(node, target, calls=numbers)
        return graph

    def target(self, summary: FileSummary, reference: str, role: str) -> Optional[Node]:
        kind, _, name = reference.partition(":")
        if kind == "local":
            return summary.path, name
        found = self.resolve(summary, name, 0)
        if found is None:
            return None
        function = self.functions[found]
        if function.is_async and role != AWAITED or function.is_generator and role != ITERATED:
            return None  # the call builds a coroutine / generator; the body does not run
        return found

    def resolve(self, importer: FileSummary, dotted: str, depth: int) -> Optional[Node]:
        """The function a dotted import path names (a class: its ``__init__``)."""
        found = self.names.split(importer.path, dotted) if depth <= _MAX_REEXPORTS else None
        if found is None:
            return None
        return self._member(self.modules[found[0]], found[1], depth)

    def _member(self, module: FileSummary, names: Sequence[str], depth: int) -> Optional[Node]:
        top = self._top_level.get(module.path)
        if top is None:
            top = self._top_level[module.path] = {
                f.qualname: f for f in module.functions if f.parent is None}
        qualname = ".".join(names)
        for candidate in (qualname, qualname + ".__init__"):
            if candidate in top:
                return module.path, top[candidate].key
        if names[0] in module.imports:  # re-exported: ``from .ops import apply_grad``
            rest = "".join("." + n for n in names[1:])
            return self.resolve(module, module.imports[names[0]] + rest, depth + 1)
        return None

    # -- findings --------------------------------------------------------------------------
    def backward_scope(self) -> Dict[Node, Optional[Node]]:
        """Roots anywhere, the functions nested in them and those they call, transitively;
        each with the function it was reached from (None for a root)."""
        children: Dict[Node, List[Node]] = {}
        for (path, key), function in self.functions.items():
            if function.parent is not None:
                children.setdefault((path, function.parent), []).append((path, key))
        reached: Dict[Node, Optional[Node]] = {
            node: None for node, function in self.functions.items() if function.root}
        nested_in_root = set(reached)  # only a root's nested functions count by nesting
        queue = sorted(reached)
        while queue:
            node = queue.pop()
            nested = children.get(node, []) if node in nested_in_root else []
            nested_in_root.update(nested)
            for nxt in list(self.graph.successors(node)) + nested:
                if nxt not in reached and not self.functions[nxt].test:
                    reached[nxt] = node
                    queue.append(nxt)
        return reached

    def scoped_findings(self) -> List[Finding]:
        scope = self.backward_scope()
        found = []
        for summary in self.summaries:
            for finding, requires in summary.conditional:
                if any((summary.path, key) in scope for key in requires):
                    found.append(add_root(finding, requires, scope, lambda key, p=summary.path: (p, key),
                                          self._describe))
        return found

    def _describe(self, node: Node) -> Tuple[str, str, int]:
        """(qualified name, path, line) of a function, for a message."""
        return self.functions[node].qualname, node[0], self.place(node)[0]

    def cross_module_cycles(self) -> List[Finding]:
        """BPL103 for cycles whose functions lie in two or more files (a file's own
        cycles are reported by its own analysis)."""
        findings = []
        for component in nx.strongly_connected_components(self.graph):
            if len({path for path, _ in component}) < 2:
                continue
            if any(self.functions[n].never_ending for n in component):
                continue
            doomed = self._doomed(set(component))
            for cycle in nx.strongly_connected_components(self.graph.subgraph(doomed)):
                if len({path for path, _ in cycle}) > 1:
                    findings.append(self._report_cycle(set(cycle)))
        return findings

    def _doomed(self, component: Set[Node]) -> Set[Node]:
        """The largest subset in which every function calls a member on every path."""
        doomed = set(component)
        worklist = sorted(component, key=self._position)
        while worklist:
            node = worklist.pop()
            if node not in doomed:
                continue
            numbers = set()
            for successor in self.graph.successors(node):
                if successor in doomed:
                    numbers |= self.graph.edges[node, successor]["calls"]
            cfg, blocks_of_calls = self._control_flow(node)
            blocks = {blocks_of_calls[n] for n in numbers if blocks_of_calls.get(n) is not None}
            if cfg is None or not every_path_hits(cfg, lambda b: b.index in blocks):
                doomed.discard(node)
                worklist.extend(p for p in self.graph.predecessors(node) if p in doomed)
        return doomed

    def _control_flow(self, node: Node):
        """The function's control-flow graph and the block of each of its calls (only
        functions on a cycle across files get here)."""
        flow = self._flow(node)
        if flow is None:
            return None, {}
        return flow.graph(), dict(enumerate(flow.call_blocks))

    def _flow(self, node: Node) -> Optional[Flow]:
        return self.functions[node].flow or self._flow_read_again(node)

    def _flow_read_again(self, node: Node) -> Optional[Flow]:
        """For a function the screens did not see on a cycle across files (its summary
        carries no flow): from its file parsed again."""
        function = self._read_again(node)
        return None if function is None else run_with_deep_stack(lambda: Flow.of(function))

    def _read_again(self, node: Node) -> Optional[FunctionFacts]:
        """The facts of a function, from its file parsed again (once per file)."""
        path = node[0]
        if path not in self._parsed:
            self._parsed[path] = _parse_quietly(*self._source_and_plan(path), path)
        module = self._parsed[path]
        index = self.functions[node].index
        if module is None or index >= len(module.functions):
            return None
        return module.functions[index]

    def _call_line(self, caller: Node, callee: Node) -> int:
        """The line of the first call from ``caller`` to ``callee`` (0: not known). Only
        a reported cycle asks: its files are parsed again here rather than every call's
        line worked out in every summary (libcst's positions cost more than the parse)."""
        numbers = self.graph.edges[caller, callee].get("calls") or set()
        function = self._read_again(caller) if numbers else None
        if function is None or min(numbers) >= len(function.calls):
            return 0
        call = function.calls[min(numbers)][0]
        return run_with_deep_stack(lambda: function.module.line_of(call, function))

    def _source_and_plan(self, path: str) -> Tuple[str, Tuple[StandIn, ...]]:
        """The file's text and the bodies its analysis left out: the functions are numbered
        in what remains."""
        source = self.sources.get(path, "")
        if source.startswith("\ufeff"):
            source = source[1:]
        summary = self.modules.get(path)
        return source, summary.blank if summary is not None else ()

    def _position(self, node: Node) -> Tuple[int, int]:
        return self.order[node[0]], self.functions[node].index

    def place(self, node: Node) -> Tuple[int, int]:
        """The (line, column) of a function's ``def``, read from its file's source."""
        path = node[0]
        if path not in self._positions:
            self._positions[path] = def_positions(*self._source_and_plan(path))
        positions = self._positions[path]
        index = self.functions[node].index
        return positions[index] if index < len(positions) else (1, 0)

    def _report_cycle(self, cycle: Set[Node]) -> Finding:
        first = min(cycle, key=self._position)
        path = shortest_cycle(self.graph.subgraph(cycle), first) or [first]
        steps = [self.functions[n] for n in path]
        lines = [self.place(n)[0] for n in path]
        names = " -> ".join(f"{f.qualname} ({n[0]}:{line})" for n, f, line in zip(path, steps, lines))
        head = self.functions[first]
        head_line, head_column = self.place(first)
        calls = [self._call_line(caller, callee) for caller, callee in zip(path, path[1:] + [first])]
        where = ", ".join(f"{n[0]}:{line}" if line else f"{n[0]}" for n, line in zip(path, calls))
        message = (
            f"infinite mutual recursion across modules: {names} -> {head.qualname}. Each call "
            f"on this cycle ({where}) is made on every path, so none of them reaches a base "
            "case. Give one of them a base case that returns without calling the next."
        )
        chain = tuple(ChainStep(line, f.qualname, n[0], call) for n, f, line, call
                      in zip(path + [first], steps + [head], lines + [head_line], calls + [0]))
        return Finding(head_line, head_column, "BPL103", message, chain, first[0])


def _parse_quietly(source: str, blank, path: str) -> Optional[ModuleFacts]:
    try:
        return run_with_deep_stack(lambda: ModuleFacts(parse_planned(source, blank), path))
    except (AnalysisError, Exception, RecursionError, MemoryError):
        return None


def link(summaries: Iterable[FileSummary], sources: Mapping[str, str]) -> List[Finding]:
    """The findings that only the whole project shows."""
    project = Project(list(summaries), sources)
    return project.cross_module_cycles() + project.scoped_findings()
