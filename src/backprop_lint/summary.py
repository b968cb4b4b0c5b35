"""Per-file summaries for project mode: what other files need to know, without trees.

A libcst tree costs far more memory than the source; a project of a million lines cannot
keep them all. Each file is therefore analysed alone (in a worker process, possibly taken
from the cache) and leaves behind a :class:`FileSummary`: its functions, their calls
(resolved inside the file, or the dotted import path of a call into another module, each
numbered by its place among the function's calls) and the backward-pass findings whose
scope another file may decide. :mod:`.project` links them. A function on a cycle across
files needs its control flow there: the summary carries it for the functions the screens
saw on such a cycle; any other is analysed again there (its file parsed again).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

from .cfg import EVAL, Block, ControlFlowGraph
from .facts import FunctionFacts, ModuleFacts
from .findings import Finding
from .parsing import StandIn
from .checks.backward import is_test


@dataclasses.dataclass(frozen=True)
class CallRef:
    number: int  # its place among the caller's calls (FunctionFacts.calls)
    target: str  # "local:<key>" or "import:<dotted path>" (relative ones keep their dots)
    role: str  # how the result is used: eval / iterated / awaited
    how: str  # "call", or "map" (``map(self.visit, xs)``: runs it only if consumed)


@dataclasses.dataclass(frozen=True)
class Flow:
    """What judging a cycle across files needs of a function's control-flow graph: each
    block's successors, whether a ``try`` catching RecursionError shields it, whether it
    heads a loop that can stop; and the block and the line of each call (by number: the
    message of a cycle names its calls' lines)."""

    entry: int
    exit: int
    blocks: Tuple[Tuple[Tuple[int, ...], bool, Optional[bool]], ...]
    call_blocks: Tuple[Optional[int], ...]

    @classmethod
    def of(cls, function: FunctionFacts) -> "Flow":
        cfg = function.cfg
        blocks = tuple((tuple(b.successors), b.shielded, b.loop_stoppable) for b in cfg.blocks)
        calls = tuple(getattr(cfg.block_of(call), "index", None) for call, _ in function.calls)
        return cls(cfg.entry, cfg.exit, blocks, calls)

    def graph(self) -> ControlFlowGraph:
        return ControlFlowGraph([Block(index, successors=list(successors), shielded=shielded,
                                       loop_stoppable=stoppable)
                                 for index, (successors, shielded, stoppable) in enumerate(self.blocks)],
                                self.entry, self.exit)


@dataclasses.dataclass
class FunctionSummary:
    key: str
    name: str
    qualname: str
    index: int  # its ``def`` is the index-th of the file (positions are looked up late)
    parent: Optional[str]
    owner: Optional[str]  # the qualified name of its class
    is_generator: bool
    is_async: bool
    root: bool  # a backward-pass root (its name matches a glob, or a registered hook)
    never_ending: bool  # already reported as BPL1xx in its file
    calls: List[CallRef]
    flow: Optional[Flow] = None  # for a function the screens saw on a cycle across files
    test: bool = False  # a test function: backward-pass scope does not pass through it


@dataclasses.dataclass
class FileSummary:
    path: str
    imports: Dict[str, str]
    functions: List[FunctionSummary]
    conditional: List[Tuple[Finding, frozenset]]  # counted if a function is backward-pass code
    blank: Tuple[StandIn, ...] = ()  # the bodies its analysis left out (screen.Plan)


def summarise(module: ModuleFacts, hops, roots, never_ending, conditional, blank=(),
              cycling=frozenset()) -> FileSummary:
    """``hops``: the walk graph's calls per function (resolved inside the file);
    ``cycling``: the names of the functions whose control flow the project may need."""
    functions = []
    for function in module.functions:
        number = {id(call): n for n, (call, _) in enumerate(function.calls)}
        calls = [CallRef(number[id(h.call)], "local:" + h.callee.key, EVAL, h.how)
                 for h in hops.get(function, []) if not h.by_name]
        calls += [
            CallRef(n, "import:" + path, role, "call")
            for n, (call, role) in enumerate(function.calls)
            if module.resolve_call(call, function) is None
            for path in [module.import_path(call.func, function)] if path is not None
        ]
        functions.append(FunctionSummary(
            key=function.key, name=function.name, qualname=function.qualname,
            index=function.index,
            parent=function.parent.key if function.parent else None,
            owner=function.owner.qualname if function.owner else None,
            is_generator=function.is_generator, is_async=function.is_async,
            root=function in roots, never_ending=function in never_ending,
            calls=calls, flow=Flow.of(function) if function.name in cycling else None,
            test=is_test(function),
        ))
    return FileSummary(module.path, dict(module.imports), functions, list(conditional), tuple(blank))
