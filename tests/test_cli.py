"""The ``backprop-lint`` command as users run it: ``python -m backprop_lint`` in a subprocess,
on small projects written into temporary folders."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

from backprop_lint.findings import CODES
from conftest import FIXTURES_TOO_NEW, ROOT

TIMEOUT = 120

# One finding of each kind the tests need, at known lines.
SPIN = "def spin(n):\n    return spin(n)\n"  # BPL101 on line 1
COUNTDOWN = "def countdown(n):\n    if n > 0:\n        countdown(n)\n"  # BPL102 on line 1
PING_PONG = "def ping(x):\n    return pong(x)\n\n\ndef pong(x):\n    return ping(x)\n"  # BPL103
FINE = "def fine(n):\n    return n\n"

_RESULT = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>BPL\d{3}) (?P<text>.*)$")


def command_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """This checkout's package first on the path; no terminal-related surprises."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    for name in ("NO_COLOR", "CI", "FORCE_COLOR"):
        env.pop(name, None)
    env.update(extra or {})
    return env


def run_cli(*args: str, cwd, input: Optional[bytes] = None,
            env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "backprop_lint", *args],
        cwd=str(cwd), input=input, stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True, timeout=TIMEOUT, env=command_env(env),
    )
    result.stdout = result.stdout.decode("utf-8")
    result.stderr = result.stderr.decode("utf-8")
    return result


def describe(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def results(result: subprocess.CompletedProcess) -> List[Tuple[str, int, int, str]]:
    """(path, line, column, code) of every text result line, in printed order (the
    indented lines under a finding - its chain, its source - are not results)."""
    found = []
    for line in result.stdout.splitlines():
        if line[:1].isspace() or line.strip() == "^":
            continue
        match = _RESULT.match(line)
        assert match, f"not a result line: {line!r}\n{describe(result)}"
        found.append((match["path"], int(match["line"]), int(match["col"]), match["code"]))
    return found


def codes(result: subprocess.CompletedProcess) -> List[str]:
    return [r[3] for r in results(result)]


def write(root: Path, files: Dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def error_lines(result: subprocess.CompletedProcess) -> List[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# -- whole project ------------------------------------------------------------------------------
CROSS_MODULE = {
    "pkg/__init__.py": "",
    "pkg/engine.py": """\
        from . import ops


        def backward(grad):
            return ops.apply_grad(grad)
        """,
    "pkg/ops.py": """\
        from .engine import backward


        def apply_grad(grad):
            return backward(grad)
        """,
}


def test_cycle_across_modules_is_reported_once_with_both_paths(tmp_path) -> None:
    write(tmp_path, CROSS_MODULE)
    text = run_cli("--isolated", ".", cwd=tmp_path)
    assert text.returncode == 1, describe(text)
    assert results(text) == [("pkg/engine.py", 4, 1, "BPL103")], describe(text)
    message = text.stdout.split(" BPL103 ", 1)[1]
    assert "pkg/engine.py:4" in message and "pkg/ops.py:4" in message, describe(text)
    as_json = json.loads(run_cli("--isolated", "--format", "json", ".", cwd=tmp_path).stdout)
    assert len(as_json) == 1
    chain = as_json[0]["chain"]
    assert {step["path"] for step in chain} == {"pkg/engine.py", "pkg/ops.py"}
    assert [(s["path"], s["line"]) for s in chain] == [("pkg/engine.py", 4), ("pkg/ops.py", 4)]


def test_same_results_as_the_flake8_plugin_on_the_fixtures() -> None:
    """One analysis, two front ends: on files that do not call each other, the command
    prints what flake8 prints (paths, positions, codes, messages) - ``--format concise``
    exactly, and the default text as the first line of each finding - except for files
    this Python cannot parse (flake8's E999 is not selected; the command says BPL900)."""
    args = ("--select=BPL", *(f"--extend-exclude={name}" for name in FIXTURES_TOO_NEW), "fixtures/")
    ours = run_cli("--format", "concise", *args, cwd=ROOT)
    default = run_cli(*args, cwd=ROOT)
    assert [line for line in default.stdout.splitlines() if not line[:1].isspace()] \
        == ours.stdout.splitlines()
    flake8 = subprocess.run([sys.executable, "-m", "flake8", *args], cwd=str(ROOT),
                            capture_output=True, text=True, timeout=TIMEOUT,
                            env=command_env())
    assert ours.returncode == flake8.returncode == 1, describe(ours)
    # the command marks the findings it can fix (`BPL202 [*] ...`) and counts them on stderr
    unmarked = [line.replace(" [*] ", " ", 1) for line in ours.stdout.splitlines()]
    assert unmarked == sorted(flake8.stdout.splitlines(), key=_position)
    assert ours.stderr.startswith("[*] ") and ours.stderr.count("\n") == 1, ours.stderr


def _position(line: str):
    match = _RESULT.match(line)
    return (match["path"], int(match["line"]), int(match["col"]), match["code"])


def test_output_is_sorted_and_jobs_do_not_change_it(tmp_path) -> None:
    """Enough files for the process pool; -j1 and -j2 print the same, sorted."""
    files = {}
    for i in range(120):
        body = (SPIN, COUNTDOWN, PING_PONG, FINE)[i % 4]
        files[f"pkg{i % 3}/mod_{i:03d}.py"] = body
    write(tmp_path, files)
    serial = run_cli("--isolated", "-j1", ".", cwd=tmp_path)
    parallel = run_cli("--isolated", "-j2", ".", cwd=tmp_path)
    assert serial.returncode == parallel.returncode == 1, describe(parallel)
    assert serial.stdout == parallel.stdout
    found = results(serial)
    assert found == sorted(found)
    assert len(found) == 90  # 30 of each kind with a finding
    assert {code for *_, code in found} == {"BPL101", "BPL102", "BPL103"}


# -- noqa ---------------------------------------------------------------------------------------
NOQA_SOURCE = """\
    def silenced(n):  # noqa
        return silenced(n)


    def silenced_by_code(n):  # noqa: BPL101
        return silenced_by_code(n)


    def silenced_by_prefix(n):  # noqa:BPL1
        return silenced_by_prefix(n)


    def other_code(n):  # noqa: E501
        return other_code(n)


    def other_bpl_code(n):  # noqa: BPL2
        return other_bpl_code(n)


    def lower_case_code(n):  # NOQA: bpl101
        return lower_case_code(n)


    def long_signature(
        n,
        m,  # noqa: BPL101
    ):
        return long_signature(n, m)


    def string_default(n, s='''
    '''):  # noqa: BPL101
        return string_default(n, s)


    def loud(n):
        return loud(n)
"""


def test_noqa_is_honoured_like_flake8(tmp_path) -> None:
    write(tmp_path, {"mod.py": NOQA_SOURCE, "skipped.py": "# flake8: noqa\n" + SPIN,
                     "not_skipped.py": SPIN + "x = 1  # flake8: noqa\n"})
    ours = run_cli("--isolated", ".", cwd=tmp_path)
    assert ours.returncode == 1, describe(ours)
    reported = {(path, line) for path, line, _, _ in results(ours)}
    names = {n: i + 1 for i, line in enumerate(textwrap.dedent(NOQA_SOURCE).splitlines())
             for n in re.findall(r"^def (\w+)", line)}
    # flake8 looks for noqa in the lines of the reported line's tokens: a string that spans
    # lines joins them, the brackets of a signature do not
    assert reported == {("mod.py", names["other_code"]), ("mod.py", names["other_bpl_code"]),
                        ("mod.py", names["lower_case_code"]), ("mod.py", names["loud"]),
                        ("mod.py", names["long_signature"]), ("not_skipped.py", 1)}, \
        describe(ours)
    flake8 = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select=BPL", "."],
                            cwd=str(tmp_path), capture_output=True, text=True,
                            timeout=TIMEOUT, env=command_env())
    theirs = {(p.lstrip("./"), int(line)) for p, line in
              re.findall(r"^(.+?):(\d+):\d+: BPL", flake8.stdout, re.MULTILINE)}
    assert reported == theirs, flake8.stdout
    cache = str(tmp_path.parent / f"{tmp_path.name}-cache")
    for _ in range(2):  # the second run takes the comments it reads from the cache
        again = run_cli("--isolated", "--cache-dir", cache, ".", cwd=tmp_path)
        assert (again.returncode, again.stdout) == (ours.returncode, ours.stdout)


# -- select / ignore ----------------------------------------------------------------------------
SELECTIONS = [
    ((), ["BPL101", "BPL102"]),
    (("--select", "BPL101"), ["BPL101"]),
    (("--select", "BPL1"), ["BPL101", "BPL102"]),
    (("--select", "BPL2"), []),
    (("--ignore", "BPL101"), ["BPL102"]),
    (("--ignore", "BPL1"), []),
    (("--ignore", "B"), []),  # an explicit ignore beats the implicit "everything"
    (("--select", "BPL1", "--ignore", "BPL102"), ["BPL101"]),
    (("--select", "BPL102", "--ignore", "BPL1"), ["BPL102"]),  # the longer prefix wins
    (("--select", "BPL1", "--ignore", "BPL1"), []),  # a tie goes to ignore
    (("--select", "BPL2", "--extend-select", "BPL102"), ["BPL102"]),
    (("--ignore", "BPL", "--extend-select", "BPL101"), ["BPL101"]),
    (("--extend-ignore", "BPL102"), ["BPL101"]),
    (("--select", "E,W,BPL102"), ["BPL102"]),
]


@pytest.mark.parametrize("args,expected", SELECTIONS)
def test_select_and_ignore_decisions(args, expected) -> None:
    """The decision matrix, in-process (flake8's DecisionEngine rules)."""
    from backprop_lint.cli import option_values, parse_args
    from backprop_lint.config import load_settings

    settings = load_settings(option_values(parse_args([*args, "."])), isolated=True)
    assert [c for c in ("BPL101", "BPL102") if settings.selection(c)] == expected


@pytest.mark.parametrize("args,expected", [SELECTIONS[0], SELECTIONS[1], SELECTIONS[4],
                                           SELECTIONS[8], SELECTIONS[3]])
def test_select_and_ignore(tmp_path, args, expected) -> None:
    write(tmp_path, {"a.py": SPIN, "b.py": COUNTDOWN})
    result = run_cli("--isolated", *args, ".", cwd=tmp_path)
    assert codes(result) == expected, describe(result)
    assert result.returncode == (1 if expected else 0), describe(result)


@pytest.mark.parametrize("args", [
    ("--select", "bpl1"), ("--ignore", "BPL-101"), ("--backward-functions", ","),
    ("--jobs", "0"), ("--format", "xml"), ("--graph", "out.png"), ("--no-such-option",),
])
def test_bad_option_is_a_one_line_usage_error(tmp_path, args) -> None:
    write(tmp_path, {"a.py": SPIN})
    result = run_cli("--isolated", *args, ".", cwd=tmp_path)
    assert result.returncode == 2, describe(result)
    assert result.stdout == ""
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("backprop-lint: error:"), describe(result)
    assert "Traceback" not in result.stderr


# -- configuration ------------------------------------------------------------------------------
def test_config_from_pyproject_toml_and_the_command_line_wins(tmp_path) -> None:
    write(tmp_path, {
        "pyproject.toml": """\
            [project]
            name = "demo"

            [tool.backprop-lint]
            ignore = ["BPL101"]
            extend-exclude = ["generated"]
            backward-functions = "*backward*,*walk*"
            """,
        "a.py": SPIN, "b.py": COUNTDOWN, "generated/c.py": SPIN,
        "sub/d.py": SPIN,
    })
    result = run_cli(".", cwd=tmp_path)
    assert codes(result) == ["BPL102"], describe(result)
    result = run_cli("--ignore", "BPL102", ".", cwd=tmp_path)
    assert results(result) == [("a.py", 1, 1, "BPL101"), ("sub/d.py", 1, 1, "BPL101")], \
        describe(result)
    # found from a sub-folder too
    result = run_cli(".", cwd=tmp_path / "sub")
    assert result.returncode == 0 and result.stdout == "", describe(result)


def test_config_from_setup_cfg_flake8_section(tmp_path) -> None:
    write(tmp_path, {
        "setup.cfg": """\
            [metadata]
            name = demo

            [flake8]
            max-line-length = 100
            select = E,F,W,C90
            extend-ignore = BPL102, E203
            extend-exclude = generated,build
            """,
        "a.py": SPIN, "b.py": COUNTDOWN, "generated/c.py": SPIN,
    })
    result = run_cli(".", cwd=tmp_path)
    # select = E,F,W,C90 names no BPL code: not a reason to report nothing
    assert results(result) == [("a.py", 1, 1, "BPL101")], describe(result)
    result = run_cli("--extend-ignore", "", ".", cwd=tmp_path)
    assert codes(result) == ["BPL101", "BPL102"], describe(result)


@pytest.mark.parametrize("name", ["tox.ini", ".flake8"])
def test_config_from_other_flake8_files(tmp_path, name) -> None:
    write(tmp_path, {name: "[flake8]\nselect = BPL102\n", "a.py": SPIN, "b.py": COUNTDOWN})
    result = run_cli(".", cwd=tmp_path)
    assert codes(result) == ["BPL102"], describe(result)
    assert codes(run_cli("--isolated", ".", cwd=tmp_path)) == ["BPL101", "BPL102"]


@pytest.mark.parametrize("files,message", [
    ({"pyproject.toml": "[tool.backprop-lint]\nselect = ['BPL1x']\n"}, "BPL1x"),
    ({"pyproject.toml": "[tool.backprop-lint]\nselekt = ['BPL1']\n"}, "selekt"),
    ({"pyproject.toml": "[tool.backprop-lint]\nselect = 3\n"}, "select"),
    ({"pyproject.toml": "[tool.backprop-lint\n"}, "invalid TOML"),
    ({"setup.cfg": "[flake8]\nignore = E203 # black\n"}, "'#'"),
])
def test_bad_config_value_is_a_one_line_error(tmp_path, files, message) -> None:
    write(tmp_path, {"a.py": SPIN, **files})
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 2, describe(result)
    lines = error_lines(result)
    assert len(lines) == 1 and message in lines[0], describe(result)
    assert lines[0].startswith("backprop-lint: error: "), describe(result)


# -- exit codes and inputs ----------------------------------------------------------------------
def test_exit_codes(tmp_path) -> None:
    write(tmp_path, {"bad.py": SPIN, "good.py": FINE})
    assert run_cli("--isolated", "good.py", cwd=tmp_path).returncode == 0
    bad = run_cli("--isolated", "bad.py", cwd=tmp_path)
    assert bad.returncode == 1 and results(bad) == [("bad.py", 1, 1, "BPL101")], describe(bad)
    zero = run_cli("--isolated", "--exit-zero", "bad.py", cwd=tmp_path)
    assert zero.returncode == 0 and results(zero) == results(bad), describe(zero)
    missing = run_cli("--isolated", "missing.py", "bad.py", "nowhere/", cwd=tmp_path)
    assert missing.returncode == 2, describe(missing)
    assert results(missing) == [("bad.py", 1, 1, "BPL101")]
    assert error_lines(missing) == [
        "backprop-lint: missing.py: no such file or directory",
        "backprop-lint: nowhere/: no such file or directory",
    ], describe(missing)
    # an explicitly named file is checked whatever its name
    (tmp_path / "script").write_text(SPIN)
    assert codes(run_cli("--isolated", "script", cwd=tmp_path)) == ["BPL101"]


def test_stdin(tmp_path) -> None:
    write(tmp_path, {"pkg/model.py": FINE, "pkg/other.py": COUNTDOWN})
    result = run_cli("--isolated", "--stdin-filename", "pkg/model.py", "-",
                     cwd=tmp_path, input=SPIN.encode())
    assert results(result) == [("pkg/model.py", 1, 1, "BPL101")], describe(result)
    # flake8's option name; stdin stands for the file of that name among the others
    result = run_cli("--isolated", "--stdin-display-name", "pkg/model.py", "-", "pkg",
                     cwd=tmp_path, input=SPIN.encode())
    assert results(result) == [("pkg/model.py", 1, 1, "BPL101"),
                               ("pkg/other.py", 1, 1, "BPL102")], describe(result)
    result = run_cli("--isolated", "-", cwd=tmp_path, input=FINE.encode())
    assert result.returncode == 0 and result.stdout == "", describe(result)
    result = run_cli("--isolated", "-", cwd=tmp_path, input=b"\xff\xfe not text\n")
    assert result.returncode == 2 and error_lines(result)[0].startswith("backprop-lint: stdin:")


def test_unreadable_and_undecodable_files_are_clean_errors(tmp_path) -> None:
    """Tests run as root, so a file cannot be made unreadable with chmod: a broken
    symbolic link and a link loop stand in for it."""
    write(tmp_path, {"proj/good.py": SPIN, "proj/bad_syntax.py": "def (:\n"})
    proj = tmp_path / "proj"
    (proj / "broken.py").symlink_to(proj / "does-not-exist.py")
    (proj / "self_loop.py").symlink_to(proj / "self_loop.py")
    (proj / "latin1.py").write_bytes(b"x = '\xe9t\xe9'\n" + SPIN.encode())
    declared = b"# -*- coding: latin-1 -*-\nx = '\xe9t\xe9'\n" + COUNTDOWN.encode()
    (proj / "declared.py").write_bytes(declared)
    (proj / "utf8_bom.py").write_bytes(b"\xef\xbb\xbf" + PING_PONG.encode())
    (proj / "crlf.py").write_bytes(SPIN.replace("\n", "\r\n").encode())
    (proj / "dir_named.py").mkdir()
    result = run_cli("--isolated", "proj", cwd=tmp_path)
    assert result.returncode == 2, describe(result)
    assert results(result) == [
        ("proj/bad_syntax.py", 1, 1, "BPL900"),  # read, but CPython cannot parse it
        ("proj/crlf.py", 1, 1, "BPL101"),
        ("proj/declared.py", 3, 1, "BPL102"),
        ("proj/good.py", 1, 1, "BPL101"),
        ("proj/utf8_bom.py", 1, 1, "BPL103"),
    ], describe(result)
    errors = error_lines(result)
    assert len(errors) == 3, describe(result)
    assert errors[0] == ("backprop-lint: proj/broken.py: cannot read: no such file or directory "
                         "(a broken symbolic link)")
    assert errors[1] == ("backprop-lint: proj/latin1.py: cannot decode as utf-8 (byte 0xe9 at "
                         "line 1, column 6): declare its encoding (PEP 263) or save it as UTF-8")
    assert errors[2].startswith("backprop-lint: proj/self_loop.py: cannot read: too many levels")
    assert "Traceback" not in result.stderr


def test_walk_skips_vcs_virtualenvs_caches_and_link_loops(tmp_path) -> None:
    write(tmp_path, {
        "src/a.py": SPIN,
        ".git/hooks/x.py": SPIN, "__pycache__/x.py": SPIN, "build/lib/x.py": SPIN,
        "env/pyvenv.cfg": "home = /usr/bin\n", "env/lib/site.py": SPIN,
        "src/data.txt": SPIN, "src/pkg.egg-info/x.py": SPIN,
    })
    (tmp_path / "src" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "src" / "again.py").symlink_to(tmp_path / "src" / "a.py")
    result = run_cli("--isolated", ".", cwd=tmp_path)
    assert results(result) == [("src/a.py", 1, 1, "BPL101")], describe(result)
    # --exclude replaces the defaults (but a virtualenv is still never walked)
    result = run_cli("--isolated", "--exclude", "src", ".", cwd=tmp_path)
    assert {p for p, *_ in results(result)} == {
        ".git/hooks/x.py", "__pycache__/x.py", "build/lib/x.py"}, describe(result)
    result = run_cli("--isolated", "--extend-exclude", "a*.py", ".", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "", describe(result)


# -- --explain ----------------------------------------------------------------------------------
def test_explain_prints_the_code_documentation(tmp_path) -> None:
    doc = CODES[0]
    result = run_cli("--explain", doc.code.lower(), cwd=tmp_path)
    assert result.returncode == 0, describe(result)
    assert result.stdout.startswith(f"{doc.code}: {doc.name}\n"), result.stdout
    assert doc.scope in result.stdout and doc.summary in result.stdout
    assert "Wrong:" in result.stdout and "Right:" in result.stdout
    for line in (doc.wrong + doc.right).splitlines():
        assert line in result.stdout
    assert result.stdout.rstrip().endswith(f"#{doc.code.lower()}")
    every = run_cli("--explain", "BPL", cwd=tmp_path)
    assert [line.split(":")[0] for line in every.stdout.splitlines()
            if re.match(r"^BPL\d{3}: ", line)] == [d.code for d in CODES]
    unknown = run_cli("--explain", "BPL999", cwd=tmp_path)
    assert unknown.returncode == 2 and len(error_lines(unknown)) == 1, describe(unknown)


# -- formats ------------------------------------------------------------------------------------
def test_json_format(tmp_path) -> None:
    write(tmp_path, {"a.py": "class C:\n    def m(self):\n        return self.m()\n",
                     "b.py": PING_PONG})
    result = run_cli("--isolated", "--format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1, describe(result)
    found = json.loads(result.stdout)
    assert [(f["path"], f["line"], f["column"], f["code"]) for f in found] == [
        ("a.py", 2, 5, "BPL101"), ("b.py", 1, 1, "BPL103")]
    first = found[0]
    assert set(first) == {"path", "line", "column", "end_line", "end_column", "code",
                          "message", "chain", "fix"}
    assert (first["end_line"], first["end_column"]) == (2, len("    def m(self):") + 1)
    assert first["chain"] == [{"path": "a.py", "line": 2, "function": "C.m"}]
    assert found[1]["chain"] == [{"path": "b.py", "line": 1, "function": "ping"},
                                 {"path": "b.py", "line": 5, "function": "pong"}]
    text = run_cli("--isolated", "--format", "concise", ".", cwd=tmp_path)
    assert [f"{f['path']}:{f['line']}:{f['column']}: {f['code']} {f['message']}"
            for f in found] == text.stdout.splitlines()
    empty = run_cli("--isolated", "--format", "json", "--select", "BPL4", ".", cwd=tmp_path)
    assert empty.returncode == 0 and json.loads(empty.stdout) == []


def test_github_format(tmp_path) -> None:
    write(tmp_path, {"a, b.py": SPIN, "walk.py": """\
        def build_topo(v, topo):
            for child in v._prev:
                build_topo(child, topo)
            topo.append(v)
        """})
    result = run_cli("--isolated", "--format", "github", ".", cwd=tmp_path)
    assert result.returncode == 1, describe(result)
    lines = result.stdout.splitlines()
    assert len(lines) == 2, describe(result)
    assert lines[0].startswith("::error file=a%2C b.py,line=1,col=1,endLine=1,endColumn=")
    assert ",title=BPL101::infinite recursion" in lines[0]
    assert lines[1].startswith("::warning file=walk.py,line=1,col=1,")
    assert ",title=BPL201::" in lines[1]


def test_output_file(tmp_path) -> None:
    write(tmp_path, {"a.py": SPIN})
    result = run_cli("--isolated", "--output-file", "out.txt", "--color", "always", ".",
                     cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == "", describe(result)
    assert (tmp_path / "out.txt").read_text().startswith("a.py:1:1: BPL101 ")


def test_colour_only_when_asked_or_on_a_terminal(tmp_path) -> None:
    write(tmp_path, {"a.py": SPIN})
    piped = run_cli("--isolated", ".", cwd=tmp_path)
    assert "\033[" not in piped.stdout
    forced = run_cli("--isolated", "--color", "always", ".", cwd=tmp_path)
    assert "\033[1ma.py\033[m" in forced.stdout and "\033[31mBPL101" in forced.stdout
    out, _ = run_on_terminal(["--isolated", "."], tmp_path)
    assert "\033[31mBPL101" in out
    out, _ = run_on_terminal(["--isolated", "."], tmp_path, {"NO_COLOR": "1"})
    assert "\033[" not in out and "a.py:1:1: BPL101" in out


def run_on_terminal(args: Sequence[str], cwd: Path, env: Optional[Dict[str, str]] = None,
                    stream: str = "stdout") -> Tuple[str, int]:
    """Run the command with ``stream`` on a pseudo-terminal; (what it wrote there, exit)."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    other = subprocess.PIPE
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "backprop_lint", *args], cwd=str(cwd),
            stdin=subprocess.DEVNULL, env=command_env({"TERM": "xterm", **(env or {})}),
            stdout=follower if stream == "stdout" else other,
            stderr=follower if stream == "stderr" else other,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the process exits
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.communicate(timeout=TIMEOUT)
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace"), process.returncode


def test_progress_on_a_terminal_only(tmp_path) -> None:
    write(tmp_path, {f"m{i:03d}.py": FINE for i in range(320)})
    shown, status = run_on_terminal(["--isolated", "."], tmp_path, stream="stderr")
    assert status == 0
    assert re.search(r"backprop-lint: (screening|analysing|linking) 320 files: \d+/320 files "
                     r"done, \d+\.\d s", shown), repr(shown)
    hidden, _ = run_on_terminal(["--isolated", "."], tmp_path, {"CI": "true"}, stream="stderr")
    assert hidden == ""
    piped = run_cli("--isolated", ".", cwd=tmp_path)
    assert piped.stderr == "" and piped.returncode == 0


# -- --graph ------------------------------------------------------------------------------------
def _graph_project(tmp_path: Path) -> Path:
    write(tmp_path, {"a.py": SPIN, "b.py": PING_PONG,
                     "c.py": "class Value:\n    @property\n    def grad(self):\n"
                             "        return self.grad\n",
                     "d.py": COUNTDOWN.replace("countdown", "count_down")})
    return tmp_path


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot's use of pyparsing
def test_graph_dot_parses_back(tmp_path) -> None:
    _graph_project(tmp_path)
    result = run_cli("--isolated", "--graph", "cycles.dot", ".", cwd=tmp_path)
    assert result.returncode == 1, describe(result)
    dot_text = (tmp_path / "cycles.dot").read_text()
    assert dot_text.startswith('digraph "backprop-lint" {')
    pydot = pytest.importorskip("pydot")  # Graphviz's grammar, in Python
    graphs = pydot.graph_from_dot_data(dot_text)
    assert graphs and len(graphs) == 1
    graph = graphs[0]
    labels = {n.get_name(): n.get_label().strip('"') for n in graph.get_nodes()
              if n.get_label()}
    assert set(labels.values()) == {r"spin\na.py:1", r"ping\nb.py:1", r"pong\nb.py:5",
                                    r"Value.grad\nc.py:3", r"count_down\nd.py:1"}
    edges = [(labels[e.get_source()], labels[e.get_destination()], e.get_color())
             for e in graph.get_edges()]
    red = {(u, v) for u, v, colour in edges if colour == "red"}
    plain = {(u, v) for u, v, colour in edges if colour != "red"}
    assert red == {(r"spin\na.py:1", r"spin\na.py:1"), (r"pong\nb.py:5", r"ping\nb.py:1"),
                   (r"Value.grad\nc.py:3", r"Value.grad\nc.py:3"),
                   (r"count_down\nd.py:1", r"count_down\nd.py:1")}
    assert plain == {(r"ping\nb.py:1", r"pong\nb.py:5")}
    assert "node [shape=box" in dot_text
    dot = shutil.which("dot")
    if dot:  # Graphviz itself, where installed
        rendered = subprocess.run([dot, "-Tsvg", str(tmp_path / "cycles.dot")],
                                  capture_output=True, text=True, timeout=60)
        assert rendered.returncode == 0 and "<svg" in rendered.stdout, rendered.stderr


def test_graph_mermaid(tmp_path) -> None:
    _graph_project(tmp_path)
    result = run_cli("--isolated", "--graph", "cycles.mmd", "--format", "json", ".",
                     cwd=tmp_path)
    assert result.returncode == 1, describe(result)
    lines = (tmp_path / "cycles.mmd").read_text().splitlines()
    assert lines[0] == "flowchart LR"
    nodes = {}
    edges = []
    style = None
    for line in lines[1:]:
        node = re.fullmatch(r'  (n\d+)\["([^"]*)"\]', line)
        edge = re.fullmatch(r"  (n\d+) -->(?:\|([A-Z0-9, ]+)\|)? (n\d+)", line)
        link_style = re.fullmatch(r"  linkStyle ([\d,]+) stroke:red,stroke-width:2px,color:red",
                                  line)
        assert node or edge or link_style, f"not Mermaid flowchart syntax: {line!r}"
        if node:
            nodes[node[1]] = node[2]
        elif edge:
            edges.append((nodes[edge[1]], edge[2], nodes[edge[3]]))
        else:
            style = [int(i) for i in link_style[1].split(",")]
    assert set(nodes.values()) == {"spin<br/>a.py:1", "ping<br/>b.py:1", "pong<br/>b.py:5",
                                   "Value.grad<br/>c.py:3", "count_down<br/>d.py:1"}
    red = [edges[i] for i in style]
    assert sorted(red) == sorted([("spin<br/>a.py:1", "BPL101", "spin<br/>a.py:1"),
                                  ("pong<br/>b.py:5", "BPL103", "ping<br/>b.py:1"),
                                  ("Value.grad<br/>c.py:3", "BPL104", "Value.grad<br/>c.py:3"),
                                  ("count_down<br/>d.py:1", "BPL102", "count_down<br/>d.py:1")])
    assert [e for i, e in enumerate(edges) if i not in style] == [
        ("ping<br/>b.py:1", None, "pong<br/>b.py:5")]


def test_no_graph_unless_asked(tmp_path) -> None:
    _graph_project(tmp_path)
    before = set(os.listdir(tmp_path))
    run_cli("--isolated", ".", cwd=tmp_path)
    assert set(os.listdir(tmp_path)) == before


# -- the per-file cache ----------------------------------------------------------------------
def _cache_entries(folder: Path) -> Dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("*.pickle")} if folder.exists() else {}


def test_warm_run_reuses_the_cache_and_reports_the_same(tmp_path) -> None:
    """Every entry of the cold run is found again by the warm one, in a new process (where
    sets of strings come out in another order: no set may reach a cache key)."""
    project, cache = tmp_path / "project", tmp_path / "cache"
    many_names = "import os, sys, json\nfrom typing import Any, Dict, List, Set\n\n\n" + SPIN
    write(project, {**CROSS_MODULE, "a.py": SPIN, "b.py": PING_PONG, "c.py": FINE,
                    "d.py": many_names})
    cold = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    entries = _cache_entries(cache)
    assert cold.returncode == 1 and entries, describe(cold)
    warm = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert _cache_entries(cache) == entries  # nothing analysed again, nothing rewritten


def test_a_changed_file_is_analysed_again(tmp_path) -> None:
    project, cache = tmp_path / "project", tmp_path / "cache"
    write(project, {"a.py": SPIN, "b.py": FINE})
    first = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert results(first) == [("a.py", 1, 1, "BPL101")], describe(first)
    write(project, {"a.py": FINE, "b.py": COUNTDOWN})
    second = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert results(second) == [("b.py", 1, 1, "BPL102")], describe(second)


def test_broken_cache_entries_are_misses(tmp_path) -> None:
    project, cache = tmp_path / "project", tmp_path / "cache"
    write(project, {"a.py": SPIN})
    first = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    for entry in cache.rglob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    again = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert (again.returncode, again.stdout, again.stderr) == (first.returncode, first.stdout, "")


def test_the_cache_keeps_one_pack_per_folder_and_kind_of_result(tmp_path) -> None:
    """Creating a file is what a cache entry costs: one per folder, not one per source file.
    Every file has a screen; only x/spin.py holds something to analyse; the run's findings
    are kept in the project's folder."""
    project, cache = tmp_path / "project", tmp_path / "cache"
    write(project, {"x/spin.py": SPIN, "x/fine.py": FINE, "x/more.py": FINE,
                    "y/one.py": FINE, "y/two.py": FINE})
    first = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert results(first) == [("x/spin.py", 1, 1, "BPL101")], describe(first)
    # x's screens and analyses, y's screens, the project's findings
    assert len(_cache_entries(cache)) == 4


def test_a_change_rewrites_only_the_packs_of_its_folder(tmp_path) -> None:
    project, cache = tmp_path / "project", tmp_path / "cache"
    write(project, {"x/a.py": SPIN, "x/b.py": FINE, "y/c.py": COUNTDOWN})
    run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    before = _cache_entries(cache)
    write(project, {"x/b.py": FINE + "# changed\n"})
    again = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert results(again) == [("x/a.py", 1, 1, "BPL101"), ("y/c.py", 1, 1, "BPL102")]
    after = _cache_entries(cache)
    assert after.keys() == before.keys()
    # x's screens, and the project's findings (a run on other texts)
    assert len([entry for entry in after if after[entry] != before[entry]]) == 2


def test_a_pack_rewritten_forgets_files_that_are_gone(tmp_path) -> None:
    from backprop_lint.cache import Cache, pickled

    folder = tmp_path / "src"
    write(folder, {"kept.py": FINE, "gone.py": FINE, "new.py": FINE})
    paths = {name: str(folder / name) for name in ("kept.py", "gone.py", "new.py")}
    cache = Cache(str(tmp_path / "cache"))
    cache.put("screen", paths["kept.py"], "k1", pickled("kept"))
    cache.put("screen", paths["gone.py"], "k2", pickled("gone"))
    cache.flush()
    (folder / "gone.py").unlink()
    later = Cache(str(tmp_path / "cache"))
    assert later.get("screen", paths["gone.py"], "k2") == "gone"  # still there, unread
    assert later.get("screen", paths["kept.py"], "other key") is None  # the file changed
    later.put("screen", paths["new.py"], "k3", pickled("new"))
    later.flush()
    last = Cache(str(tmp_path / "cache"))
    assert [last.get("screen", paths[n], k) for n, k in (
        ("kept.py", "k1"), ("gone.py", "k2"), ("new.py", "k3"))] == ["kept", None, "new"]


def test_a_run_on_unchanged_files_imports_no_analysis(tmp_path) -> None:
    """The second run takes the first one's findings: it reads the files, and neither
    parses them nor imports libcst."""
    project, cache = tmp_path / "project", tmp_path / "cache"
    write(project, {**CROSS_MODULE, "a.py": SPIN})
    probe = ("import sys; from backprop_lint.cli import main; code = main(sys.argv[1:]); "
             "print('libcst' in sys.modules, 'backprop_lint.analysis' in sys.modules, code)")
    command = [sys.executable, "-c", probe, "--isolated", "--cache-dir", str(cache), "."]
    runs = [subprocess.run(command, cwd=str(project), capture_output=True, text=True,
                           env=command_env(), timeout=TIMEOUT) for _ in range(2)]
    assert runs[0].stdout.splitlines()[-1] == "True True 1", runs[0].stdout + runs[0].stderr
    assert runs[1].stdout.splitlines()[-1] == "False False 1", runs[1].stdout + runs[1].stderr
    assert runs[1].stdout.splitlines()[:-1] == runs[0].stdout.splitlines()[:-1]


def test_a_package_marker_on_disk_changes_what_is_recalled(tmp_path) -> None:
    """Module names come from the folders too: an ``__init__.py`` that is not checked
    itself still decides that pkg/engine.py is the module ``pkg.engine``."""
    project, cache = tmp_path / "project", tmp_path / "cache"
    write(project, {path: text.replace("from . import", "from pkg import").replace(
        "from .engine", "from pkg.engine") for path, text in CROSS_MODULE.items()
        if path != "pkg/__init__.py"})
    options = ("--isolated", "--extend-exclude", "__init__.py", "--cache-dir", str(cache), ".")
    assert results(run_cli(*options, cwd=project)) == []
    write(project, {"pkg/__init__.py": ""})
    found = run_cli(*options, cwd=project)
    assert results(found) == [("pkg/engine.py", 4, 1, "BPL103")], describe(found)


def test_entries_of_another_python_are_not_read(tmp_path, monkeypatch) -> None:
    """Which files parse (a ``match`` statement) and which pickles load depends on the
    Python: two Pythons sharing ~/.cache never read each other's entries."""
    import backprop_lint.cache as cache_module

    path = str(tmp_path / "a.py")
    write(tmp_path, {"a.py": FINE})
    writer = cache_module.Cache(str(tmp_path / "cache"))
    key = writer.key_of("screen", path, FINE, None)
    writer.put("screen", path, key, cache_module.pickled("screen of a.py"))
    writer.flush()
    assert cache_module.Cache(str(tmp_path / "cache")).get("screen", path, key) == "screen of a.py"
    monkeypatch.setattr(cache_module, "_EDITION", cache_module._EDITION + "-another-python")
    reader = cache_module.Cache(str(tmp_path / "cache"))
    assert reader.get("screen", path, reader.key_of("screen", path, FINE, None)) is None


def test_concurrent_runs_share_a_cache_safely(tmp_path) -> None:
    project, cache = tmp_path / "project", tmp_path / "cache"
    write(project, {**CROSS_MODULE, "a.py": SPIN, "b.py": PING_PONG, "c.py": FINE})
    alone = run_cli("--isolated", "--no-cache", ".", cwd=project)
    command = [sys.executable, "-m", "backprop_lint", "--isolated", "--cache-dir", str(cache), "."]
    runs = [subprocess.Popen(command, cwd=str(project), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=command_env()) for _ in range(4)]
    outputs = [run.communicate(timeout=TIMEOUT) for run in runs]
    assert {(out.decode(), err.decode()) for out, err in outputs} == {(alone.stdout, "")}
    warm = run_cli("--isolated", "--cache-dir", str(cache), ".", cwd=project)
    assert (warm.stdout, warm.stderr) == (alone.stdout, "")


def test_no_cache_writes_nothing(tmp_path) -> None:
    project, home = tmp_path / "project", tmp_path / "xdg"
    write(project, {"a.py": SPIN})
    result = run_cli("--isolated", "--no-cache", ".", cwd=project,
                     env={"XDG_CACHE_HOME": str(home)})
    assert results(result) == [("a.py", 1, 1, "BPL101")], describe(result)
    assert not home.exists()
    default = run_cli("--isolated", ".", cwd=project, env={"XDG_CACHE_HOME": str(home)})
    assert default.stdout == result.stdout
    assert _cache_entries(home / "backprop-lint")  # the default folder follows XDG


# -- no silent all-clear, no late failure ----------------------------------------------------
def test_progress_counts_the_files_each_stage_has_finished() -> None:
    """Each stage counts from 0 to every file, one file at a time as it finishes it: the
    line moves while the screen runs, and no stage jumps from 0 to the end."""
    from backprop_lint.analysis import analyse_project

    sources = {f"m{i}.py": FINE for i in range(5)}
    sources["spin.py"] = SPIN
    told: list = []
    analyse_project(sources, jobs=1, progress=lambda stage, n: told.append((stage, n)))
    stages = [stage for stage, _ in told]
    assert sorted(set(stages), key=stages.index) == ["screening", "analysing", "linking"]
    assert stages == sorted(stages, key=["screening", "analysing", "linking"].index)
    for stage in ("screening", "analysing", "linking"):
        assert sum(n for s, n in told if s == stage) == len(sources), told
    assert [n for s, n in told if s == "screening" and n] == [1] * len(sources)


def test_select_that_matches_no_code_is_a_usage_error(tmp_path) -> None:
    write(tmp_path, {"a.py": SPIN})
    for option in ("--select=XYZ", "--select=E,W", "--select=BPL999"):
        result = run_cli("--isolated", option, ".", cwd=tmp_path)
        assert result.returncode == 2, describe(result)
        assert result.stdout == "" and "matches no code" in result.stderr, describe(result)
        assert result.stderr.count("\n") == 1, describe(result)
    assert run_cli("--isolated", "--select=BPL9", ".", cwd=tmp_path).returncode == 0
    assert run_cli("--isolated", "--select=XYZ", "--extend-select=BPL1", ".",
                   cwd=tmp_path).returncode == 1
    (tmp_path / "pyproject.toml").write_text('[tool.backprop-lint]\nselect = ["BPL7"]\n')
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 2 and "pyproject.toml [tool.backprop-lint]: select: BPL7 matches no code" \
        in result.stderr, describe(result)


@pytest.mark.parametrize("option", ["--output-file", "--graph"])
def test_an_output_that_cannot_be_written_fails_before_the_analysis(tmp_path, option) -> None:
    write(tmp_path, {"a.py": SPIN})
    (tmp_path / "folder.dot").mkdir()
    for target in ("missing/out.dot", "folder.dot"):
        result = run_cli("--isolated", "--no-cache", option, target, ".", cwd=tmp_path)
        assert result.returncode == 2, describe(result)
        assert result.stdout == "", describe(result)  # no report: the analysis never ran
        assert result.stderr.startswith(f"backprop-lint: error: {option} {target}: cannot "
                                        "write: "), describe(result)
    result = run_cli("--isolated", option, "out.dot", ".", cwd=tmp_path)
    assert result.returncode == 1 and (tmp_path / "out.dot").stat().st_size > 0


def test_an_unusable_cache_dir_is_said_once(tmp_path) -> None:
    write(tmp_path, {f"m{i}.py": SPIN for i in range(3)})
    (tmp_path / "not-a-folder").write_text("")
    result = run_cli("--isolated", "--cache-dir", "not-a-folder", ".", cwd=tmp_path)
    assert result.returncode == 1, describe(result)
    assert result.stdout.count("BPL101") == 3
    assert result.stderr == ("backprop-lint: warning: --cache-dir not-a-folder: cannot be "
                             "used (not a directory); nothing is cached\n"), describe(result)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_py_is_skipped_in_folders_and_an_error_when_named(tmp_path) -> None:
    write(tmp_path, {"a.py": SPIN})
    os.mkfifo(tmp_path / "pipe.py")  # opening it to read would wait for a writer forever
    walked = run_cli("--isolated", ".", cwd=tmp_path)
    assert walked.returncode == 1 and walked.stderr == "", describe(walked)
    assert walked.stdout.startswith("a.py:1:1: BPL101"), describe(walked)
    named = run_cli("--isolated", "pipe.py", "a.py", cwd=tmp_path)
    assert named.returncode == 2, describe(named)
    assert named.stderr == "backprop-lint: pipe.py: cannot read: not a regular file\n"
    assert named.stdout.startswith("a.py:1:1: BPL101"), describe(named)
