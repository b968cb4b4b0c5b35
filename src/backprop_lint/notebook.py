"""Jupyter notebooks (``.ipynb``) as modules of the project.

A notebook's code cells, in order, are joined into one Python module that the analysis
reads like any other file (it is a module of the project: cycles across its cells, and
across notebooks and modules, are found as for ``.py`` files). The joined text is:

* one marker line ``# %% [cell N]`` (a comment, jupytext's "percent" form) before each
  code cell, ``N`` its 1-based number among the notebook's code cells (as nbqa numbers
  them); the markers let an edited module be split back into cells (:func:`split_cells`);
* the cell's lines, with IPython's syntax masked so the rest parses: a line magic
  (``%time f()``, ``x = %who_ls``) or a shell line (``!pip install x``, ``files = !ls``)
  becomes ``pass`` (or ``x = None``) at the same indentation followed by a comment that
  keeps the original (:func:`unmask` restores it), and a cell magic cell (``%%time``)
  is masked whole (its body is not Python);
* a cell that still does not parse (a syntax error; top-level ``await``) is left out -
  its lines are blank, so line numbers of the others do not move - and reported once.

The notebook is read with :mod:`json`, not nbformat: the command needs only the cells'
``cell_type`` and ``source`` (a string or a list of strings, both allowed by every
nbformat 4 minor version), nbformat would add a dependency and a schema validation that
rejects notebooks Jupyter itself opens, and the reader here also records where each source
string sits in the file, which SARIF lines and writing cells back need (nbformat keeps no
positions). Nothing here raises for a bad notebook: :class:`NotebookError` is one line.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import json
import re
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .findings import Finding

SUFFIX = ".ipynb"
MARKER = "# %% [cell {}]"
_MARKER = re.compile(r"^# %% \[cell (\d+)\]$")
# a line magic or shell line, possibly assigned: ``x = !ls``, ``y = %env``
_IPYTHON_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<target>[A-Za-z_][\w.]*\s*=\s*)?[%!]")
_MASKED = "  # bpl-ipython: "
_CELL_MAGIC_BODY = "# bpl-ipython: "
_MASKED_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:pass|(?P<target>[A-Za-z_][\w.]*\s*=\s*)None)"
                          + re.escape(_MASKED) + r"(?P<original>.*)$")


class NotebookError(ValueError):
    """A notebook that cannot be read as one (one line)."""


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


# -- reading, with positions ----------------------------------------------------------------
class Located(str):
    """A JSON string with the span of its token in the file (``start``, ``end``)."""

    start: int
    end: int


class LocatedList(list):
    """A JSON array with the span of its token in the file."""

    start: int
    end: int


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class _Reader:
    """A JSON reader (RFC 8259, as :mod:`json` reads it) that keeps the spans of strings and
    arrays; iterative over nesting would be overkill: notebooks nest a few levels deep."""

    def __init__(self, text: str):
        self.text = text

    def _skip(self, at: int) -> int:
        return _WHITESPACE.match(self.text, at).end()  # type: ignore[union-attr]

    def value(self, at: int, depth: int = 0):
        if depth > 200:
            raise ValueError("nested too deeply")
        at = self._skip(at)
        char = self.text[at:at + 1]
        if char == '"':
            text, end = json.decoder.scanstring(self.text, at + 1)  # type: ignore[attr-defined]
            located = Located(text)
            located.start, located.end = at, end
            return located, end
        if char == "[":
            return self._array(at, depth)
        if char == "{":
            return self._object(at, depth)
        for word, value in _LITERALS.items():
            if self.text.startswith(word, at):
                return value, at + len(word)
        number = _NUMBER.match(self.text, at)
        if number is None or not number.group():
            raise ValueError(f"unexpected {char!r} at character {at}" if char else "unexpected end")
        return json.loads(number.group()), number.end()

    def _array(self, at: int, depth: int):
        items = LocatedList()
        items.start = at
        at = self._skip(at + 1)
        if self.text.startswith("]", at):
            items.end = at + 1
            return items, at + 1
        while True:
            item, at = self.value(at, depth + 1)
            items.append(item)
            at = self._skip(at)
            char = self.text[at:at + 1]
            if char == "]":
                items.end = at + 1
                return items, at + 1
            if char != ",":
                raise ValueError(f"expected ',' or ']' at character {at}")
            at += 1

    def _object(self, at: int, depth: int):
        members: Dict[str, object] = {}
        at = self._skip(at + 1)
        if self.text.startswith("}", at):
            return members, at + 1
        while True:
            key, at = self.value(at, depth + 1)
            if not isinstance(key, str):
                raise ValueError(f"expected a string key at character {at}")
            at = self._skip(at)
            if not self.text.startswith(":", at):
                raise ValueError(f"expected ':' at character {at}")
            members[str(key)], at = self.value(at + 1, depth + 1)
            at = self._skip(at)
            char = self.text[at:at + 1]
            if char == "}":
                return members, at + 1
            if char != ",":
                raise ValueError(f"expected ',' or '}}' at character {at}")
            at += 1


def read_json(text: str):
    """The document, strings and arrays carrying their spans; ValueError if it is not JSON."""
    if text.startswith("\ufeff"):
        raise ValueError("a byte-order mark before the JSON")
    value, end = _Reader(text).value(0)
    if _WHITESPACE.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise ValueError(f"extra data at character {end}")
    return value


# -- the notebook ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Cell:
    """One code cell: its number among the code cells, its source, and the JSON value that
    holds the source (a :class:`Located` string or a :class:`LocatedList` of them)."""

    number: int
    source: str
    stored: object


@dataclasses.dataclass(frozen=True)
class Notebook:
    path: str
    raw: str  # the file's text
    cells: Tuple[Cell, ...]

    def file_line(self, cell: int, line: int) -> int:
        """The line of the ``.ipynb`` file holding line ``line`` of code cell ``cell``: the
        JSON string of that source line (a source stored as one string: where it starts)."""
        stored = self.cells[cell - 1].stored
        if isinstance(stored, LocatedList) and 0 < line <= len(stored):
            token = stored[line - 1]
        elif isinstance(stored, LocatedList):
            token = stored[-1] if stored else stored
        else:
            token = stored
        start = getattr(token, "start", 0)
        return self.raw.count("\n", 0, start) + 1


def _source_text(value: object, where: str) -> str:
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise NotebookError(f"{where}: 'source' is neither a string nor a list of strings")


def parse_notebook(path: str, raw: str) -> Notebook:
    """The notebook's code cells; :class:`NotebookError` if it is not a notebook."""
    try:
        document = read_json(raw)
    except (ValueError, RecursionError) as exc:
        raise NotebookError(f"not a notebook: invalid JSON ({exc})") from None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        raise NotebookError("not a notebook: no 'cells' list (nbformat 4 is needed)")
    if not cells:
        raise NotebookError("notebook has no cells")
    code: List[Cell] = []
    for index, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise NotebookError(f"cell {index} is not a JSON object")
        if cell.get("cell_type") != "code":
            continue
        stored = cell.get("source", "")
        code.append(Cell(len(code) + 1, _source_text(stored, f"cell {index}"), stored))
    return Notebook(path, raw, tuple(code))


# -- masking IPython syntax -----------------------------------------------------------------
def mask_line(line: str) -> str:
    match = _IPYTHON_LINE.match(line)
    if match is None:
        return line
    indent, target = match.group("indent"), match.group("target")
    head = f"{target}None" if target else "pass"
    return f"{indent}{head}{_MASKED}{line[len(indent):]}"


def unmask_line(line: str) -> str:
    match = _MASKED_LINE.match(line)
    return line if match is None else match.group("indent") + match.group("original")


def mask_cell(source: str) -> List[str]:
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):  # a cell magic: nothing here is Python
        return [f"pass{_MASKED}{line}" if i == 0 else f"{_CELL_MAGIC_BODY}{line}"
                for i, line in enumerate(lines)]
    return [mask_line(line) for line in lines]


def _parses(lines: Sequence[str]) -> Optional[SyntaxError]:
    try:
        ast.parse("\n".join(lines) + "\n")
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:  # a NUL byte, too deep
        return SyntaxError(str(exc))
    return None


@dataclasses.dataclass(frozen=True)
class CellProblem:
    """A code cell left out of the analysis: it does not parse (line in the cell)."""

    cell: int
    line: int
    message: str


@dataclasses.dataclass(frozen=True)
class JoinedModule:
    """The notebook's code cells as one module, and how its lines map to the cells."""

    text: str
    starts: Tuple[int, ...]  # the module's line of each cell's marker, by cell number - 1
    skipped: Tuple[CellProblem, ...] = ()

    def cell_of(self, line: int) -> Tuple[int, int]:
        """(cell number, line in the cell) of a line of the module; (0, line) before any."""
        cell = bisect.bisect_left(self.starts, line)  # cells whose marker is above the line
        return (cell, line - self.starts[cell - 1]) if cell else (0, line)


def join_cells(notebook: Notebook) -> JoinedModule:
    lines: List[str] = []
    starts: List[int] = []
    skipped: List[CellProblem] = []
    for cell in notebook.cells:
        lines.append(MARKER.format(cell.number))
        starts.append(len(lines))
        masked = mask_cell(cell.source)
        problem = _parses(masked)
        if problem is not None:
            line = min(max(problem.lineno or 1, 1), max(len(masked), 1))
            skipped.append(CellProblem(cell.number, line, problem.msg or str(problem)))
            masked = [""] * len(masked)
        lines.extend(masked)
    text = "".join(line + "\n" for line in lines)
    return JoinedModule(text, tuple(starts), tuple(skipped))


# -- back into cells (for fixes: --add-noqa, and --fix) -------------------------------------
def split_cells(text: str) -> Dict[int, str]:
    """Each cell's source in an (edited) joined module, IPython syntax restored: the lines
    after each marker, up to the next. The last line of a cell has no newline (Jupyter
    saves cells so)."""
    cells: Dict[int, List[str]] = {}
    current: Optional[List[str]] = None
    for line in text.splitlines():
        marker = _MARKER.match(line)
        if marker is not None:
            current = cells.setdefault(int(marker.group(1)), [])
        elif current is not None:
            current.append(_unmask_any(line))
    return {number: "\n".join(lines) for number, lines in cells.items()}


def _unmask_any(line: str) -> str:
    if line.startswith(_CELL_MAGIC_BODY):
        return line[len(_CELL_MAGIC_BODY):]
    return unmask_line(line)


def changed_cells(notebook: Notebook, edited: str) -> Dict[int, str]:
    """The cells whose source an edit of the joined module changed, with their new source.
    A cell left out as unparsable is never changed (its lines are blank in the module)."""
    joined = join_cells(notebook)
    skipped = {p.cell for p in joined.skipped}
    before = split_cells(joined.text)
    after = split_cells(edited)
    changed = {}
    for cell in notebook.cells:
        new = after.get(cell.number)
        if cell.number in skipped or new is None or new == before.get(cell.number):
            continue
        # keep the cell's own ending: a trailing newline Jupyter did or did not save
        ending = cell.source[len(cell.source.rstrip("\n")):]
        changed[cell.number] = new.rstrip("\n") + ending
    return changed


def _as_source_list(source: str) -> List[str]:
    return source.splitlines(keepends=True)


def write_cells(notebook: Notebook, sources: Mapping[int, str]) -> str:
    """The notebook's file text with the given cells' sources replaced, everything else
    (outputs, metadata, key order, indentation, escapes) kept byte for byte: each changed
    JSON string is replaced in place; a cell whose line count changed gets a new list,
    indented like the one it replaces."""
    edits: List[Tuple[int, int, str]] = []
    for number, source in sources.items():
        stored = notebook.cells[number - 1].stored
        new_lines = _as_source_list(source)
        if isinstance(stored, LocatedList) and len(stored) == len(new_lines):
            edits.extend((old.start, old.end, _dump(new))
                         for old, new in zip(stored, new_lines) if old != new)
        elif isinstance(stored, LocatedList):
            edits.append((stored.start, stored.end, _dump_list(notebook.raw, stored, new_lines)))
        elif isinstance(stored, Located):
            edits.append((stored.start, stored.end, _dump(source)))
    text = notebook.raw
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _dump_list(raw: str, stored: LocatedList, lines: Sequence[str]) -> str:
    """A list of strings laid out like ``stored`` (one item a line, nbformat's way, at the
    indentation its first item had; on one line if it was on one line)."""
    if not lines:
        return "[]"
    first = stored[0] if stored else None
    if first is None or "\n" not in raw[stored.start:first.start]:
        return _dump(list(lines))
    line_start = raw.rfind("\n", 0, first.start) + 1
    indent = raw[line_start:first.start]
    closing_start = raw.rfind("\n", 0, stored.end - 1) + 1
    closing_indent = raw[closing_start:stored.end - 1]
    items = f",\n{indent}".join(_dump(line) for line in lines)
    return f"[\n{indent}{items}\n{closing_indent}]"


def _into_a_cell(edited: str, skipped: Set[int]) -> str:
    """``edited`` with the lines above its first marker moved to just below the marker of
    the first cell not in ``skipped`` (a cell that does not parse is never rewritten)."""
    lines = edited.splitlines(keepends=True)
    markers = [(i, int(m.group(1))) for i, m in
               ((i, _MARKER.match(line.rstrip("\r\n"))) for i, line in enumerate(lines)) if m]
    if not markers or markers[0][0] == 0:
        return edited
    above = [line for line in lines[:markers[0][0]] if line.strip()]  # not the blank after it
    rest = lines[markers[0][0]:]
    target = next((i - len(above) for i, number in markers if number not in skipped), None)
    if target is None:
        return edited
    return "".join(rest[:target + 1] + above + rest[target + 1:])


# -- a notebook as an input of the command --------------------------------------------------
@dataclasses.dataclass(frozen=True)
class OpenNotebook:
    """A notebook read for the command: the module its cells make, and the way back."""

    notebook: Notebook
    joined: JoinedModule

    @property
    def text(self) -> str:
        return self.joined.text

    def place(self, line: int) -> Tuple[int, int]:
        """(cell, line in the cell) of a line of the joined module."""
        return self.joined.cell_of(line)

    def file_line(self, line: int) -> int:
        """The line of the ``.ipynb`` file that holds a line of the joined module."""
        cell, in_cell = self.place(line)
        return self.notebook.file_line(cell, in_cell) if cell else 1

    def rewritten(self, edited: str) -> str:
        """The file's new text for an edit of the joined module (what a fix writes back):
        only the changed cells' source strings differ. Lines the edit put above the first
        cell (an import a fix added) go to the top of the first cell that parses."""
        skipped = {p.cell for p in self.joined.skipped}
        return write_cells(self.notebook, changed_cells(self.notebook, _into_a_cell(edited, skipped)))

    def cell_problems(self) -> List[Finding]:
        """One BPL900 per cell left out because it does not parse: on the cell's first
        line (BPL900's place is a file's line 1; the message names the line)."""
        return [Finding(self.joined.starts[p.cell - 1] + 1, 0, "BPL900",
                        f"cell not analysed: CPython cannot parse it: {p.message} "
                        f"(line {p.line} of the cell)", (), self.notebook.path)
                for p in self.joined.skipped]


def open_notebook(path: str, raw: str) -> OpenNotebook:
    """:class:`NotebookError` (one line) if ``raw`` is not a notebook with cells."""
    notebook = parse_notebook(path, raw)
    return OpenNotebook(notebook, join_cells(notebook))


_LINE_IN_MESSAGE = re.compile(r"\bl\.(\d+)")
_PLACE_IN_MESSAGE = re.compile(r"([^()\s,]+\.ipynb):(\d+)(?![\d:])")


def relabel(message: str, path: str, notebooks: Mapping[str, OpenNotebook]) -> str:
    """A message's line numbers (``l.12``, ``nb.ipynb:12``) as cells' lines."""
    def place(notebook_path: str, line: int) -> Optional[Tuple[int, int]]:
        opened = notebooks.get(notebook_path)
        found = opened.place(line) if opened is not None else (0, line)
        return found if found[0] else None

    def in_this(match: "re.Match[str]") -> str:
        found = place(path, int(match.group(1)))
        return f"cell {found[0]} l.{found[1]}" if found else match.group(0)

    def anywhere(match: "re.Match[str]") -> str:
        found = place(match.group(1), int(match.group(2)))
        return f"{match.group(1)}:cell {found[0]}:{found[1]}" if found else match.group(0)

    if path in notebooks:
        message = _LINE_IN_MESSAGE.sub(in_this, message)
    return _PLACE_IN_MESSAGE.sub(anywhere, message)
