"""``--add-noqa``: silence what is reported today, so that only new findings fail CI.

Each finding gets ``# noqa: BPLnnn`` where flake8 (and the command) reads it: anywhere in
the reported *logical* line. The comment goes at the end of that logical line's last
physical line - never inside a multi-line string, never after a ``\\`` continuation, and
no line is split. An existing ``# noqa: X`` there is extended (``# noqa: X, BPLnnn``);
any other comment is kept and the directive follows it. A notebook's cells are edited
through the module they make (:mod:`.notebook`), and only the changed cells' sources are
written back.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import re
import tokenize
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from .files import decode_source
from .noqa import NOQA_INLINE, logical_spans
from .notebook import OpenNotebook

_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")


@dataclasses.dataclass(frozen=True)
class Added:
    """What adding directives to one text did."""

    text: str
    lines: int  # lines that got a directive (or more codes in one)
    left: Tuple[str, ...] = ()  # why findings were left alone (one line each)


def _comments(text: str) -> Dict[int, Tuple[int, str]]:
    """Each line's comment: (column, text)."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = (token.start[1], token.string)
    return found


def with_directive(line: str, codes: Iterable[str], comment: Optional[Tuple[int, str]]) -> str:
    """``line`` (no newline) with ``codes`` added to its ``# noqa``, or a new one at its end."""
    codes = sorted(set(codes))
    if comment is not None:
        column, text = comment
        match = NOQA_INLINE.search(text)
        if match is not None and match.group("codes"):
            known = match.group("codes")
            listed = known.rstrip(", \t")
            merged = listed + ", " + ", ".join(codes)
            start = column + match.start("codes")
            return line[:start] + merged + line[start + len(listed):]
    return f"{line.rstrip()}  # noqa: {', '.join(codes)}"


def add_directives(text: str, wanted: Mapping[int, Set[str]]) -> Added:
    """``text`` with a directive for each reported line's codes (``wanted``: line -> codes)."""
    if not wanted:
        return Added(text, 0)
    spans = logical_spans(text)
    if not spans:
        return Added(text, 0, ("it does not tokenize",))
    targets: Dict[int, Set[str]] = {}
    for line, codes in wanted.items():
        last = spans.get(line, (line, line))[1]
        targets.setdefault(last, set()).update(codes)
    lines: List[str] = _LINES.findall(text)  # (str.splitlines also splits at \f, \u2028...)
    comments = _comments(text)
    changed = 0
    left = []
    for number, codes in sorted(targets.items()):
        if not 0 < number <= len(lines):
            continue
        if number == 1 and lines[0].startswith("#!"):
            # the kernel passes the rest of a #! line to the interpreter: a comment breaks it
            left.append(f"line 1 is a #! line ({', '.join(sorted(codes))} left: use "
                        "per-file-ignores)")
            continue
        body = lines[number - 1].rstrip("\r\n")
        ending = lines[number - 1][len(body):]
        lines[number - 1] = with_directive(body, codes, comments.get(number)) + ending
        changed += 1
    return Added("".join(lines), changed, tuple(left))


# -- files ----------------------------------------------------------------------------------
@dataclasses.dataclass
class Tally:
    """What ``--add-noqa`` did to the files."""

    directives: int = 0
    files: int = 0
    problems: List[str] = dataclasses.field(default_factory=list)  # one line each


def add_noqa(wanted: Mapping[str, Mapping[int, Set[str]]], texts: Mapping[str, str],
             notebooks: Mapping[str, OpenNotebook]) -> Tally:
    """Add the directives ``wanted`` (path -> line of the analysed text -> codes) to the
    files; a file that changed since it was read, or cannot be written, is left alone."""
    tally = Tally()
    for path in sorted(wanted):
        try:
            done = _add_to_file(path, wanted[path], texts[path], notebooks.get(path))
        except (OSError, ValueError) as exc:
            tally.problems.append(f"{path}: --add-noqa left it alone: {exc}")
            continue
        tally.problems.extend(f"{path}: --add-noqa: {reason}" for reason in done.left)
        if done.lines:
            tally.directives += done.lines
            tally.files += 1
    return tally


def _add_to_file(path: str, wanted: Mapping[int, Set[str]], text: str,
                 opened: Optional[OpenNotebook]) -> Added:
    with open(path, "rb") as handle:
        data = handle.read()
    if opened is not None:
        if data.decode("utf-8") != opened.notebook.raw:
            raise ValueError("it changed since it was read")
        done = add_directives(text, wanted)
        if done.lines:
            _write(path, opened.rewritten(done.text).encode("utf-8"))
        return done
    if decode_source(data) != text:
        raise ValueError("it changed since it was read")
    newline = _newline(data)
    done = add_directives(text, wanted)
    if done.lines:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        if data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        _write(path, done.text.replace("\n", newline).encode(encoding))
    return done


def _newline(data: bytes) -> str:
    """The file's one kind of line ending (mixed ones: ValueError, to keep them all)."""
    crlf = data.count(b"\r\n")
    if not crlf and b"\r" not in data:
        return "\n"
    if crlf == data.count(b"\n") == data.count(b"\r"):
        return "\r\n"
    raise ValueError("it mixes line endings")


def _write(path: str, data: bytes) -> None:
    with open(path, "r+b") as handle:  # in place: keeps the file's mode, owner and links
        handle.write(data)
        handle.truncate()


def wanted_directives(results: Sequence, notebooks: Mapping[str, OpenNotebook]
                      ) -> Dict[str, Dict[int, Set[str]]]:
    """path -> line of the analysed text -> the codes reported there. In a notebook, a cell
    left out because it does not parse gets none (no comment makes it parse), nor does a
    finding on no cell (the whole notebook not analysed: its line is a cell marker)."""
    wanted: Dict[str, Dict[int, Set[str]]] = {}
    for result in results:
        line = result.line
        opened = notebooks.get(result.path)
        if opened is not None:
            if not result.cell or result.cell in {p.cell for p in opened.joined.skipped}:
                continue
            line = opened.joined.starts[result.cell - 1] + result.line
        wanted.setdefault(result.path, {}).setdefault(line, set()).add(result.code)
    return wanted
