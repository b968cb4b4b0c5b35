"""The fixture corpus: every ``fixtures/**/*.py`` is analysed and must give exactly the
findings its comments label.

A label is a trailing comment on the line a finding is reported on::

    def spin(n):  # expect: BPL101
    def walk(node):  # expect: BPL101, BPL201

Only codes of the implemented families (``IMPLEMENTED``) are compared; labels of other
codes are kept in the corpus for when they are built. Every file is analysed twice, with
the cheap ``ast`` screen and without it: the results must be identical, which shows the
screen drops nothing on the corpus.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from backprop_lint.analysis import Options, analyse_source
from backprop_lint.findings import CODE_DOCS, Finding
from conftest import skip_if_too_new_for_this_python

IMPLEMENTED = {
    "BPL101", "BPL102", "BPL103", "BPL104", "BPL105",
    "BPL201", "BPL202", "BPL301", "BPL401", "BPL402", "BPL900",
}

MIN_LABELS = 60

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.rglob("*.py"))

# Anything that looks like a label must be exactly one: a typo must not silently
# turn a positive example into an unlabelled (negative) one.
_LOOKS_LIKE_LABEL = re.compile(r"#\s*expect(\s*:|s?\s*[:=]?\s*BPL)", re.IGNORECASE)
_LABEL = re.compile(r"#\s*expect:\s*(?P<codes>BPL\d{3}(?:\s*,\s*BPL\d{3})*)\s*$")


def fixture_id(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()


def read_source(path: Path) -> str:
    """The file's text as flake8 sees it (coding cookie / BOM honoured)."""
    with tokenize.open(path) as handle:
        return handle.read()


class Labels:
    """The ``# expect:`` labels of one source text and its ``def`` lines."""

    def __init__(self, source: str):
        self.codes: Dict[int, Set[str]] = {}
        self.def_lines: Set[int] = set()
        self.problems: List[str] = []
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        except (tokenize.TokenError, SyntaxError) as exc:
            self.problems.append(f"cannot tokenize the file: {exc}")
            return
        for token in tokens:
            line = token.start[0]
            if token.type == tokenize.NAME and token.string == "def":
                self.def_lines.add(line)
            if token.type != tokenize.COMMENT or not _LOOKS_LIKE_LABEL.search(token.string):
                continue
            match = _LABEL.search(token.string)
            if match is None:
                self.problems.append(
                    f"l.{line}: malformed label {token.string!r} "
                    "(write '# expect: BPL101' or '# expect: BPL101, BPL201' at the end of the line)"
                )
                continue
            codes = {c.strip() for c in match.group("codes").split(",")}
            unknown = sorted(codes - set(CODE_DOCS))
            if unknown:
                self.problems.append(f"l.{line}: label names unknown code(s) {', '.join(unknown)}")
            self.codes.setdefault(line, set()).update(codes)

    def expected(self, codes: Set[str]) -> Set[Tuple[int, str]]:
        return {(line, code) for line, found in self.codes.items() for code in found if code in codes}

    @property
    def count(self) -> int:
        return sum(len(codes) for codes in self.codes.values())

    @property
    def negative_defs(self) -> Set[int]:
        return self.def_lines - set(self.codes)


def _line_text(lines: List[str], line: int) -> str:
    return lines[line - 1].strip() if 0 < line <= len(lines) else "<no such line>"


def _describe(findings: List[Finding]) -> str:
    return "\n".join(f"      l.{f.line}:{f.column} {f.code} {f.message}" for f in findings)


def check_source(source: str, path: str = "", codes: Set[str] = IMPLEMENTED) -> List[str]:
    """Every disagreement between the analysis of ``source`` and its labels, as text
    for a failure message (empty when the file is right)."""
    labels = Labels(source)
    problems = list(labels.problems)
    lines = source.splitlines()

    screened = analyse_source(source, Options(screen=True), path=path)
    unscreened = analyse_source(source, Options(screen=False), path=path)
    if screened != unscreened:
        problems.append(
            "the ast screen changes the result (screen on vs screen=False):\n"
            f"    with the screen:\n{_describe(screened) or '      (nothing)'}\n"
            f"    without it:\n{_describe(unscreened) or '      (nothing)'}"
        )

    found = {(f.line, f.code) for f in unscreened if f.code in codes}
    messages = {(f.line, f.code): f.message for f in unscreened}
    expected = labels.expected(codes)
    unexpected = sorted(found - expected)
    missing = sorted(expected - found)
    if unexpected:
        problems.append("found but not labelled:\n" + "\n".join(
            f"    l.{line} {code}: {_line_text(lines, line)!r}\n      -> {messages[(line, code)]}"
            for line, code in unexpected
        ))
    if missing:
        problems.append("labelled but not found:\n" + "\n".join(
            f"    l.{line} {code}: {_line_text(lines, line)!r}" for line, code in missing
        ))
    return problems


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=fixture_id)
def test_fixture(path: Path) -> None:
    skip_if_too_new_for_this_python(path.name)
    problems = check_source(read_source(path), str(path))
    if problems:
        pytest.fail(f"fixtures/{fixture_id(path)}:\n" + "\n".join(problems), pytrace=False)


def test_fixture_corpus_size() -> None:
    """At least MIN_LABELS labels in all (any code), and a negative example in every file."""
    assert FIXTURE_FILES, f"no fixture files under {FIXTURES}"
    total = 0
    without_negative = []
    for path in FIXTURE_FILES:
        labels = Labels(read_source(path))
        total += labels.count
        if not labels.negative_defs:
            without_negative.append(fixture_id(path))
    problems = []
    if total < MIN_LABELS:
        problems.append(f"the fixtures hold {total} labels in {len(FIXTURE_FILES)} files; "
                        f"at least {MIN_LABELS} are needed")
    if without_negative:
        problems.append("files without a negative example (an unlabelled def): "
                        + ", ".join(without_negative))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# -- the harness itself --------------------------------------------------------------------
_SPIN = "def spin(n):{label}\n    return spin(n)\n\n\ndef fine(n):\n    return n\n"


def test_labels_are_parsed_from_comments_only() -> None:
    source = (
        'DOC = """\n'
        "def f():  # expect: BPL101\n"
        '"""\n'
        "def g():  # expect: BPL101, BPL201\n"
        "    pass\n"
        "def h():  # noqa: E501  # expect:BPL104\n"
        "    pass\n"
        "def k():\n"
        "    pass\n"
    )
    labels = Labels(source)
    assert labels.problems == []
    assert labels.codes == {4: {"BPL101", "BPL201"}, 6: {"BPL104"}}
    assert labels.count == 3
    assert labels.negative_defs == {8}
    assert labels.expected(IMPLEMENTED) == {(4, "BPL101"), (4, "BPL201"), (6, "BPL104")}
    assert labels.expected({"BPL101"}) == {(4, "BPL101")}


@pytest.mark.parametrize("comment", [
    "# expect BPL101", "# expect: BPL10", "# expect: bpl101", "# expect: BPL101 BPL102",
    "# expect: BPL101 because", "# Expect: BPL101",
])
def test_malformed_labels_are_errors(comment: str) -> None:
    assert Labels(f"def f():  {comment}\n    pass\n").problems


def test_unknown_codes_are_errors() -> None:
    problems = Labels("def f():  # expect: BPL999\n    pass\n").problems
    assert problems and "BPL999" in problems[0]


def test_harness_accepts_a_correctly_labelled_file() -> None:
    assert check_source(_SPIN.format(label="  # expect: BPL101")) == []


def test_harness_reports_an_unlabelled_finding() -> None:
    problems = check_source(_SPIN.format(label=""))
    assert len(problems) == 1
    assert "found but not labelled" in problems[0]
    assert "l.1 BPL101: 'def spin(n):'" in problems[0]


def test_harness_reports_a_missing_finding() -> None:
    source = _SPIN.format(label="  # expect: BPL101") + "\n\ndef g(n):  # expect: BPL102\n    return n\n"
    problems = check_source(source)
    assert len(problems) == 1
    assert "labelled but not found" in problems[0]
    assert "l.9 BPL102: 'def g(n):  # expect: BPL102'" in problems[0]


def test_harness_ignores_codes_not_implemented() -> None:
    source = _SPIN.format(label="  # expect: BPL101, BPL201")
    assert check_source(source, codes={"BPL101"}) == []
    assert "BPL201" in "".join(check_source(source, IMPLEMENTED | {"BPL201"}))
