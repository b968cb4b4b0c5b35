"""BPL101, BPL102, BPL103: explicit recursion that never ends.

* BPL101: every path from entry runs a self-call before it can exit (rustc's rule on our
  control-flow graph).
* BPL102: some path reaches a self-call that passes on unchanged everything its guards
  read, and nothing on that path can change what they read: once it recurses, it takes
  the same path again, forever.
* BPL103: a cycle of functions in which each one, on every path, calls the next: the
  greatest fixed point over each strongly connected component of the call graph.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst
import networkx as nx

from ..callgraph import CallGraph, CallSite, argument_flow
from ..cfg import DELETE, ENTER, PURE_BUILTINS, STORE, YIELD, Block, every_path_hits
from ..facts import FunctionFacts
from ..findings import Finding
from .progress import GuardReads, enters_inertly, store_runs_no_code
from .report import at_def, label
from ..names import child_nodes
from .render import chain_text, line_list, source_of


def check_recursion(graph: CallGraph) -> List[Finding]:
    findings: List[Finding] = []
    infinite: Set[FunctionFacts] = set()
    for function in graph.functions:
        self_calls = graph.self_calls(function)
        if not self_calls:
            continue
        if _always_calls(function, self_calls):
            infinite.add(function)
            findings.append(_report_infinite(function, self_calls))
            continue
        stuck = _first_no_progress_call(function, self_calls)
        if stuck is not None:
            findings.append(_report_no_progress(function, *stuck))
    findings.extend(_mutual_recursion(graph, infinite))
    return findings


def _always_calls(function: FunctionFacts, sites: List[CallSite]) -> bool:
    blocks = _blocks(sites)
    return every_path_hits(function.cfg, lambda block: block.index in blocks)


def _blocks(sites) -> Set[int]:
    """The blocks that make these calls (an unreachable call has none)."""
    return {s.block.index for s in sites if s.block is not None}


def _counts(site: CallSite) -> bool:
    """Reachable, and not in a try that catches the RecursionError it would end in."""
    return site.block is not None and not site.block.shielded


# -- BPL101 -------------------------------------------------------------------------------
def _report_infinite(function: FunctionFacts, sites: List[CallSite]) -> Finding:
    where = line_list(sorted({function.module.line_of(s.call, function) for s in sites if _counts(s)}))
    kind = "coroutine " if function.is_async else "generator " if function.is_generator else ""
    message = (
        f"infinite recursion: {kind}'{function.qualname}' calls itself on every path "
        f"({where}). No path reaches a return, a raise or the end without recursing. "
        "Add a base case that returns before the self-call."
    )
    return at_def(function, "BPL101", message, [function, function])


# -- BPL102 -------------------------------------------------------------------------------
def _first_no_progress_call(function: FunctionFacts, sites: List[CallSite]):
    for site in sites:
        if not _counts(site):
            continue
        flow = argument_flow(function, function, site.call)
        unchanged = {param for param, source in flow.items() if param == source}
        guards = _NoProgress(function, site.call, unchanged).path_to_call()
        if guards is not None:
            return site, unchanged, guards
    return None


class _NoProgress:
    """Search a path from entry to one self-call along which the recursion cannot change
    anything its guards read."""

    def __init__(self, function: FunctionFacts, call: cst.Call, unchanged: Set[str],
                 names: Optional[Dict[str, str]] = None, reads: Optional[GuardReads] = None):
        self.function = function
        # what the guards read through objects (around a cycle: every function's guards)
        self.reads = reads if reads is not None else GuardReads.of([function])
        self.call = call
        self.unchanged = unchanged
        # how the guards' variables are spelt in their atoms (None: as they are written)
        self.names = names
        self._spelt: Dict[int, str] = {}
        self._stable: Dict[int, bool] = {}
        self.stable_locals = self._stable_locals()

    # which names keep their value from one recursion level to the next
    def _is_stable_name(self, name: str) -> bool:
        scope = self.function.scope
        if name in self.unchanged:
            return True
        if name in scope.global_names or name in scope.nonlocal_names:
            return False
        if name in scope.bindings:
            return name in self.stable_locals
        return True  # a global, builtin or closure variable: only a call could change it

    def _stable_locals(self) -> Set[str]:
        """Locals assigned only from stable expressions (a flow-insensitive fixpoint)."""
        scope = self.function.scope
        params = set(self.function.param_names())
        candidates = {
            name for name, values in scope.assigned_values.items()
            if name not in params and all(v is not None for v in values)
        }
        self.stable_locals: Set[str] = set(candidates)
        changed = True
        while changed:
            changed = False
            for name in sorted(self.stable_locals):
                if not all(self.is_stable(v) for v in scope.assigned_values[name]):
                    self.stable_locals.discard(name)
                    changed = True
        return self.stable_locals

    def is_stable(self, expr: cst.CSTNode) -> bool:
        """The expression reads only names that keep their value across the recursion.

        Answers are kept per node: the guard ``a or b or c ...`` is met once per operand,
        each time as the prefix before it, and must not cost quadratic time."""
        known = self._stable.get(id(expr))
        if known is None:
            known = self._stable[id(expr)] = self._compute_stable(expr)
        return known

    def _compute_stable(self, expr: cst.CSTNode) -> bool:
        stack = [expr]
        while stack:
            node = stack.pop()
            if node is not expr and id(node) in self._stable:
                if not self._stable[id(node)]:
                    return False
                continue
            if isinstance(node, cst.BooleanOperation) and node is not expr:
                if not self.is_stable(node):
                    return False
                continue
            if isinstance(node, cst.Name):
                if not self._is_stable_name(node.value):
                    return False
            elif isinstance(node, cst.Attribute):
                stack.append(node.value)
            elif isinstance(node, cst.Call):
                if not _is_pure_call(node):
                    return False
                stack.extend(arg.value for arg in node.args)
            elif isinstance(node, (cst.Lambda, cst.Await, cst.Yield, cst.NamedExpr,
                                   cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
                return False
            else:
                stack.extend(child_nodes(node))
        return True

    def _kills(self, block: Block, stop_at: Optional[cst.Call]) -> Optional[object]:
        """True if the block may change state before ``stop_at`` (or its end); None if it
        reaches ``stop_at`` cleanly; CALLS (CALLED_THEN_REACHED) if it runs unknown code
        that cannot rebind the function's locals (a call of something other than a pure
        builtin) on its way to the end (to ``stop_at``)."""
        calls: object = False
        for atom in block.atoms:
            node = atom.node
            if node is stop_at:
                return CALLED_THEN_REACHED if calls else None
            if atom.role == YIELD or isinstance(node, cst.Await):
                return True
            if atom.role == ENTER:
                if not enters_inertly(node, self.function):
                    return True  # entering the context runs unknown code
                continue
            if atom.role in (STORE, DELETE):
                if isinstance(node, cst.Attribute):
                    if self.reads.may_read(node) or not store_runs_no_code(node, self.function):
                        return True  # it may change what a guard reads
                    continue
                if not isinstance(node, cst.Name):
                    return True  # an item store: may be what a guard reads
                declared = self.function.scope.global_names | self.function.scope.nonlocal_names
                if node.value in self.unchanged or node.value in declared:
                    return True
            elif isinstance(node, cst.Call) and not _is_pure_call(node) and not enters_inertly(node, self.function):
                calls = CALLS  # no call can rebind a local of the caller: see call_proof
        return calls

    def path_to_call(self) -> Optional[List[cst.BaseExpression]]:
        """The guards along a clean, feasible path to the self-call, or None."""
        for guards, _, _ in self.paths_to_call():
            return guards
        return None

    def paths_to_call(self, assumed: FrozenSet[Tuple[str, bool]] = frozenset()
                      ) -> Iterator[Tuple[List[cst.BaseExpression], FrozenSet[Tuple[str, bool]], bool]]:
        """Each clean, feasible path to the call: its guards, the outcomes it needs of
        them (``assumed``: outcomes already needed elsewhere on the cycle) and whether it
        runs unknown code on the way, once per distinct set of outcomes.

        The search is path-sensitive on the guards: nothing on a clean path changes what
        they read, so the same test (its atom, see :meth:`_literal`) has the same outcome
        each time it is met; a path that takes both outcomes (``if isinstance(x, Box): x =
        x.data`` then ``if isinstance(x, Box): f(x)`` without the assignment, or ``if
        flag:`` then ``if not flag: f()``) cannot happen.
        """
        cfg = self.function.cfg
        target = self.call
        stack = [(cfg.entry, (), assumed, False)]
        seen = {(cfg.entry, assumed, False)}
        yielded: Set[Tuple[FrozenSet[Tuple[str, bool]], bool]] = set()
        while stack:
            if len(seen) > _MAX_PATH_STATES:
                return  # too many combinations of guards to be sure: say nothing
            index, guards, decided, called = stack.pop()
            block = cfg.blocks[index]
            verdict = self._kills(block, target)
            called = called or verdict is CALLS or verdict is CALLED_THEN_REACHED
            if verdict is None or verdict is CALLED_THEN_REACHED:
                if any(_inspects_method(g, target) for g in guards):
                    return  # ``if self.m.__func__ is Base.m``: the code asks who m is
                if called and not self.call_proof(guards):
                    continue  # the call may change what the guards read
                if (decided, called) not in yielded:
                    yielded.add((decided, called))
                    yield list(guards), decided, called
                continue
            if verdict is True or index == cfg.exit:
                continue
            successors = block.successors
            if len(successors) > 1 and block.deciders:
                if not all(self.is_stable(d) for d in block.deciders):
                    continue
                guards = guards + tuple(block.deciders)
            for successor in successors:
                outcome = _outcome(block, successor)
                now = decided
                # an ``and`` / ``or`` prefix is decided by its operands' own tests
                if outcome is not None and not isinstance(block.deciders[-1], cst.BooleanOperation):
                    atom, holds = self._literal(block.deciders[-1], outcome)
                    if (atom, not holds) in decided:
                        continue  # the same stable test, the other way: infeasible
                    now = decided | {(atom, holds)}
                if (successor, now, called) not in seen:
                    seen.add((successor, now, called))
                    stack.append((successor, guards, now, called))

    def call_proof(self, guards: Sequence[cst.BaseExpression]) -> bool:
        """No call can change what these guards read: no call can rebind a local of the
        caller, and they read only parameters passed on unchanged, by identity (``is``,
        ``isinstance``) or compared with a number (``n > 0``: an int or float, which no
        call can change in place either)."""
        return all(_call_proof(g, self.unchanged) for g in guards)

    def _literal(self, test: cst.BaseExpression, outcome: bool) -> Tuple[str, bool]:
        """The test taken ``outcome``-wise as (atom, polarity): ``not x`` is ``x`` taken
        the other way, ``a is not b`` / ``a != b`` / ``a not in b`` are ``is`` / ``==`` /
        ``in`` taken the other way; names are spelt as :attr:`names` says, so the same
        value has the same atom in every function of a cycle."""
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, outcome = test.expression, not outcome
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            flipped = _NEGATED_COMPARISONS.get(type(target.operator))
            if flipped is not None:
                outcome = not outcome
            operator = _COMPARISON_TEXT.get(flipped or type(target.operator))
            if operator is not None:
                return f"{self._spelling(test.left)} {operator} {self._spelling(target.comparator)}", outcome
        return self._spelling(test), outcome

    def _spelling(self, expr: cst.BaseExpression) -> str:
        """The expression's code with each variable spelt by :attr:`names` (attribute
        names and keywords kept as they are)."""
        spelt = self._spelt.get(id(expr))
        if spelt is None:
            renamed = expr.visit(_Respell(expr, self.names)) if self.names else expr
            spelt = self._spelt[id(expr)] = source_of(renamed.with_changes(lpar=[], rpar=[])
                                                      if hasattr(renamed, "lpar") else renamed, 400)
        return spelt


class _Respell(cst.CSTTransformer):
    """Renames the variables of one expression (not attribute names nor keywords)."""

    def __init__(self, root: cst.CSTNode, names: Dict[str, str]):
        super().__init__()
        self.names = names
        self.fixed: Set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Attribute):
                self.fixed.add(id(node.attr))
            elif isinstance(node, cst.Arg) and node.keyword is not None:
                self.fixed.add(id(node.keyword))
            stack.extend(child_nodes(node))

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if id(original) in self.fixed:
            return updated
        return updated.with_changes(value=self.names.get(original.value, original.value))


_NEGATED_COMPARISONS = {cst.IsNot: cst.Is, cst.NotEqual: cst.Equal, cst.NotIn: cst.In}
_COMPARISON_TEXT = {
    cst.Is: "is", cst.Equal: "==", cst.In: "in", cst.LessThan: "<", cst.GreaterThan: ">",
    cst.LessThanEqual: "<=", cst.GreaterThanEqual: ">=",
}


# a block's verdicts: it runs unknown code, which cannot rebind the function's locals
# (and then reaches the call)
CALLS = "calls"
CALLED_THEN_REACHED = "called, then reached"


def _call_proof(guard: cst.BaseExpression, parameters: Set[str]) -> bool:
    """``guard`` reads only ``parameters``, by identity or compared with a number: see
    _NoProgress.call_proof."""
    if isinstance(guard, cst.UnaryOperation) and isinstance(guard.operator, cst.Not):
        return _call_proof(guard.expression, parameters)
    if isinstance(guard, cst.BooleanOperation):
        return _call_proof(guard.left, parameters) and _call_proof(guard.right, parameters)
    if isinstance(guard, cst.Call):
        func = guard.func
        return (isinstance(func, cst.Name) and func.value in _TYPE_TESTS and len(guard.args) >= 1
                and not guard.args[0].star and guard.args[0].keyword is None
                and _is_parameter(guard.args[0].value, parameters))
    if isinstance(guard, cst.Comparison) and len(guard.comparisons) == 1:
        target = guard.comparisons[0]
        left, right = guard.left, target.comparator
        if isinstance(target.operator, (cst.Is, cst.IsNot)):
            return all(_is_parameter(side, parameters) or _is_constant(side) for side in (left, right))
        if isinstance(target.operator, _ORDERINGS):
            return (_is_parameter(left, parameters) and _is_number(right)
                    or _is_number(left) and _is_parameter(right, parameters))
    return False


_TYPE_TESTS = frozenset({"isinstance", "issubclass", "callable"})
_ORDERINGS = (cst.Equal, cst.NotEqual, cst.LessThan, cst.GreaterThan, cst.LessThanEqual,
              cst.GreaterThanEqual)


def _is_parameter(expr: cst.BaseExpression, parameters: Set[str]) -> bool:
    return isinstance(expr, cst.Name) and expr.value in parameters


def _is_number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        expr = expr.expression
    return isinstance(expr, (cst.Integer, cst.Float))


def _is_constant(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value in ("None", "True", "False") or _is_number(expr)


def _inspects_method(guard: cst.CSTNode, call: cst.Call) -> bool:
    """The guard reads the called method as a value (``self.path_stats.__func__ is
    SourceLoader.path_stats``, ``type(self).m is not Base.m``): it tests which override
    runs, so the static resolution of the call cannot be trusted on this path."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    wanted = func.attr.value
    stack = [guard]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Attribute) and node.attr.value == wanted:
            return True
        stack.extend(child_nodes(node))
    return False


# Bound on (block, decisions) states explored by the path-sensitive search.
_MAX_PATH_STATES = 20_000


def _outcome(block: Block, successor: int) -> Optional[bool]:
    """The value of the block's test that leads to ``successor`` (None: not a test)."""
    if block.true_successor is None or not block.deciders or len(block.successors) != 2:
        return None
    return successor == block.true_successor


def _is_pure_call(call: cst.Call) -> bool:
    if isinstance(call.func, cst.Name):
        return call.func.value in PURE_BUILTINS
    # methods of string literals: "{}".format(x), ", ".join(...)
    return isinstance(call.func, cst.Attribute) and isinstance(
        call.func.value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
    )


def _report_no_progress(function: FunctionFacts, site: CallSite, unchanged: Set[str],
                        guards: List[cst.BaseExpression]) -> Finding:
    call_line = function.module.line_of(site.call, function)
    passed = ", ".join(f"'{n}'" for n in sorted(unchanged)) or "no argument"
    if guards:
        guard = guards[-1]
        reason = (f"The guard '{source_of(guard)}' (l.{function.module.line_of(guard, function)}) reads only "
                  f"state that the call at l.{call_line} passes on unchanged ({passed})")
    else:
        reason = (f"The call at l.{call_line} passes on {passed} unchanged and nothing "
                  "before it changes state")
    message = (
        f"recursion without progress: '{function.qualname}' can reach its base case, "
        f"but not by recursing. {reason}, so once it recurses it recurses forever. "
        "Pass a smaller or different argument, or change what the guard reads first."
    )
    return at_def(function, "BPL102", message, [function, function])


# -- BPL103 -------------------------------------------------------------------------------
def _mutual_recursion(graph: CallGraph, infinite: Set[FunctionFacts]) -> List[Finding]:
    findings = []
    for component in graph.cycles():
        if component & infinite:
            continue  # a BPL101 inside already explains it
        doomed = _doomed_functions(graph, component)
        cycles = [c for c in nx.strongly_connected_components(graph.graph.subgraph(doomed))
                  if len(c) > 1]
        for cycle in cycles:
            findings.append(_report_cycle(graph, set(cycle), "is made on every path"))
        if not cycles:
            first = min(component, key=lambda f: f.order)
            steps = graph.witness_cycle(component, first)
            if _cycle_makes_no_progress(steps):
                findings.append(_report_cycle(
                    graph, component,
                    "passes its arguments on unchanged and nothing its guards read changes",
                    steps))
    return findings


# Longer witness cycles are not checked for progress: the check is quadratic in length.
_MAX_NO_PROGRESS_CYCLE = 50
# Bound on the paths (and path searches) combined around one cycle for feasibility.
_MAX_CYCLE_SEARCH = 2_000


def _cycle_makes_no_progress(steps: List[CallSite]) -> bool:
    """Every call on the cycle hands on, around the whole cycle, the values its function's
    guards read, a clean path leads to it (the BPL102 rule, lifted to cycles), and the
    outcomes these paths need of their guards can hold together: with nothing they read
    changed, a test one function takes one way cannot be taken the other way by the next."""
    if not steps or len(steps) > _MAX_NO_PROGRESS_CYCLE:
        return False
    flows = [argument_flow(s.caller, s.callee, s.call) for s in steps]
    reads = GuardReads.of(s.caller for s in steps)
    searches = []
    for index, step in enumerate(steps):
        if not _counts(step):
            return False
        preserved = {
            name for name in step.caller.param_names()
            if name in _around_the_cycle(flows, index, name)
        }
        names = _shared_names(step.caller, _held_from_start(steps[0].caller, flows, index))
        searches.append(_NoProgress(step.caller, step.call, preserved, names, reads))
    budget = [_MAX_CYCLE_SEARCH]

    def feasible(index: int, assumed: FrozenSet[Tuple[str, bool]], called: bool, proof: bool) -> bool:
        """(``called``: some function on the way runs unknown code; ``proof``: the
        guards met so far are all proof against it)"""
        if index == len(searches):
            return proof or not called
        budget[0] -= 1  # (each search of a function's paths counts too)
        for guards, decided, calls in searches[index].paths_to_call(assumed):
            budget[0] -= 1
            if budget[0] < 0:
                return False  # too many combinations to be sure: say nothing
            if feasible(index + 1, decided, called or calls,
                        proof and searches[index].call_proof(guards)):
                return True
        return False

    return feasible(0, frozenset(), False, True)


def _held_from_start(start: FunctionFacts, flows: List[Dict[str, str]], index: int) -> Dict[str, str]:
    """For the parameters of the cycle's ``index``-th function that hold, unchanged, a
    parameter of the cycle's first function: the name of that first parameter."""
    held = {}
    for name in start.param_names():
        holders = {name}
        for flow in flows[:index]:
            holders = {param for param, source in flow.items() if source in holders}
        held.update((holder, name) for holder in holders)
    return held


def _shared_names(function: FunctionFacts, held: Dict[str, str]) -> Dict[str, str]:
    """How the guards of ``function`` spell their variables so that one value has one
    spelling around a cycle: a parameter holding the first function's parameter ``p`` is
    ``$p``; any other local is its own function's; a global is its module's."""
    names = {}
    scope = function.scope
    for name in scope.bindings:
        if name in held and name not in scope.global_names | scope.nonlocal_names:
            names[name] = f"{_SPELT}p_{held[name]}"
        else:
            names[name] = f"{_SPELT}l{function.module.order}_{function.index}_{name}"
    return _GlobalSpelling(names, function.module.order)


# the prefix of the names the atoms of a cycle's guards are spelt with (still identifiers)
_SPELT = "__bpl_"


class _GlobalSpelling(dict):
    """A name no entry spells (a global or builtin) is its module's."""

    def __init__(self, names: Dict[str, str], module: int):
        super().__init__(names)
        self.module = module

    def __missing__(self, name: str) -> str:
        return f"{_SPELT}g{self.module}_{name}"

    def get(self, name, default=None):  # type: ignore[override]
        return self[name]


def _around_the_cycle(flows: List[Dict[str, str]], start: int, name: str) -> Set[str]:
    """The parameters of the cycle's ``start`` function that, after one turn of the
    cycle, hold the value its parameter ``name`` held."""
    holders = {name}
    for offset in range(len(flows)):
        flow = flows[(start + offset) % len(flows)]
        holders = {param for param, source in flow.items() if source in holders}
    return holders


def _doomed_functions(graph: CallGraph, component: Set[FunctionFacts]) -> Set[FunctionFacts]:
    """The largest subset in which every function calls a member on every path."""
    doomed = set(component)
    worklist = sorted(component, key=lambda f: f.order)
    while worklist:
        function = worklist.pop()
        if function not in doomed:
            continue
        blocks = _blocks(s for s in graph.sites[function] if s.callee in doomed)
        if not every_path_hits(function.cfg, lambda block: block.index in blocks):
            doomed.discard(function)
            worklist.extend(p for p in graph.graph.predecessors(function) if p in doomed)
    return doomed


def _report_cycle(graph: CallGraph, cycle: Set[FunctionFacts], why: str,
                  steps: Optional[List[CallSite]] = None) -> Finding:
    first = min(cycle, key=lambda f: f.order)
    steps = steps or graph.witness_cycle(cycle, first)
    names = [label(s.caller, first) for s in steps] + [first.qualname]
    lines = [s.caller.module.line_of(s.call, s.caller) for s in steps]
    message = (
        f"infinite mutual recursion: {chain_text(names)}. Each call on this cycle "
        f"({line_list(lines)}) {why}, so none of them reaches a base case. "
        "Give one of them a base case that returns without calling the next."
    )
    return at_def(first, "BPL103", message, [s.caller for s in steps] + [first], lines)
