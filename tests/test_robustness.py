"""Robustness: never crash, never lie.

One test per adversarial input. Each asserts that the analysis returns (it never raises and
never hangs: pytest's own run is the time bound), and that it returns the right findings or
exactly one BPL900 on line 1 that names its reason. Most inputs go through
``analyse_source`` with and without the screen (the two must agree on any file CPython
parses); a few go through the real flake8 in a subprocess as well.

The checker never imports or runs the code it reads: the hostile inputs (``sys.exit()``,
``os._exit(1)``, ``while True: pass``...) are only text to it.

Tests marked ``xfail(strict=True)`` pin a known bug of the checker, with a minimal input: once
the bug is fixed they pass, which strict mode reports as a failure: then drop the mark.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest

from backprop_lint.analysis import Options, analyse_project, analyse_source
from backprop_lint.findings import CODE_DOCS
from conftest import DEEP_FLAKE8, FIXTURES, FLAKE8_TIMEOUT

SPIN = "def spin(x):\n    return spin(x)\n"  # BPL101 on line 1, column 0


# -- helpers ---------------------------------------------------------------------------------
def physical_lines(source: str) -> List[str]:
    """The lines as CPython counts them (\\n, \\r\\n and a lone \\r end a line; str.splitlines
    would also split on form feeds and other separators)."""
    return re.split(r"\r\n|\r|\n", source)


def check_well_formed(source: str, findings: Sequence) -> None:
    assert list(findings) == sorted(findings), "findings are not sorted"
    lines = physical_lines(source)
    for finding in findings:
        assert finding.code in CODE_DOCS, finding
        assert finding.message.strip(), finding
        assert 1 <= finding.line <= max(1, len(lines)), finding
        assert finding.column >= 0, finding
    if any(f.code == "BPL900" for f in findings):
        assert len(findings) == 1, f"BPL900 must come alone: {findings}"


def analyse(source: str, *, both: bool = True) -> list:
    """``analyse_source`` as flake8 runs it (screen on); with ``both``, also with the screen
    off, which must agree (the screen only drops files that cannot have a finding)."""
    screened = analyse_source(source, Options())
    check_well_formed(source, screened)
    if both:
        unscreened = analyse_source(source, Options(screen=False))
        assert screened == unscreened, f"screen on: {screened}\nscreen off: {unscreened}"
    return screened


def positions(findings: Sequence) -> List[Tuple[int, int, str]]:
    return [(f.line, f.column, f.code) for f in findings]


def reason_of_bpl900(findings: Sequence) -> str:
    """The reason of the one BPL900 (asserting there is exactly one, on line 1)."""
    assert len(findings) == 1, findings
    (finding,) = findings
    assert (finding.line, finding.column, finding.code) == (1, 0, "BPL900"), finding
    reason = finding.message.split(":", 1)[1].strip() if ":" in finding.message else ""
    assert reason, f"BPL900 names no reason: {finding.message!r}"
    return reason


def assert_analysed_or_clean_bpl900(findings: Sequence, expected: Sequence[Tuple[int, int, str]]):
    """Either the expected findings, or one BPL900 naming a reason other than an internal
    error (an internal error is a bug, not a property of the input)."""
    if findings and findings[0].code == "BPL900":
        assert "internal error" not in reason_of_bpl900(findings), findings
    else:
        assert positions(findings) == list(expected), findings


def flake8_command(*args: str) -> List[str]:
    # deep: flake8's own pyflakes cannot walk a 2,500-term expression under the default limit
    return [sys.executable, "-c", DEEP_FLAKE8, "--isolated", *args]


def run_flake8(cwd: Path, *args: str,
               timeout: float = FLAKE8_TIMEOUT) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return subprocess.run(flake8_command(*args), cwd=str(cwd), capture_output=True, text=True,
                          encoding="utf-8", errors="replace", stdin=subprocess.DEVNULL,
                          timeout=timeout, env=env)


_RESULT = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) ")


def assert_flake8_ran(result: subprocess.CompletedProcess) -> None:
    """flake8 finished: exit 0 or 1, no plugin failure, no traceback."""
    described = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode in (0, 1), described
    for sign in ("Traceback", "failed during execution", "There was a critical error"):
        assert sign not in result.stdout + result.stderr, described


# -- the flake8 batch: every on-disk input in one real flake8 run ------------------------------
SUM_2500 = "def f(a):\n    x = " + " + ".join(["a"] * 2500) + "\n    return f(a)\n"
HOSTILE = {
    "sys_exit": "import sys\nsys.exit()\n",
    "os_exit": "import os\nos._exit(1)\n",
    "infinite_loop": "while True:\n    pass\n",
    "raise_system_exit": "raise SystemExit\n",
    "kill_self": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "side_effect": "open(__file__ + '.ran', 'w').write('ran')\n",
}

NUL_FILE = b"def f(x):\n    return f(x)\x00\n"
FLAKE8_FILES: Dict[str, bytes] = {
    "empty.py": b"",
    "comments.py": b"# only a comment\n# def f(x): return f(x)\n",
    "bom.py": b"\xef\xbb\xbf" + SPIN.encode(),
    "crlf.py": SPIN.replace("\n", "\r\n").encode(),
    "cr.py": SPIN.replace("\n", "\r").encode(),
    "tabs_ff.py": (b"def f(x):\n\treturn f(x)\n\x0c\n"
                   b"class C:\n\tdef m(self):\n\t\treturn self.m()\n\x0c\n\t\x0c\n"
                   b"\tdef k(self):\n\t\tif self:\n\t\t\tpass\n\x0c\n\t\treturn self.k()\n"
                   b"\x0cdef g(x):\n\x0c    return g(x)\n"),
    "latin1.py": ("# -*- coding: latin-1 -*-\ndef f(x):\n    s = 'caf\xe9 \xb5'\n    return f(x)\n"
                  ).encode("latin-1"),
    "bad_utf8.py": b"def f(x):\n    s = '\xff\xfe\xc3('\n    return f(x)\n",
    "nul.py": NUL_FILE,
    "py2.py": b"print 'hello'\ndef f(x):\n    return f(x)\n",
    "sum2500.py": SUM_2500.encode(),
    **{f"hostile_{name}.py": (code + SPIN).encode() for name, code in HOSTILE.items()},
}
# Before 3.12 CPython's parser raises ValueError on a NUL byte, and flake8 itself (not the
# plugin: it builds the tree before calling any) dies with a traceback on such a file.
FLAKE8_CRASHES_ON_NUL = sys.version_info < (3, 12)
if FLAKE8_CRASHES_ON_NUL:
    del FLAKE8_FILES["nul.py"]


@pytest.fixture(scope="module")
def flake8_results(tmp_path_factory) -> Dict[str, List[Tuple[int, int, str]]]:
    """(line, column, code) of everything flake8 --select=BPL,E9 reports, per file."""
    folder = tmp_path_factory.mktemp("adversarial")
    for name, data in FLAKE8_FILES.items():
        (folder / name).write_bytes(data)
    result = run_flake8(folder, "--select=BPL,E9", ".")
    assert_flake8_ran(result)
    found: Dict[str, List[Tuple[int, int, str]]] = {name: [] for name in FLAKE8_FILES}
    for line in result.stdout.splitlines():
        match = _RESULT.match(line)
        assert match, f"not a flake8 result: {line!r}\n{result.stdout}\n{result.stderr}"
        position = (int(match["line"]), int(match["col"]), match["code"])
        found[Path(match["path"]).name].append(position)
    for name in HOSTILE:
        assert not (folder / f"hostile_{name}.py.ran").exists(), "flake8 ran the hostile code"
    return {name: sorted(v) for name, v in found.items()}


# -- empty and comment-only files --------------------------------------------------------------
@pytest.mark.parametrize("source", ["", "\n", "\n\n\n", "   \n\t\n", "\x0c", "pass\n"],
                         ids=["empty", "newline", "newlines", "whitespace", "form-feed", "pass"])
def test_empty_file(source: str, flake8_results) -> None:
    assert analyse(source) == []
    assert flake8_results["empty.py"] == []


def test_only_comments(flake8_results) -> None:
    source = "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n# def f(x): return f(x)\n#\n"
    assert analyse(source) == []
    assert analyse(source.rstrip("\n")) == []  # no newline at the end
    assert flake8_results["comments.py"] == []


def test_no_newline_at_end_of_file() -> None:
    assert positions(analyse(SPIN.rstrip("\n"))) == [(1, 0, "BPL101")]
    assert positions(analyse(SPIN.replace("\n", "\r").rstrip("\r"))) == [(1, 0, "BPL101")]


# -- encodings ----------------------------------------------------------------------------------
def test_utf8_bom_through_flake8(flake8_results) -> None:
    """flake8 strips the BOM from the lines it hands the plugin."""
    assert flake8_results["bom.py"] == [(1, 1, "BPL101")]


def test_utf8_bom_text_through_analyse_source() -> None:
    """A file with a UTF-8 BOM is valid Python; its text read as 'utf-8' (not 'utf-8-sig')
    keeps U+FEFF. Its findings are those of the text without the BOM, screen on or off."""
    assert positions(analyse("\ufeff" + SPIN)) == [(1, 0, "BPL101")]


@pytest.mark.parametrize("ending", ["\r\n", "\r", "mixed"])
def test_crlf_and_lone_cr_line_endings(ending: str, flake8_results) -> None:
    source = textwrap.dedent('''\
        """Docstring."""

        def spin(x):
            y = 1
            return spin(x)
        ''')
    if ending == "mixed":
        lines = source.split("\n")
        source = "\r\n".join(lines[:2]) + "\r" + "\n".join(lines[2:])
    else:
        source = source.replace("\n", ending)
    findings = analyse(source)
    assert positions(findings) == [(3, 0, "BPL101")]
    assert "(l.5)" in findings[0].message  # the self-call's line, counted as CPython does
    assert flake8_results["crlf.py"] == [(1, 1, "BPL101")]
    assert flake8_results["cr.py"] == [(1, 1, "BPL101")]


def test_tabs_and_form_feeds_in_indentation(flake8_results) -> None:
    """Tab-indented code, form feeds on lines of their own and before a first-level line."""
    source = FLAKE8_FILES["tabs_ff.py"].decode()
    compile(source, "<test>", "exec", ast.PyCF_ONLY_AST)
    findings = analyse(source)
    assert positions(findings)[:3] == [(1, 0, "BPL101"), (5, 1, "BPL101"), (9, 1, "BPL101")]
    # the column of a def after a form feed is not pinned (0 or 1): noqa works by line
    assert [(f.line, f.code) for f in findings[3:]] == [(14, "BPL101")]
    results = flake8_results["tabs_ff.py"]
    assert results[:3] == [(1, 1, "BPL101"), (5, 2, "BPL101"), (9, 2, "BPL101")]
    assert [(line, code) for line, _, code in results[3:]] == [(14, "BPL101")]


def test_form_feed_in_nested_indentation() -> None:
    """CPython resets the indentation at a form feed; libcst 1.9 refuses one that starts a
    line indented two levels or more (and says where only as 1:1). Analysed, or one clean
    BPL900."""
    source = "def g(x):\n    if x:\n\x0c        pass\n    return g(x)\n"
    compile(source, "<test>", "exec", ast.PyCF_ONLY_AST)
    assert_analysed_or_clean_bpl900(analyse(source), [(1, 0, "BPL101")])


def test_pep263_latin1_file(flake8_results) -> None:
    """On disk in latin-1 with a coding cookie: flake8 decodes it; as text the cookie is moot."""
    assert flake8_results["latin1.py"] == [(2, 1, "BPL101")]
    text = FLAKE8_FILES["latin1.py"].decode("latin-1")
    assert positions(analyse(text)) == [(2, 0, "BPL101")]


def test_invalid_utf8_through_flake8(flake8_results) -> None:
    """Bytes that are not UTF-8 in a file without a cookie: CPython refuses the file. flake8
    either says E902/E999 or (flake8 7 does this) decodes it as latin-1 and lints that text;
    either way it runs to its end and the plugin reports nothing else."""
    results = flake8_results["bad_utf8.py"]
    assert results, "flake8 said nothing about a file CPython cannot read"
    assert {code for _, _, code in results} <= {"E902", "E999", "BPL101"}, results
    assert all(r == (1, 1, "BPL101") for r in results if r[2].startswith("BPL")), results


@pytest.mark.parametrize("screen", [True, False])
def test_invalid_utf8_as_surrogate_escaped_text(screen: bool) -> None:
    """Such a text is not Python CPython compiles: [] (as for any such file) or one BPL900
    that names the input's problem - not an internal error."""
    text = FLAKE8_FILES["bad_utf8.py"].decode("utf-8", "surrogateescape")
    findings = analyse_source(text, Options(screen=screen))
    assert findings == [] or "internal error" not in reason_of_bpl900(findings), findings


def test_nul_byte_gives_nothing() -> None:
    assert analyse_source(NUL_FILE.decode(), Options()) == []  # CPython refuses it: E999


@pytest.mark.skipif(FLAKE8_CRASHES_ON_NUL, reason="before Python 3.12 flake8 itself crashes on a "
                    "NUL byte (ast.parse raises ValueError), before any plugin runs")
def test_nul_byte_through_flake8(flake8_results) -> None:
    assert flake8_results["nul.py"] == [(1, 1, "E999")]


# -- syntax CPython refuses, syntax libcst does not know ---------------------------------------
PYTHON2 = {
    "print_statement": "print 'hello'\n",
    "except_comma": "try:\n    pass\nexcept ValueError, e:\n    pass\n",
    "backticks": "x = `1`\n",
    "exec_statement": "exec 'x = 1'\n",
    "octal": "x = 0777\n",
    "ur_prefix": "x = ur'abc'\n",
    "print_with_percent": "print '%s' % x\n",
    "tuple_parameter": "def g((a, b)):\n    return a\n",
}


@pytest.mark.parametrize("name", sorted(PYTHON2))
def test_python2_syntax(name: str) -> None:
    """No findings (flake8 reports E999), no crash; the analysis after the bad line is moot."""
    assert analyse_source(PYTHON2[name] + SPIN, Options()) == []


def test_python2_syntax_through_flake8(flake8_results) -> None:
    assert [code for _, _, code in flake8_results["py2.py"]] == ["E999"]


# Texts CPython refuses (it says E999 or refuses to compile them), each with an infinite
# recursion that libcst would happily parse.
CPYTHON_REFUSES = {
    "python2_print": PYTHON2["print_statement"] + SPIN,
    "nul_byte": "def spin(x):\n    return spin(x)\x00\n",
    "too_many_parentheses": ("def spin(x):\n    y = " + "(" * 201 + "x" + ")" * 201
                             + "\n    return spin(y)\n"),
    "int_too_long": "def spin(x):\n    y = " + "9" * 5000 + "\n    return spin(x)\n",
    "bad_escape": "def spin(x):\n    y = '\\N{NO SUCH NAME}'\n    return spin(x)\n",
    "non_ascii_bytes": "def spin(x):\n    y = b'\xe9'\n    return spin(x)\n",
    "backslash_at_eof": SPIN + "x = 1 + \\\n",
}


@pytest.mark.parametrize("name", sorted(CPYTHON_REFUSES))
def test_text_cpython_refuses_gives_nothing_with_screen_on(name: str) -> None:
    source = CPYTHON_REFUSES[name]
    with pytest.raises((SyntaxError, ValueError)):
        compile(source, "<test>", "exec", ast.PyCF_ONLY_AST)
    assert analyse_source(source, Options()) == []


@pytest.mark.parametrize("name", sorted(CPYTHON_REFUSES))
def test_text_cpython_refuses_gives_nothing_with_screen_off(name: str) -> None:
    """The contract ("a file CPython cannot parse gives []") holds for both screen settings."""
    assert analyse_source(CPYTHON_REFUSES[name], Options(screen=False)) == []


def test_deep_parentheses_with_screen_off_do_not_kill_the_process() -> None:
    probe = textwrap.dedent("""\
        from backprop_lint.analysis import Options, analyse_source
        n = 100_000
        source = "def spin(x):\\n    y = " + "(" * n + "x" + ")" * n + "\\n    return spin(y)\\n"
        print([f.code for f in analyse_source(source, Options(screen=False))])
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (
        f"exit {result.returncode} (-11 is SIGSEGV)\n{result.stderr[-2000:]}")
    assert result.stdout.strip() == "[]", result.stdout  # CPython refuses >200 nested parentheses


def test_parentheses_nested_as_deep_as_cpython_allows() -> None:
    depth = 200  # CPython's limit ("too many nested parentheses" at 201)
    source = "def spin(x):\n    y = " + "(" * depth + "x" + ")" * depth + "\n    return spin(y)\n"
    compile(source, "<test>", "exec", ast.PyCF_ONLY_AST)
    assert positions(analyse(source)) == [(1, 0, "BPL101")]


# Forms CPython accepts that libcst may not. On Python 3.11 with libcst 1.9 there is no
# *newer* syntax of this kind: libcst's grammar covers Python 3.0-3.14 (t-strings, PEP 695
# type parameters, except*, match, PEP 646 star expressions), a superset of what CPython 3.11
# accepts; forms newer than 3.11 are refused by CPython first (E999). The candidates are
# probed at test time, so a newer CPython with an older libcst is covered when it happens.
# The one form CPython accepts and libcst refuses on this machine is an old one: a
# parenthesised annotated-assignment target, ``(x): int = 1``.
LIBCST_GAP_CANDIDATES = {
    "parenthesised_annotated_target": "(y): int = 1\n",
    "star_in_subscript": "a[*b]\n",
    "star_annotation": "def g(*args: *Ts):\n    pass\n",
    "except_star": "try:\n    pass\nexcept* ValueError:\n    pass\n",
    "parenthesised_with": "with (open('a') as p, open('b') as q):\n    pass\n",
    "type_alias": "type Alias = int\n",
    "type_parameters": "def g[T](x: T) -> T:\n    return x\n",
    "pep701_fstring": "x = f'{\"\\n\".join(y)}'\n",
    "template_string": "x = t'{y}'\n",
}


@pytest.mark.parametrize("name", sorted(LIBCST_GAP_CANDIDATES))
def test_syntax_libcst_may_not_know(name: str) -> None:
    """Analysed (the infinite recursion next to the form is found) or one clean BPL900."""
    import libcst

    form = LIBCST_GAP_CANDIDATES[name]
    source = form + "\n\n" + SPIN
    try:
        compile(source, "<test>", "exec", ast.PyCF_ONLY_AST)
    except SyntaxError:
        pytest.skip(f"CPython {sys.version_info[:2]} refuses it: flake8 reports E999")
    try:
        libcst.parse_module(source)
        libcst_knows = True
    except libcst.ParserSyntaxError:
        libcst_knows = False
    spin_line = form.count("\n") + 3
    findings = analyse(source)
    assert_analysed_or_clean_bpl900(findings, [(spin_line, 0, "BPL101")])
    if not libcst_knows:
        # inside the recursive function too: silence is fine (the statement may have exited)
        inside = "def spin(x):\n" + textwrap.indent(form, "    ") + "    return spin(x)\n"
        compile(inside, "<test>", "exec", ast.PyCF_ONLY_AST)
        findings = analyse(inside)
        if findings and findings[0].code != "BPL900":
            assert positions(findings) == [(1, 0, "BPL101")], findings
        else:
            assert_analysed_or_clean_bpl900(findings, [])


def test_a_gap_libcst_does_not_know_exists_on_this_machine() -> None:
    """Documents the gap the test above exercises (fails, harmlessly, once libcst closes it)."""
    import libcst

    with pytest.raises(libcst.ParserSyntaxError):
        libcst.parse_module("(y): int = 1\n")


def test_many_statements_libcst_does_not_know() -> None:
    """More than the checker repairs: one clean BPL900 (or the finding, if it repairs all).
    With the screen on, the unused statements are left out before libcst reads the file,
    so the finding comes out where the whole file gives BPL900: the two may differ."""
    source = "".join(f"(y{i}): int = {i}\n" for i in range(40)) + SPIN
    assert_analysed_or_clean_bpl900(analyse(source, both=False), [(41, 0, "BPL101")])
    assert_analysed_or_clean_bpl900(analyse_source(source, Options(screen=False)), [(41, 0, "BPL101")])


# -- big and deep inputs -------------------------------------------------------------------------
def test_ten_megabyte_file(record_property) -> None:
    """~10 MB of small functions (no cycle among them): completes; timed, not asserted."""
    parts, size, index = [], 0, 0
    while size < 10_000_000:
        part = (f"def func_{index}(a, b):\n    c = a + b * {index}\n"
                f"    return helper_{index % 7}(c)\n\n\n")
        parts.append(part)
        size += len(part)
        index += 1
    source = "".join(parts)
    start = time.perf_counter()
    findings = analyse_source(source, Options())
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 2))
    print(f"\n10 MB file ({index} functions, {source.count(chr(10))} lines): {seconds:.1f} s")
    assert findings == []


def test_2500_term_expression_in_an_infinite_recursion(flake8_results) -> None:
    findings = analyse(SUM_2500)
    assert positions(findings) == [(1, 0, "BPL101")], findings
    assert flake8_results["sum2500.py"] == [(1, 1, "BPL101")]


def test_2500_term_expression_from_a_deep_caller_stack() -> None:
    """Editors and language servers call in with a deep stack of their own; "any file that
    CPython parses, however deeply nested, is analysed" holds whoever calls."""
    def nested(depth: int) -> list:
        return analyse_source(SUM_2500, Options()) if depth == 0 else nested(depth - 1)

    assert positions(nested(300)) == [(1, 0, "BPL101")]


def test_100000_term_boolean_chain() -> None:
    """Never raises; analysed (BPL101), or at worst one BPL900 that is not an internal error."""
    source = "def spin(x):\n    y = " + " and ".join(["x"] * 100_000) + "\n    return spin(y)\n"
    compile(source, "<test>", "exec", ast.PyCF_ONLY_AST)
    try:
        findings = analyse_source(source, Options())
    except BaseException as exc:  # noqa: B902 - the point: nothing may escape
        pytest.fail(f"analyse_source raised {type(exc).__name__}")
    assert_analysed_or_clean_bpl900(findings, [(1, 0, "BPL101")])


def test_300_chained_method_calls() -> None:
    source = ("def spin(a):\n    return spin(a)" + ".m()" * 300 + "\n\n\n"
              "def fine(a):\n    return a" + ".m()" * 300 + "\n")
    assert positions(analyse(source)) == [(1, 0, "BPL101")]


def test_1000_implicit_string_concatenations() -> None:
    pieces = "\n".join(f"        'piece {i} '" for i in range(1000))
    source = f"def spin(a):\n    s = (\n{pieces}\n    )\n    return spin(s)\n"
    findings = analyse(source)
    assert positions(findings) == [(1, 0, "BPL101")]
    assert f"(l.{source.count(chr(10))})" in findings[0].message


def test_90_nested_functions() -> None:
    source = "".join("    " * i + f"def f{i}(x):\n" for i in range(90))
    source += "    " * 90 + "return f89(x)\n"
    findings = analyse(source)
    assert positions(findings) == [(90, 4 * 89, "BPL101")], findings
    assert "f0.<locals>" in findings[0].message


def nested_ifs(levels: int) -> str:
    source = "def spin(x):\n"
    for level in range(levels):
        source += "    " * (level + 1) + f"if x > {level}:\n"
    source += "    " * (levels + 1) + "pass\n"
    return source + "    return spin(x)\n"


def test_ifs_nested_as_deep_as_cpython_allows() -> None:
    deepest = 0
    for levels in range(60, 130):
        try:
            compile(nested_ifs(levels), "<test>", "exec", ast.PyCF_ONLY_AST)
        except (SyntaxError, RecursionError, MemoryError):
            break
        deepest = levels
    assert 90 <= deepest < 129, f"CPython's nesting limit moved: {deepest}"  # 98 on 3.11
    source = nested_ifs(deepest)
    findings = analyse(source)
    assert positions(findings) == [(1, 0, "BPL101")], findings
    assert f"(l.{deepest + 3})" in findings[0].message
    assert analyse_source(nested_ifs(deepest + 1), Options()) == []  # CPython refuses: E999


def test_classes_nested_95_deep() -> None:
    source = "".join("    " * i + f"class C{i}:\n" for i in range(95))
    source += "    " * 95 + "def m(self):\n" + "    " * 96 + "return self.m()\n"
    assert positions(analyse(source)) == [(96, 4 * 95, "BPL101")]


def test_5000_methods_in_one_cycle(record_property) -> None:
    """One big strongly connected component: one BPL103, found without enumerating cycles."""
    count = 5000
    source = "class C:\n" + "".join(
        f"    def m{i}(self):\n        return self.m{(i + 1) % count}()\n" for i in range(count))
    start = time.perf_counter()
    findings = analyse_source(source, Options())
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 2))
    check_well_formed(source, findings)
    assert positions(findings) == [(2, 4, "BPL103")], findings[:3]
    assert "C.m0" in findings[0].message
    # a polynomial search takes seconds here; an enumeration of cycles would never end
    assert seconds < 120, f"{seconds:.1f} s for a 5,000-function cycle"


def test_function_calling_itself_10000_times() -> None:
    source = "def spin(x):\n" + "    spin(x)\n" * 10_000
    findings = analyse_source(source, Options())
    check_well_formed(source, findings)
    assert positions(findings) == [(1, 0, "BPL101")]
    assert len(findings[0].message) < 2000, "the message lists every one of 10,000 calls"


def test_local_reassigned_from_itself_many_times() -> None:
    """``h = h.set(...)`` a dozen times (CPython's test_context.py does it) next to a
    recursion, so that the screen lets the file through: seconds at most, not hours."""
    probe = textwrap.dedent("""\
        from backprop_lint.analysis import Options, analyse_source
        source = ("def spin(x):\\n    return spin(x)\\n\\n\\n"
                  "def build(x):\\n    h = make()\\n"
                  + "".join(f"    h = h.set({i})\\n" for i in range(12))
                  + "    return h.get(0)\\n")
        print([f.code for f in analyse_source(source, Options())])
    """)
    try:
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("12 reassignments of one local took over 20 s")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['BPL101']", result.stdout


# -- hostile code: only text to the checker ------------------------------------------------------
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_module_code_is_never_run(name: str, flake8_results) -> None:
    source = HOSTILE[name] + SPIN
    spin_line = HOSTILE[name].count("\n") + 1
    findings = analyse(source)  # returns: nothing exited, looped or was killed
    assert positions(findings) == [(spin_line, 0, "BPL101")]
    assert flake8_results[f"hostile_{name}.py"] == [(spin_line, 1, "BPL101")]


# -- determinism ---------------------------------------------------------------------------------
DENSE = "\n\n".join(
    f"def g{i}(n):\n    if n:\n" + "".join(f"        g{j}(n)\n" for j in range(12) if j != i)
    + f"    return g{(i + 1) % 12}(n)\n" for i in range(12)) + "\n"

DUMP_ALL = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    from backprop_lint.analysis import Options, analyse_source
    out = {}
    for path in sys.argv[1:]:
        text = Path(path).read_text(encoding="utf-8")
        out[path] = [
            [f.line, f.column, f.code, f.message, [[s.line, s.function] for s in f.chain]]
            for f in analyse_source(text, Options())]
    print(json.dumps(out, sort_keys=True))
""")


def fixture_files() -> List[Path]:
    return sorted(FIXTURES.glob("*.py"))


def test_same_findings_under_different_hash_seeds(tmp_path: Path) -> None:
    (tmp_path / "dense.py").write_text(DENSE)
    paths = [str(p) for p in fixture_files()] + [str(tmp_path / "dense.py")]
    outputs = []
    for seed in ("0", "123"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run([sys.executable, "-c", DUMP_ALL, *paths], capture_output=True,
                                text=True, timeout=600, env=env, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr[-3000:]
        outputs.append(json.loads(result.stdout))
    assert outputs[0].keys() == outputs[1].keys()
    for key in outputs[0]:
        assert outputs[0][key] == outputs[1][key], f"{key} differs between hash seeds"
    assert any(outputs[0].values()), "no findings at all: nothing was compared"


def test_same_findings_across_two_runs() -> None:
    sources = [p.read_text(encoding="utf-8") for p in fixture_files()] + [DENSE]
    first = [analyse_source(s, Options()) for s in sources]
    second = [analyse_source(s, Options()) for s in sources]
    assert first == second
    assert sum(map(len, first)) > 0


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("source", ["def f(n):\n    return f(n)\n", "def f(:\n", "x = 1\n"])
def test_the_host_garbage_collector_setting_is_restored(enabled: bool, source: str) -> None:
    """The analysis pauses the cyclic collector while it works (flake8 runs us in its own
    process): whatever the file, the host's setting comes back as it was."""
    import gc

    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        analyse_source(source, Options())
        analyse_project({"a.py": source}, Options())
        # in processes: their start freezes the host's objects for the collector, and
        # nothing must stay frozen after
        analyse_project({"a.py": source, "b.py": source}, Options(), jobs=2)
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == 0
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("source", ["def f(n):\n    return f(n)\n", "def f(x):\n    (x): int = 1\n", "x = 1\n"])
def test_libcst_validates_nodes_again_after_our_parse(source: str) -> None:
    """Our parse skips libcst's validation of the nodes its parser builds; for anyone else
    in the process (another plugin building nodes) it is back as soon as ours is done."""
    import libcst as cst

    hook = cst.CSTNode.__post_init__
    analyse_source(source, Options(screen=False))
    assert cst.CSTNode.__post_init__ is hook
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
