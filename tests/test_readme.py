"""The README agrees with the code: its table and per-code sections with
``findings.CODES``, its examples with the analysis, its commands with ``.ci/run``."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from typing import Dict, List, Tuple

import pytest

from backprop_lint.analysis import Options, analyse_source
from backprop_lint.findings import CODES
from backprop_lint.reporters import README_CODES_BEGIN, README_CODES_END, explain, with_code_sections
from conftest import CI_RUN, FIXTURES, README, ROOT
from test_fixtures import IMPLEMENTED, read_source

INSTALL_COMMAND = "python3 -m pip install . && flake8 --select=BPL fixtures/"
TEST_COMMAND = "python3 -m pip install -e '.[test]' && python3 -m pytest"

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def readme() -> str:
    return README.read_text(encoding="utf-8")


def code_blocks(text: str) -> List[Tuple[str, str]]:
    return [(m["lang"], m["body"]) for m in _FENCE.finditer(text)]


def sections(text: str) -> Dict[str, str]:
    """The body of every ``### BPLnnn`` section, up to the next heading."""
    found: Dict[str, str] = {}
    current = None
    in_fence = False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("#"):
            match = re.match(r"^### (BPL\d{3})\s*$", line)
            current = match.group(1) if match else None
            if current is not None:
                assert current not in found, f"two sections for {current}"
                found[current] = ""
            continue
        if current is not None:
            found[current] += line
    return found


def _unescape(cell: str) -> str:
    return cell.replace("\\_", "_").strip()


def table_rows() -> List[List[str]]:
    rows = []
    for line in readme().splitlines():
        if re.match(r"^\|\s*\[?BPL\d{3}", line):
            rows.append([_unescape(c) for c in line.strip().strip("|").split("|")])
    return rows


# -- the commands ------------------------------------------------------------------------------
def test_readme_opens_with_the_two_commands() -> None:
    blocks = code_blocks(readme())
    assert len(blocks) >= 2
    assert [body.strip() for _, body in blocks[:2]] == [INSTALL_COMMAND, TEST_COMMAND]
    # nothing but a title before the first command
    before = readme().split("```", 1)[0]
    assert not re.search(r"^##", before, re.MULTILINE), before


def _commands(script: str) -> List[str]:
    lines = []
    for line in script.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def test_ci_runs_the_readme_test_command() -> None:
    assert CI_RUN.is_file(), f"{CI_RUN} is missing"
    assert os.access(CI_RUN, os.X_OK), f"{CI_RUN} is not executable"
    script = CI_RUN.read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash\n") or script.startswith("#!/bin/bash\n")
    commands = _commands(script)
    assert "set -euo pipefail" in commands
    install, test = (part.strip() for part in TEST_COMMAND.split("&&"))
    assert install in commands, f"{CI_RUN} does not run {install!r}"
    pytest_lines = [c for c in commands if c == test or c.startswith(test + " ")]
    assert pytest_lines, f"{CI_RUN} does not run {test!r}"
    # the test command's install comes before its test run
    assert commands.index(install) < commands.index(pytest_lines[-1])
    # and the first command of the README is exercised too
    for part in INSTALL_COMMAND.split("&&"):
        assert any(c.startswith(part.strip()) for c in commands), f"{CI_RUN} lacks {part!r}"


def test_first_command_prints_the_fixture_findings(run_flake8) -> None:
    """`flake8 --select=BPL fixtures/`, run where the README says (the repository root,
    with its setup.cfg), prints what the analysis finds in the fixtures: no more, no less."""
    args = shlex.split(INSTALL_COMMAND.split("&&")[1])
    assert args[0] == "flake8"
    result = run_flake8(*args[1:], cwd=ROOT)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "failed during execution" not in result.stderr, result.stderr
    printed = set()
    for line in result.stdout.splitlines():
        match = re.match(r"^(?P<path>.+?):(?P<line>\d+):\d+: (?P<code>BPL\d{3}) ", line)
        assert match, f"unexpected output line {line!r}"
        printed.add((match["path"], int(match["line"]), match["code"]))
    expected = set()
    for path in sorted(FIXTURES.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        for finding in analyse_source(read_source(path), Options(), path=str(path)):
            expected.add((name, finding.line, finding.code))
    assert printed == expected, (
        f"printed only: {sorted(printed - expected)}\nanalysis only: {sorted(expected - printed)}")


# -- the code table and sections ---------------------------------------------------------------
def test_code_table_matches_findings() -> None:
    rows = table_rows()
    assert [re.search(r"BPL\d{3}", r[0]).group(0) for r in rows] == [d.code for d in CODES]
    for row, doc in zip(rows, CODES):
        assert len(row) == 5, row
        link, name, scope, _line, status = row
        assert link == f"[{doc.code}](#{doc.code.lower()})", row
        assert name == doc.name, f"{doc.code}: README says {name!r}, findings.CODES {doc.name!r}"
        assert scope == doc.scope, f"{doc.code}: README says {scope!r}, findings.CODES {doc.scope!r}"
        want = "reported" if doc.code in IMPLEMENTED else "planned"
        assert status == want, f"{doc.code} is {'' if want == 'reported' else 'not '}implemented"


def test_code_sections_match_findings() -> None:
    found = sections(readme())
    assert list(found) == [d.code for d in CODES]
    for doc in CODES:
        body = found[doc.code].strip()
        first = _unescape(body.split("\n\n", 1)[0])
        assert first.startswith(f"**{doc.name}**"), f"{doc.code} section starts {first[:60]!r}"
        planned = "(planned)" in first.split(" - ", 1)[0]
        assert planned == (doc.code not in IMPLEMENTED), f"{doc.code}: '(planned)' mark is wrong"
        blocks = code_blocks(body)
        if doc.wrong:
            assert [lang for lang, _ in blocks] == ["python", "python"], doc.code
            wrong_at = body.index("Wrong:")
            right_at = body.index("Right:")
            assert wrong_at < body.index("```") < right_at < body.rindex("```"), doc.code


EXAMPLES = [(doc.code, doc.wrong, doc.right) for doc in CODES if doc.wrong]


def test_every_code_but_bpl900_has_examples() -> None:
    assert [doc.code for doc in CODES if not (doc.wrong and doc.right)] == ["BPL900"]


@pytest.mark.parametrize("code,wrong,right", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples(code: str, wrong: str, right: str) -> None:
    """The code table's examples (the README's and --explain's): each wrong example
    reports exactly its code, once; each right example reports nothing."""
    ast.parse(wrong)
    ast.parse(right)
    for options in (Options(), Options(screen=False)):
        assert [f.code for f in analyse_source(wrong, options)] == [code]
        assert analyse_source(right, options) == []


def test_examples_through_the_command(tmp_path) -> None:
    """The same in project mode (the command), all examples in one project."""
    for code, wrong, right in EXAMPLES:
        (tmp_path / f"wrong_{code}.py").write_text(wrong, encoding="utf-8")
        (tmp_path / f"right_{code}.py").write_text(right, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "backprop_lint", "--isolated", "--no-cache",
                             "--format", "concise", "."], cwd=str(tmp_path), capture_output=True,
                            text=True, timeout=300, stdin=subprocess.DEVNULL)
    reported = sorted(line.split(":")[0] + " " + line.split(" ")[1]
                      for line in result.stdout.splitlines())
    assert reported == sorted(f"wrong_{code}.py {code}" for code, _, _ in EXAMPLES), \
        result.stdout + result.stderr


def test_readme_code_sections_are_rendered_from_the_table() -> None:
    """Edit the examples in findings.CODES, then run python3 tools/render-readme.py."""
    text = readme()
    assert with_code_sections(text, CODES) == text, "run python3 tools/render-readme.py"
    assert text.count(README_CODES_BEGIN) == text.count(README_CODES_END) == 1


def test_explain_shows_the_tables_examples() -> None:
    for doc in CODES:
        shown = explain(doc)
        for line in (doc.wrong + doc.right).splitlines():
            assert line in shown, (doc.code, line)


# -- claims a user relies on ---------------------------------------------------------------------
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def test_readme_speaks_to_users() -> None:
    """No development talk (issues, rounds, sessions), and the developer's parts live in
    docs/ and bench/README.md."""
    text = readme()
    for talk in (r"\bissue \d", r"\bthis round\b", r"\bsession\b", r"^## (How it works|Speed|"
                 r"Planned|Development)\b"):
        assert not re.search(talk, text, re.IGNORECASE | re.MULTILINE), talk
    assert (ROOT / "docs" / "how-it-works.md").is_file()
    assert "## The latest figures" in (ROOT / "bench" / "README.md").read_text(encoding="utf-8")


def test_readme_links_are_relative_and_lead_somewhere() -> None:
    """Until the package is published, links stay inside the repository (no PyPI page)."""
    for markdown in (README, ROOT / "docs" / "how-it-works.md", ROOT / "bench" / "README.md"):
        text = markdown.read_text(encoding="utf-8")
        assert "pypi.org" not in text, markdown
        for match in _LINK.finditer(text):
            target = match["target"]
            if target.startswith(("http://", "https://")):
                assert "pypi" not in target, target
                continue
            path = target.split("#", 1)[0]
            if path:
                assert (markdown.parent / path).exists(), f"{markdown}: {target}"


def test_bugbear_advice_is_what_flake8_does(run_flake8, tmp_path) -> None:
    """`extend-ignore = B` (for flake8-bugbear) silences BPL too; the README's two
    remedies keep BPL reported."""
    text = readme()
    assert "extend-ignore = B0,B9" in text and "extend-select = BPL" in text
    (tmp_path / "spin.py").write_text("def spin(n):\n    return spin(n)\n")

    def codes(*options: str) -> List[str]:
        result = run_flake8("--isolated", *options, "spin.py", cwd=tmp_path)
        return re.findall(r" (BPL\d{3}) ", result.stdout)

    assert codes() == ["BPL101"]
    assert codes("--extend-ignore=B") == []
    assert codes("--extend-ignore=B0,B9") == ["BPL101"]
    assert codes("--extend-ignore=B", "--extend-select=BPL") == ["BPL101"]


def test_a_syntax_error_gets_bpl900_from_the_command_as_the_readme_says(tmp_path) -> None:
    assert "reports it as BPL900" in readme()
    (tmp_path / "py2.py").write_text("print 'hello'\n")
    result = subprocess.run([sys.executable, "-m", "backprop_lint", "--isolated", "--no-cache",
                             "py2.py"], cwd=str(tmp_path), capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and " BPL900 " in result.stdout, result.stdout + result.stderr


def test_noqa_in_a_multi_line_signature_is_described_as_flake8_applies_it() -> None:
    """tests/test_cli.py::test_noqa_is_honoured_like_flake8 shows a `# noqa` on a later line
    of a signature does not count: the README must not say it does."""
    text = " ".join(readme().split())
    assert "for a multi-line signature, anywhere in it" not in text
    assert "a `# noqa` on a later line of it does not count" in text
