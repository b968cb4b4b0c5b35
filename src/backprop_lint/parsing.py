"""Stage 1: source text -> libcst module with positions.

libcst's parser and visitors recurse: a plain visitor dies on a 500-term ``a + a + ...``
chain that CPython accepts. Everything that touches a libcst tree therefore runs through
:func:`run_with_deep_stack`, a worker thread with a large C stack and a raised recursion
limit, so any file that CPython parses can be analysed.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from typing import Callable, Mapping, TypeVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

T = TypeVar("T")

# A 2,500-term expression needs ~3 frames per term in libcst's visitors; nested
# statements add more. 512 MiB of C stack and a limit of 200,000 frames leave a wide margin
# while costing nothing until used (the stack is reserved, not committed).
_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 200_000
_deep_stack_lock = threading.Lock()


class AnalysisError(Exception):
    """The file cannot be analysed; the message is shown to the user as BPL900."""


def run_with_deep_stack(work: Callable[[], T]) -> T:
    """Run ``work`` in a thread whose stack fits deeply nested syntax trees."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    # thread stack size and the recursion limit are process-wide settings: set, start, restore.
    with _deep_stack_lock:
        old_size = threading.stack_size()
        old_limit = sys.getrecursionlimit()
        try:
            threading.stack_size(_STACK_BYTES)
            sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
            worker = threading.Thread(target=target, name="backprop-lint-analysis")
            worker.start()
        finally:
            threading.stack_size(old_size)
        worker.join()
        sys.setrecursionlimit(old_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@dataclasses.dataclass
class ParsedModule:
    module: cst.Module
    positions: Mapping[cst.CSTNode, CodeRange]

    def start(self, node: cst.CSTNode) -> "tuple[int, int]":
        """1-based line, 0-based column of ``node``."""
        pos = self.positions[node].start
        return pos.line, pos.column


def parse_source(source: str) -> ParsedModule:
    """Parse with libcst and resolve positions. Call inside :func:`run_with_deep_stack`."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        raise AnalysisError(f"libcst cannot parse this file: {reason}") from exc
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    return ParsedModule(module, positions)
