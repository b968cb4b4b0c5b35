"""Per-file summaries for project mode: what other files need to know, without trees.

A libcst tree costs far more memory than the source; a project of a million lines cannot
keep them all. Each file is therefore analysed alone (in a worker process, possibly taken
from the cache) and leaves behind a :class:`FileSummary`: its functions, their calls
(resolved inside the file, or the dotted import path of a call into another module), the
shape of each function's control-flow graph (blocks and edges, no atoms) and the
backward-pass findings whose scope another file may decide. :mod:`.project` links them.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

import libcst as cst

from .cfg import AWAITED, EVAL, ITERATED, Block, ControlFlowGraph
from .facts import FunctionFacts, ModuleFacts
from .findings import Finding

_CALL_ROLES = (EVAL, ITERATED, AWAITED)


@dataclasses.dataclass(frozen=True)
class CallRef:
    block: int  # the block of the caller's skeleton that makes the call
    target: str  # "local:<key>" or "import:<dotted path>" (relative ones keep their dots)
    role: str  # how the result is used: eval / iterated / awaited


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
    skeleton: ControlFlowGraph


@dataclasses.dataclass
class FileSummary:
    path: str
    imports: Dict[str, str]
    functions: List[FunctionSummary]
    conditional: List[Tuple[Finding, frozenset]]  # counted if a function is backward-pass code


def skeleton(cfg: ControlFlowGraph) -> ControlFlowGraph:
    """The control-flow graph without its atoms: enough for :func:`every_path_hits`."""
    blocks = [
        Block(b.index, [], list(b.successors), b.predecessors, b.shielded,
              loop_stoppable=b.loop_stoppable)
        for b in cfg.blocks
    ]
    return ControlFlowGraph(blocks, cfg.entry, cfg.exit)


def summarise(module: ModuleFacts, hops, roots, never_ending, conditional) -> FileSummary:
    """``hops``: the walk graph's calls per function (resolved inside the file)."""
    functions = []
    for function in module.functions:
        calls = [
            CallRef(h.block.index, "local:" + h.callee.key, EVAL)
            for h in hops.get(function, [])
        ]
        calls += list(_import_calls(module, function))
        functions.append(FunctionSummary(
            key=function.key, name=function.name, qualname=function.qualname,
            index=function.index,
            parent=function.parent.key if function.parent else None,
            owner=function.owner.qualname if function.owner else None,
            is_generator=function.is_generator, is_async=function.is_async,
            root=function in roots, never_ending=function in never_ending,
            calls=calls, skeleton=skeleton(function.cfg),
        ))
    return FileSummary(module.path, dict(module.imports), functions, list(conditional))


def _import_calls(module: ModuleFacts, function: FunctionFacts):
    for block, atom in function.cfg.atoms():
        if atom.role not in _CALL_ROLES or not isinstance(atom.node, cst.Call):
            continue
        if module.resolve_call(atom.node, function) is not None:
            continue
        path = module.import_path(atom.node.func, function)
        if path is not None:
            yield CallRef(block.index, "import:" + path, atom.role)
