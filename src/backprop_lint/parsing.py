"""Stage 1: source text -> libcst module with positions.

libcst's parser and visitors recurse: a plain visitor dies on a 500-term ``a + a + ...``
chain that CPython accepts. Everything that touches a libcst tree therefore runs through
:func:`run_with_deep_stack`, a worker thread with a large C stack and a raised recursion
limit, so any file that CPython parses can be analysed.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import re
import sys
import threading
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, TypeVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

T = TypeVar("T")

# A 2,500-term expression needs ~3 frames per term in libcst's visitors; nested
# statements add more. 512 MiB of C stack and a limit of 200,000 frames leave a wide margin
# while costing nothing until used (the stack is reserved, not committed).
# A stand-in: (first line, byte column where the replaced code starts, last line, the
# statement that replaces it); screen.Plan makes them
StandIn = Tuple[int, int, int, str]

_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 1_000_000
_deep_stack_lock = threading.Lock()


class AnalysisError(Exception):
    """The file cannot be analysed; the message is shown to the user as BPL900."""


def parse_python(source: str) -> ast.Module:
    """``ast.parse``, raising SyntaxError for every text CPython refuses: before 3.12 a NUL
    byte raises ValueError instead, which must not read as an internal error."""
    try:
        return ast.parse(source)
    except ValueError as exc:
        if "\0" not in source:
            raise
        error = SyntaxError(str(exc))
        error.lineno = source.count("\n", 0, source.index("\0")) + 1
        raise error from None


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
    # the source line of each line of the parsed text, when a plan left lines out
    line_map: Optional[Tuple[int, ...]] = None
    text: str = ""  # what libcst parsed (a plan's text, statements it could not read replaced)
    _positions: Optional[Mapping[cst.CSTNode, CodeRange]] = None
    _defs: Optional[List[Tuple[int, int]]] = None
    _spans: List[Tuple[int, int]] = dataclasses.field(default_factory=list)
    _text_lines: Optional[List[str]] = None
    _within: Dict[int, Tuple[Mapping[cst.CSTNode, CodeRange], List[str]]] = dataclasses.field(
        default_factory=dict)

    def start(self, node: cst.CSTNode) -> "tuple[int, int]":
        """1-based line, 0-based column of ``node``.

        Positions cost a full extra pass over the tree (libcst's PositionProvider); most
        files have no finding and never ask, so they are resolved on the first question.
        The questions findings ask most - where a ``def`` is, where a call in a function
        is - have cheaper answers: :meth:`def_start` and :meth:`start_within`.
        """
        if self._positions is None:
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        pos = self._positions[node].start
        return _source_line(self.line_map, pos.line), pos.column

    def def_start(self, index: int, count: int, node: cst.FunctionDef) -> "tuple[int, int]":
        """Where the ``def`` (or ``async``) keyword of the index-th of ``count`` functions
        is, from CPython's parse of the same text (ten times cheaper than positions):
        both number the functions in source order."""
        defs = self._def_starts()
        if len(defs) != count:
            return self.start(node)
        line, column = defs[index]
        return _source_line(self.line_map, line), column

    def start_within(self, node: cst.CSTNode, function: cst.FunctionDef, index: int,
                     count: int) -> "tuple[int, int]":
        """:meth:`start` of a node inside ``function`` (the index-th of ``count``), from
        positions of that function alone, shifted to where its ``def`` is. Out of its
        context a function's lines lose the indentation around it (its continuation lines
        and the last lines of its strings do not): each line's shift is the difference in
        length between the line as parsed and as printed alone."""
        defs = self._def_starts()
        if len(defs) != count:
            return self.start(node)
        found = self._found_in_text(node, index)
        if found is not None:
            return found
        positions, printed = self._positions_within(function)
        if node not in positions or function not in positions:
            return self.start(node)
        relative = positions[node].start
        line = defs[index][0] + relative.line - positions[function].start.line
        lines = self._lines()
        original = lines[line - 1].rstrip("\r\n") if 0 < line <= len(lines) else ""
        alone = printed[relative.line - 1].rstrip("\r\n")
        if not original.endswith(alone):
            return self.start(node)
        return _source_line(self.line_map, line), relative.column + len(original) - len(alone)

    def _found_in_text(self, node: cst.CSTNode, index: int) -> "Optional[tuple[int, int]]":
        """Where an expression is, when the first line of its text occurs exactly once in
        the index-th function's lines (libcst prints a node as it was read): no positions
        at all. Statements print the comments before them first, parenthesised
        expressions their parentheses: those are left to positions."""
        if not isinstance(node, cst.BaseExpression) or node.lpar:
            return None
        head = python_lines(self.module.code_for_node(node))[:1]
        head = head[0].rstrip("\r\n") if head else ""
        if not head.strip():
            return None
        lines = self._lines()
        first, last = self._def_spans()[index]
        found = None
        for line in range(first, min(last, len(lines)) + 1):
            column = lines[line - 1].find(head)
            while column >= 0:
                if found is not None:
                    return None  # twice: which one is it?
                found = (_source_line(self.line_map, line), column)
                column = lines[line - 1].find(head, column + 1)
        return found

    def _def_starts(self) -> List[Tuple[int, int]]:
        if self._defs is None:
            self._defs, self._spans = _defs_in(self.text)
        return self._defs

    def _def_spans(self) -> List[Tuple[int, int]]:
        self._def_starts()
        return self._spans

    def _lines(self) -> List[str]:
        if self._text_lines is None:
            self._text_lines = python_lines(self.text)
        return self._text_lines

    def _positions_within(self, function: cst.FunctionDef):
        key = id(function)
        if key not in self._within:
            alone = cst.Module(body=[function], default_indent=self.module.default_indent,
                               default_newline=self.module.default_newline)
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            self._within[key] = (positions, python_lines(alone.code))
        return self._within[key]


def def_starts(text: str) -> List[Tuple[int, int]]:
    """(line, column) of every ``def`` of ``text`` in source order ([] if CPython cannot
    parse it). A ``def`` starts a line after its indentation, so the column counts
    characters as libcst's do."""
    return _defs_in(text)[0]


def _defs_in(text: str) -> Tuple[List[Tuple[int, int]], List[Tuple[int, int]]]:
    """:func:`def_starts`, and the (first, last) lines of each function."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [], []
    found = sorted((n.lineno, n.col_offset, n.end_lineno or n.lineno) for n in _statements(tree)
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return [(line, column) for line, column, _ in found], [(line, last) for line, _, last in found]


def _statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement, nested ones included (a ``def`` is never inside an expression):
    a tenth of the nodes ``ast.walk`` visits."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        for field in ("body", "orelse", "finalbody"):
            stack.extend(getattr(node, field, ()))
        for part in getattr(node, "handlers", []) + getattr(node, "cases", []):
            stack.extend(part.body)


_MAX_REPAIRS = 10
# What a statement libcst cannot read is replaced by: an exit, so that removing it can
# only hide a finding, never invent one (it may have been a return or raise).
_STAND_IN = "raise SystemExit"


def parse_source(source: str, line_map: Optional[Tuple[int, ...]] = None) -> ParsedModule:
    """Parse with libcst and resolve positions. Call inside :func:`run_with_deep_stack`.

    CPython accepts a few forms libcst does not (``(x): int = 1``; syntax newer than the
    installed libcst). Such a statement is replaced by an exit of the same lines and the
    rest of the file is analysed; only when that fails is the file reported as BPL900.
    """
    text = source
    replaced: set = set()
    for _ in range(_MAX_REPAIRS + 1):
        try:
            with _validation_skipped():
                module = cst.parse_module(text)
            break
        except cst.ParserSyntaxError as exc:
            repaired = _without_statement_at(text, exc.raw_line, replaced)
            if repaired is None:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
                raise AnalysisError(f"libcst cannot parse this file: {reason}") from exc
            text = repaired
    else:
        raise AnalysisError("libcst cannot parse this file: too many statements it cannot read")
    return ParsedModule(module, line_map, text)


# libcst validates each node it builds (CSTNode.__post_init__ calls _validate): on a tree
# its own parser made, that re-checks what the grammar guaranteed - a tenth of the parse.
# libcst's source says so itself ("avoid validating the tree when parsing a file"), but has
# no option for it; the check is turned off around our parse only, under a lock, and put
# back from the original kept here. Should libcst drop the hook, nothing is changed.
_VALIDATING_HOOK = cst.CSTNode.__dict__.get("__post_init__")
_validation_lock = threading.Lock()


def _not_validating(node: cst.CSTNode) -> None:
    return None


@contextlib.contextmanager
def _validation_skipped() -> Iterator[None]:
    if _VALIDATING_HOOK is None:
        yield
        return
    with _validation_lock:
        cst.CSTNode.__post_init__ = _not_validating  # type: ignore[assignment]
        try:
            yield
        finally:
            cst.CSTNode.__post_init__ = _VALIDATING_HOOK  # type: ignore[assignment]


def _without_statement_at(text: str, line: int, replaced: set) -> "str | None":
    """``text`` with a simple statement at ``line`` (or, libcst often reporting the line
    after the culprit, the one ending just before it) replaced by an exit, line numbers
    kept. ``replaced`` holds the first lines already replaced; None if none is left."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    simple = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and not isinstance(n, _COMPOUND)]
    containing = sorted((n for n in simple if n.lineno <= line <= (n.end_lineno or n.lineno)),
                        key=lambda n: -n.lineno)
    before = [n for n in simple if (n.end_lineno or n.lineno) == line - 1]
    node = next((n for n in containing + before if n.lineno not in replaced), None)
    if node is None:
        return None
    replaced.add(node.lineno)
    lines = python_lines(text)
    _stand_in(lines, node.lineno, node.end_lineno or node.lineno, _STAND_IN)
    return "".join(lines)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def python_lines(text: str) -> List[str]:
    """The lines of ``text`` as CPython and libcst count them (``\r`` alone ends a line
    too; form feeds and other separators that ``str.splitlines`` splits on do not)."""
    return _LINE.findall(text)


def _replace_line(lines: List[str], line: int, statement: str) -> None:
    """Line ``line`` (1-based) becomes ``statement`` at its indentation, same ending."""
    original = lines[line - 1]
    body = original.rstrip("\r\n")
    indent = body[: len(body) - len(body.lstrip())]
    lines[line - 1] = indent + statement + (original[len(body):] or "\n")


def _source_line(line_map: Optional[Tuple[int, ...]], line: int) -> int:
    return line_map[line - 1] if line_map is not None and 0 < line <= len(line_map) else line


def _stand_in(lines: List[str], first: int, last: int, statement: str) -> None:
    """Lines ``first``..``last`` (1-based) become ``statement`` at the first line's
    indentation followed by empty lines: every other line keeps its number."""
    _replace_line(lines, first, statement)
    for index in range(first, min(last, len(lines))):
        line = lines[index]
        lines[index] = line[len(line.rstrip("\r\n")):] or "\n"


@dataclasses.dataclass(frozen=True)
class PlannedText:
    """The text a plan leaves for libcst, and the source line of each of its lines (None:
    the source itself)."""

    text: str
    lines: Optional[Tuple[int, ...]] = None

    def source_line(self, line: int) -> int:
        return _source_line(self.lines, line)


def planned_text(source: str, bodies: Sequence[StandIn]) -> PlannedText:
    """``source`` with each function body or statement (first line, byte column where it
    starts, last line, the statement standing in for it) replaced by its one-line stand-in,
    where it starts a line of its own (a body on the ``def`` line is short: it stays). The
    lines after a stand-in are left out - libcst turns every empty line into an object, a
    fifth of its time on a planned file - and their numbers are kept in the line map; so
    are empty lines and lines holding only a comment, which no check reads (inside a
    string spanning lines, leaving one out changes only the string's text: see _trivia)."""
    if not bodies:
        return PlannedText(source)
    lines, left_out = stood_in(source, bodies)
    kept = [index for index, line in enumerate(lines)
            if index not in left_out and not _trivia(line, lines[index - 1] if index else "")]
    return PlannedText("".join(lines[i] for i in kept), tuple(i + 1 for i in kept))


def stood_in(source: str, bodies: Sequence[StandIn]) -> Tuple[List[str], Set[int]]:
    """The lines of ``source`` with the stand-ins in place, and the (0-based) lines they
    leave out."""
    lines = python_lines(source)
    placed = applicable(lines, bodies)
    for first, _, _, statement in placed:
        _replace_line(lines, first, statement)
    return lines, lines_left_out(placed, len(lines))


def applicable(lines: Sequence[str], bodies: Sequence[StandIn]) -> List[StandIn]:
    """The stand-ins that start a line of their own (a body on the ``def`` line stays)."""
    return [body for body in bodies if starts_its_line(lines, body[0], body[1])]


def lines_left_out(placed: Sequence[StandIn], count: int) -> Set[int]:
    """The (0-based) lines after each stand-in's first line, up to its last."""
    left_out: Set[int] = set()
    for first, _, last, _ in placed:
        left_out.update(range(first, min(last, count)))
    return left_out


def starts_its_line(lines: Sequence[str], line: int, column: int) -> bool:
    """Nothing but indentation comes before byte ``column`` of line ``line`` (1-based)."""
    if line > len(lines):
        return False
    text = lines[line - 1]
    if text.isascii():  # (a column counts bytes)
        return not text[:column].strip()
    return not text.encode("utf-8", "surrogatepass")[:column].strip()


def _trivia(line: str, before: str) -> bool:
    """An empty or comment-only line that is not the continuation of a line ending in a
    backslash (leaving that out would join the lines around it). A comment with a quote
    stays: inside a string spanning lines it may be the line that ends the string."""
    text = line.strip()
    if text and (text[0] != "#" or "'" in text or '"' in text):
        return False
    return not before.rstrip("\r\n").endswith("\\")


def parse_planned(source: str, bodies: Sequence[StandIn]) -> ParsedModule:
    """:func:`parse_source` of the planned text, positions in the source's lines. Should
    libcst refuse the planned text, the whole source is parsed (and refused, or analysed)
    exactly as without a plan."""
    planned = planned_text(source, bodies)
    if planned.lines is None:
        return parse_source(source)
    try:
        return parse_source(planned.text, planned.lines)
    except AnalysisError:
        return parse_source(source)


_COMPOUND = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor,
    ast.While, ast.With, ast.AsyncWith, ast.Try,
) + tuple(getattr(ast, name) for name in ("Match", "TryStar") if hasattr(ast, name))
