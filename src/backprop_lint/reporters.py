"""What the command prints: findings (already filtered and positioned) turned into text.

No analysis happens here. Formats: ``text`` (flake8's ``path:line:col: CODE message``),
``json``, ``sarif`` (SARIF 2.1.0, for GitHub code scanning) and ``github`` (workflow
commands that GitHub Actions turns into annotations); also ``--explain`` and the progress
line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from . import __version__
from .files import InputError
from .findings import CODES, CodeDoc

TOOL = "backprop-lint"
FALLBACK_URL = "https://pypi.org/project/backprop-lint/"
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")


@dataclasses.dataclass(frozen=True, order=True)
class Step:
    """One function on a finding's call chain."""

    path: str
    line: int
    function: str
    cell: int = 0  # in a notebook: the code cell (``line`` is then the line in it)
    file_line: int = 0  # in a notebook: the line of the .ipynb file
    call: int = 0  # the line of its call to the next step (0: not known; in a .py file)

    def where(self) -> str:
        return f"{self.path}:{_cell_part(self.cell)}{self.line}"


@dataclasses.dataclass(frozen=True)
class FixInfo:
    """What the reports say of a finding's fix (kept here, without libcst, so that a cached
    one loads without importing the fixes)."""

    applicability: str  # safe / unsafe
    title: str
    edits: Tuple[Tuple[int, int, str], ...] = ()  # (first line, line after last, new text)


@dataclasses.dataclass(frozen=True, order=True)
class Result:
    """One reported finding. Columns are 1-based; ``end_column`` is just past the end."""

    path: str
    line: int
    column: int
    code: str
    message: str
    end_line: int
    end_column: int
    chain: Tuple[Step, ...] = ()  # the cycle's functions, each once; the last calls the first
    cell: int = 0  # in a notebook: the code cell (``line`` is then the line in it)
    file_line: int = 0  # in a notebook: the line of the .ipynb file (SARIF, GitHub)
    source: str = ""  # the reported line's text (for --show-source)
    fix: Optional[FixInfo] = dataclasses.field(default=None, compare=False)

    @property
    def physical_line(self) -> int:
        """The line of the file itself (a notebook's JSON) that holds the finding."""
        return self.file_line or self.line


def _cell_part(cell: int) -> str:
    return f"cell {cell}:" if cell else ""


def level(code: str) -> str:
    """SARIF / GitHub severity: a recursion that never ends (and a file not analysed) is an
    error; the rest (performance, depth, re-entrancy) warnings."""
    return "error" if code.startswith("BPL1") or code == "BPL900" else "warning"


# -- text -----------------------------------------------------------------------------------
_COLOURS = {"bold": "\033[1m", "red": "\033[31m", "cyan": "\033[36m", "reset": "\033[m"}


def format_text(results: Sequence[Result], colour: bool = False, concise: bool = False,
                show_source: bool = False) -> str:
    """flake8's one line per finding (``path:cell N:line:col`` in a notebook); unless
    ``concise``, a chain of more than one function follows as an indented list, and with
    ``show_source`` the line itself with a caret under the column."""
    c = _COLOURS if colour else dict.fromkeys(_COLOURS, "")
    sep = f"{c['cyan']}:{c['reset']}"
    out = []
    for r in results:
        cell = f"cell {r.cell}{sep}" if r.cell else ""
        out.append(f"{c['bold']}{r.path}{c['reset']}{sep}{cell}{r.line}{sep}{r.column}{sep} "
                   f"{c['bold']}{c['red']}{r.code}{c['reset']} {'[*] ' if r.fix else ''}{r.message}\n")
        if show_source and r.source:
            out.append(_source_lines(r.source, r.column))
        if not concise and len(r.chain) > 1:
            out.extend(f"    {'->' if i else '  '} {s.function} ({s.where()})\n"
                       for i, s in enumerate(r.chain + r.chain[:1]))
    return "".join(out)


def _source_lines(source: str, column: int) -> str:
    """The line and a caret under the (1-based) column, indented (every line that is not
    a finding's first starts with a space); tabs kept so the caret aligns."""
    pad = "".join(ch if ch == "\t" else " " for ch in source[:column - 1])
    return f"    {source}\n    {pad}^\n"


def statistics(results: Sequence[Result]) -> str:
    """``3     BPL202 recursion depth grows with graph depth``: one line per code, the most
    frequent first (then by code)."""
    counts: Dict[str, int] = {}
    for r in results:
        counts[r.code] = counts.get(r.code, 0) + 1
    names = {doc.code: doc.name for doc in CODES}
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "".join(f"{count:<5} {code} {names.get(code, '')}".rstrip() + "\n"
                   for code, count in ordered)


def format_concise(results: Sequence[Result], colour: bool = False) -> str:
    return format_text(results, colour, concise=True)


# -- json -----------------------------------------------------------------------------------
def as_dict(result: Result) -> Dict[str, object]:
    return {
        "path": result.path,
        "line": result.line,
        "column": result.column,
        "end_line": result.end_line,
        "end_column": result.end_column,
        "code": result.code,
        "message": result.message,
        "chain": [{"path": s.path, "line": s.line, "function": s.function,
                   **({"cell": s.cell} if s.cell else {})} for s in result.chain],
        **({"cell": result.cell} if result.cell else {}),  # a notebook's code cell
        "fix": _fix_dict(result.fix),
    }


def _fix_dict(fix: Optional[FixInfo]) -> Optional[Dict[str, object]]:
    """ruff's shape: applicability, message, edits (``end_location`` just past the edit)."""
    if fix is None:
        return None
    return {
        "applicability": fix.applicability,
        "message": fix.title,
        "edits": [{"content": content, "location": {"row": first, "column": 1},
                   "end_location": {"row": after, "column": 1}}
                  for first, after, content in fix.edits],
    }


def format_json(results: Sequence[Result]) -> str:
    return json.dumps([as_dict(r) for r in results], indent=2) + "\n"


# -- github ---------------------------------------------------------------------------------
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        where: Tuple[Tuple[str, object], ...] = (
            ("file", r.path), ("line", r.line), ("col", r.column), ("endLine", r.end_line),
            ("endColumn", r.end_column))
        if r.cell:  # the notebook's JSON line; a column in the cell means nothing there
            where = (("file", r.path), ("line", r.physical_line))
        properties = ",".join(f"{key}={_escape_property(str(value))}"
                              for key, value in where + (("title", r.code),))
        lines.append(f"::{level(r.code)} {properties}::{_escape_data(r.message)}\n")
    return "".join(lines)


# -- explain --------------------------------------------------------------------------------
def readme_url() -> str:
    """The README the codes' ``### BPLnnn`` sections are in: the package's documentation or
    home page URL if its metadata has one, else its PyPI page."""
    try:
        from importlib import metadata
        meta = metadata.metadata(TOOL)
    except Exception:  # not installed as a distribution
        return FALLBACK_URL
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() in {"documentation", "docs", "readme"} and url.strip():
            return url.strip()
    home = meta.get("Home-page")
    return home.strip() if home and home.strip().lower() != "unknown" else FALLBACK_URL


def help_uri(code: str, base: Optional[str] = None) -> str:
    base = (base or readme_url()).split("#", 1)[0]
    return f"{base}#{code.lower()}"


def _indented(code: str) -> str:
    return "".join(f"    {line}\n" if line.strip() else "\n" for line in code.splitlines())


def explain(doc: CodeDoc, base: Optional[str] = None) -> str:
    parts = [f"{doc.code}: {doc.name}\n", f"Applies to: {doc.scope}.\n", f"{doc.summary}\n"]
    if doc.wrong:
        parts.append(f"Wrong:\n\n{_indented(doc.wrong)}")
    if doc.right:
        parts.append(f"Right:\n\n{_indented(doc.right)}")
    parts.append(f"{fix_line(doc)}\n")
    parts.append(f"More: {help_uri(doc.code, base)}\n")
    return "\n".join(parts)


def fix_line(doc: CodeDoc) -> str:
    """Whether ``--fix`` fixes the code, and with which flags."""
    if not doc.fix:
        return "Fix: none automatic."
    kind, _, what = doc.fix.partition(": ")
    flags = "--fix" if kind == "safe" else "--fix --unsafe-fixes"
    return f"Fix: {kind}, with {flags}: {what}."


README_CODES_BEGIN = ("<!-- codes: generated from src/backprop_lint/findings.py by "
                      "tools/render-readme.py; edit the table there -->\n")
README_CODES_END = "<!-- end of codes -->\n"


def readme_code_sections(docs: Sequence[CodeDoc]) -> str:
    """The README's section of every code: its name and details, its wrong and right
    examples (the same ones ``--explain`` prints and the tests run)."""
    sections = []
    for doc in docs:
        parts = [f"### {doc.code}", f"**{_markdown_escaped(doc.name)}** - {doc.details}"]
        if doc.wrong:
            parts.append(f"Wrong:\n\n```python\n{doc.wrong}```")
        if doc.right:
            parts.append(f"Right:\n\n```python\n{doc.right}```")
        sections.append("\n\n".join(parts) + "\n")
    return README_CODES_BEGIN + "\n" + "\n".join(sections) + "\n" + README_CODES_END


def _markdown_escaped(text: str) -> str:
    return text.replace("_", "\\_")


def with_code_sections(readme: str, docs: Sequence[CodeDoc]) -> str:
    """``readme`` with the part between the markers rendered anew from ``docs``."""
    start = readme.index(README_CODES_BEGIN)
    end = readme.index(README_CODES_END, start) + len(README_CODES_END)
    return readme[:start] + readme_code_sections(docs) + readme[end:]


def explain_markdown(doc: CodeDoc) -> str:
    parts = [f"**{doc.name}** ({doc.code}) - applies to: {doc.scope}.", doc.summary]
    if doc.wrong:
        parts.append(f"Wrong:\n\n```python\n{doc.wrong}```")
    if doc.right:
        parts.append(f"Right:\n\n```python\n{doc.right}```")
    return "\n\n".join(parts)


# -- sarif ----------------------------------------------------------------------------------
def _rule_name(doc: CodeDoc) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in doc.name).split()
    return "".join(w[:1].upper() + w[1:] for w in words)


def sarif_rule(doc: CodeDoc, base: str) -> Dict[str, object]:
    return {
        "id": doc.code,
        "name": _rule_name(doc),
        "shortDescription": {"text": doc.name},
        "fullDescription": {"text": doc.summary},
        "help": {"text": explain(doc, base), "markdown": explain_markdown(doc)},
        "helpUri": help_uri(doc.code, base),
        "defaultConfiguration": {"level": level(doc.code)},
        "properties": {"scope": doc.scope, "tags": ["recursion", "correctness"]},
    }


def artifact_uri(path: str, root: str) -> Tuple[str, bool]:
    """(uri, relative?): relative to ``root`` (a repository's root) where the file is in it."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, root)
    if relative == os.curdir or relative.startswith(os.pardir):
        return Path(absolute).as_uri(), False
    return urllib.parse.quote(Path(relative).as_posix()), True


def _location(path: str, root: str, region: Dict[str, int]) -> Dict[str, object]:
    uri, relative = artifact_uri(path, root)
    artifact: Dict[str, object] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "SRCROOT"
    return {"physicalLocation": {"artifactLocation": artifact, "region": region}}


def _region(r: Result) -> Dict[str, int]:
    if r.cell:  # the line of the notebook's JSON that holds the source line
        return {"startLine": r.physical_line}
    return {"startLine": r.line, "startColumn": r.column,
            "endLine": r.end_line, "endColumn": r.end_column}


def _chain_locations(r: Result, root: str) -> List[Dict[str, object]]:
    """Each function's ``def`` (in chain order), then each call on the cycle that is known."""
    related = []
    for index, step in enumerate(r.chain):
        location = _location(step.path, root, {"startLine": step.file_line or step.line})
        following = r.chain[(index + 1) % len(r.chain)]
        location["id"] = index
        location["message"] = {"text": f"{step.function} calls {following.function}"}
        related.append(location)
    for step, following in zip(r.chain, r.chain[1:] + r.chain[:1]):
        if step.call:  # where each call on the cycle is made
            location = _location(step.path, root, {"startLine": step.call})
            location["id"] = len(related)
            location["message"] = {"text": f"the call of {following.function}"}
            related.append(location)
    return related


def _code_flow(related: List[Dict[str, object]]) -> Dict[str, object]:
    """The cycle as a flow: each step, then the first again (the call that closes it)."""
    steps = [{"location": {k: v for k, v in loc.items() if k != "id"}, "nestingLevel": 0}
             for loc in related + related[:1]]
    return {"threadFlows": [{"locations": steps}]}


def sarif_result(r: Result, rule_index: int, root: str) -> Dict[str, object]:
    result: Dict[str, object] = {
        "ruleId": r.code,
        "ruleIndex": rule_index,
        "level": level(r.code),
        "message": {"text": r.message},
        "locations": [_location(r.path, root, _region(r))],
    }
    if r.fix is not None and r.fix.edits:
        result["fixes"] = [_sarif_fix(r, root)]
    if r.cell:
        result["properties"] = {"cell": r.cell, "cellLine": r.line, "cellColumn": r.column}
    if len(r.chain) > 1:
        related = _chain_locations(r, root)
        result["relatedLocations"] = related
        result["codeFlows"] = [_code_flow(related[:len(r.chain)])]  # the functions' defs
    return result


def _sarif_fix(r: Result, root: str) -> Dict[str, object]:
    """SARIF 3.55: the edits as replacements of whole lines (an empty region inserts)."""
    location = _location(r.path, root, {})["physicalLocation"]
    artifact = location["artifactLocation"]  # type: ignore[index]
    replacements = [{"deletedRegion": {"startLine": first, "startColumn": 1,
                                       "endLine": after, "endColumn": 1},
                     "insertedContent": {"text": content}}
                    for first, after, content in r.fix.edits]
    return {"description": {"text": f"{r.fix.title} ({r.fix.applicability})"},
            "artifactChanges": [{"artifactLocation": artifact, "replacements": replacements}]}


def _notification(error: InputError, root: str) -> Dict[str, object]:
    region = {"startLine": error.line, "startColumn": max(error.column, 1)} if error.line else {}
    note: Dict[str, object] = {"level": "error", "message": {"text": error.text()}}
    if error.path != "-":
        location = _location(error.path, root, region)
        if not region:
            del location["physicalLocation"]["region"]  # type: ignore[attr-defined]
        note["locations"] = [location]
    return note


def format_sarif(results: Sequence[Result], errors: Sequence[InputError] = (),
                 root: Optional[str] = None, base: Optional[str] = None) -> str:
    root = os.path.abspath(root or os.curdir)
    base = base or readme_url()
    index = {doc.code: i for i, doc in enumerate(CODES)}
    run = {
        "tool": {"driver": {
            "name": TOOL,
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": base,
            "rules": [sarif_rule(doc, base) for doc in CODES],
        }},
        "invocations": [{
            "executionSuccessful": not errors,
            "toolExecutionNotifications": [_notification(e, root) for e in errors],
        }],
        "originalUriBaseIds": {"SRCROOT": {"uri": Path(root).as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [sarif_result(r, index.get(r.code, -1), root) for r in results],
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


FORMATTERS: Dict[str, Callable[..., str]] = {
    "text": format_text, "concise": format_concise, "json": format_json, "sarif": format_sarif, "github": format_github,
}


# -- progress -------------------------------------------------------------------------------
def progress_wanted(stream: TextIO, total: int, minimum: int = 300) -> bool:
    """Only for a person watching: a terminal, not CI, and enough files to wait for."""
    if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty() and total > minimum
    except (AttributeError, ValueError):
        return False


class Progress:
    """``backprop-lint: screening 800 files: 120/800 done, 1.2 s`` on one rewritten stderr
    line; each stage counts the files it has finished, from 0."""

    def __init__(self, total: int, stream: Optional[TextIO] = None,
                 enabled: Optional[bool] = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.done = 0
        self.stage = ""
        self.label = ""
        self.enabled = progress_wanted(self.stream, total) if enabled is None else enabled
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: Optional[threading.Thread] = None

    def _write(self) -> None:
        with self._lock:
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r\033[K{TOOL}: {self.label}: {self.done}/{self.total} files "
                              f"done, {elapsed:.1f} s")
            self.stream.flush()

    def advance(self, stage: str, count: int = 1) -> None:
        """``count`` more files are through ``stage`` (called from the analysis)."""
        with self._lock:
            if stage != self.stage:
                self.stage, self.label, self.done = stage, f"{stage} {self.total} files", 0
            self.done = min(self.total, self.done + count)

    def waiting(self, label: str) -> "Progress":
        """Use as a context: shows ``label``, the count and the elapsed time while it runs."""
        self.label = label
        return self

    def __enter__(self) -> "Progress":
        if self.enabled:
            self._write()
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            self._write()

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None

    def close(self) -> None:
        if self.enabled:
            with self._lock:
                self.stream.write("\r\033[K")
                self.stream.flush()
