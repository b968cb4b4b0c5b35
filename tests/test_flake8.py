"""The plugin as users run it: the real ``flake8`` in a subprocess, loading backprop-lint
through its installed ``flake8.extension`` entry point."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List, Tuple

import pytest

import backprop_lint
from backprop_lint.analysis import DEFAULT_BACKWARD_GLOBS, Options, analyse_source

# One infinite recursion, in a method, so the column is not 0.
BPL101_SOURCE = textwrap.dedent('''\
    """A module with one infinite recursion."""


    class Node:
        def backward(self, grad):
            self.grad = grad
            self.backward(grad)

        def fine(self):
            return self.grad
''')


def bpl101_position(source: str = BPL101_SOURCE, marker: str = "def backward") -> tuple:
    """(line, flake8 column) of the ``def`` BPL101 must be reported on."""
    for number, text in enumerate(source.splitlines(), start=1):
        if marker in text:
            return number, text.index("def") + 1
    raise AssertionError(f"{marker!r} not in the source")


_RESULT = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) ")


def parse_results(result) -> List[Tuple[str, int, int, str]]:
    """(path, line, column, code) of every result line flake8 printed."""
    found = []
    for line in output_lines(result):
        match = _RESULT.match(line)
        assert match, f"not a flake8 result line: {line!r}"
        found.append((match["path"], int(match["line"]), int(match["col"]), match["code"]))
    return found


def output_lines(result) -> List[str]:
    return [line for line in result.stdout.splitlines() if line.strip()]


def describe(result) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def assert_no_crash(result) -> None:
    """flake8 ran to its end: exit 0 (nothing) or 1 (findings); no plugin failure, no
    traceback, no complaint about options."""
    assert result.returncode in (0, 1), describe(result)
    for sign in ("Traceback", "failed during execution", "error:", "unrecognized",
                 "There was a critical error"):
        assert sign not in result.stderr and sign not in result.stdout, describe(result)


# -- (a) a file on disk --------------------------------------------------------------------
def test_reports_bpl101_on_the_def_line_and_column(tmp_path: Path, run_flake8) -> None:
    (tmp_path / "node.py").write_text(BPL101_SOURCE)
    line, col = bpl101_position()
    assert col == 5  # 4 spaces of indentation, plus one: flake8 prints 1-based columns
    for arg in ("node.py", str(tmp_path / "node.py")):
        result = run_flake8("--isolated", "--select=BPL", arg, cwd=tmp_path)
        assert result.returncode == 1, describe(result)
        lines = output_lines(result)
        assert len(lines) == 1, describe(result)
        assert lines[0].startswith(f"{arg}:{line}:{col}: BPL101 "), describe(result)
        assert "'Node.backward'" in lines[0]


# -- (b) stdin, as editors run it ------------------------------------------------------------
def test_stdin_with_display_name(tmp_path: Path, run_flake8) -> None:
    line, col = bpl101_position()
    result = run_flake8("--isolated", "--select=BPL", "--stdin-display-name=some/name.py", "-",
                        cwd=tmp_path, input=BPL101_SOURCE)
    assert result.returncode == 1, describe(result)
    lines = output_lines(result)
    assert len(lines) == 1, describe(result)
    assert lines[0].startswith(f"some/name.py:{line}:{col}: BPL101 "), describe(result)


def test_stdin_buffer_wins_over_the_file_on_disk(tmp_path: Path, run_flake8) -> None:
    """Editors send unsaved buffers: the plugin must analyse the lines it is given."""
    (tmp_path / "node.py").write_text("def fine():\n    return 1\n")
    result = run_flake8("--isolated", "--select=BPL", "--stdin-display-name=node.py", "-",
                        cwd=tmp_path, input=BPL101_SOURCE)
    assert result.returncode == 1, describe(result)
    assert [line.split(": ")[0] for line in output_lines(result)] == ["node.py:5:5"]


# -- (c) parallel runs -----------------------------------------------------------------------
PROJECT = {
    "spin.py": "def spin(n):\n    return spin(n)\n",
    "node.py": BPL101_SOURCE,
    "mutual.py": "def ping(n):\n    return pong(n)\n\n\ndef pong(n):\n    return ping(n)\n",
    "stuck.py": "def countdown(n):\n    if n > 0:\n        countdown(n)\n",
    "prop.py": "class T:\n    @property\n    def grad(self):\n        return self.grad\n",
    "clean.py": "def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\n",
    "pkg/__init__.py": "",
    "pkg/deep.py": "class A:\n    def __repr__(self):\n        return repr(self)\n",
}


def test_parallel_output_equals_serial_output(tmp_path: Path, run_flake8) -> None:
    for name, source in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    serial = run_flake8("--isolated", "--select=BPL", "-j1", ".", cwd=tmp_path)
    parallel = run_flake8("--isolated", "--select=BPL", "-j2", ".", cwd=tmp_path)
    assert_no_crash(serial)
    assert_no_crash(parallel)
    assert sorted(output_lines(parallel)) == sorted(output_lines(serial))
    # and both are what the analysis finds, file by file
    expected = sorted(
        (f"./{name}", f.line, f.column + 1, f.code)
        for name, source in PROJECT.items()
        for f in analyse_source(source, Options())
    )
    assert len(expected) >= 5
    assert sorted(parse_results(serial)) == expected, describe(serial)


# -- (d) noqa ------------------------------------------------------------------------------
def test_noqa(tmp_path: Path, run_flake8) -> None:
    source = textwrap.dedent("""\
        def silenced(n):  # noqa: BPL101
            return silenced(n)


        def silenced_too(n):  # noqa:E501,BPL101
            return silenced_too(n)


        def other_code(n):  # noqa: E501
            return other_code(n)


        def other_bpl_code(n):  # noqa: BPL102
            return other_bpl_code(n)
    """)
    (tmp_path / "noqa.py").write_text(source)
    result = run_flake8("--isolated", "--select=BPL", "noqa.py", cwd=tmp_path)
    assert result.returncode == 1, describe(result)
    assert [line.split(" ")[0] for line in output_lines(result)] == [
        "noqa.py:9:1:", "noqa.py:13:1:"], describe(result)
    # and --disable-noqa shows all four
    result = run_flake8("--isolated", "--select=BPL", "--disable-noqa", "noqa.py", cwd=tmp_path)
    assert len(output_lines(result)) == 4, describe(result)


# -- (e) the --backward-functions option -----------------------------------------------------
# flake8's own application, run in a subprocess; afterwards it prints the globs the plugin
# was configured with (parse_options runs in the main process before any worker starts).
OPTIONS_PROBE = textwrap.dedent("""\
    import sys
    from flake8.main.application import Application
    from backprop_lint.flake8_plugin import BackpropLintPlugin
    app = Application()
    app.run(sys.argv[1:])
    print("GLOBS=" + "|".join(BackpropLintPlugin.options.backward_functions), file=sys.stderr)
    sys.exit(app.exit_code())
""")


def probe_globs(tmp_path: Path, *args: str) -> tuple:
    result = subprocess.run([sys.executable, "-c", OPTIONS_PROBE, *args], cwd=str(tmp_path),
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode in (0, 1), describe(result)
    found = re.findall(r"^GLOBS=(.*)$", result.stderr, re.MULTILINE)
    assert found, describe(result)
    return tuple(found[-1].split("|"))


def test_backward_functions_on_the_command_line(tmp_path: Path, run_flake8) -> None:
    (tmp_path / "mod.py").write_text(BPL101_SOURCE)
    result = run_flake8("--isolated", "--select=BPL", "--backward-functions=*grad*,*walk*",
                        "mod.py", cwd=tmp_path)
    assert_no_crash(result)
    assert result.returncode == 1 and len(output_lines(result)) == 1, describe(result)
    assert probe_globs(tmp_path, "--isolated", "--select=BPL",
                       "--backward-functions=*grad*,*walk*", "mod.py") == ("*grad*", "*walk*")
    assert probe_globs(tmp_path, "--isolated", "--select=BPL", "mod.py") == DEFAULT_BACKWARD_GLOBS


@pytest.mark.parametrize("config_name", ["setup.cfg", "tox.ini", ".flake8"])
def test_backward_functions_in_config_files(tmp_path: Path, run_flake8, config_name) -> None:
    (tmp_path / "mod.py").write_text(BPL101_SOURCE)
    (tmp_path / config_name).write_text("[flake8]\nselect = BPL\nbackward-functions = *grad*\n")
    result = run_flake8("mod.py", cwd=tmp_path)
    assert_no_crash(result)
    assert result.returncode == 1 and len(output_lines(result)) == 1, describe(result)
    assert probe_globs(tmp_path, "mod.py") == ("*grad*",)
    # a multi-line list, as flake8's docs write lists
    (tmp_path / config_name).write_text(
        "[flake8]\nselect = BPL\nbackward-functions =\n    *grad*,\n    *Walk*\n")
    result = run_flake8("mod.py", cwd=tmp_path)
    assert_no_crash(result)
    assert probe_globs(tmp_path, "mod.py") == ("*grad*", "*Walk*")


# -- (f) files CPython cannot parse, and files it can ----------------------------------------
def test_syntax_error_is_e999_not_a_crash(tmp_path: Path, run_flake8) -> None:
    (tmp_path / "broken.py").write_text("def spin(n):\n    return spin(n\n\ndef g(:\n")
    result = run_flake8("--isolated", "--select=BPL,E999", "broken.py", cwd=tmp_path)
    assert_no_crash(result)
    lines = output_lines(result)
    assert result.returncode == 1 and len(lines) == 1, describe(result)
    assert re.match(r"broken\.py:\d+:\d+: E999 ", lines[0]), describe(result)


def _modern_syntax() -> str:
    """Syntax of every supported Python version up to the running one, moderately deep
    (within what flake8's bundled pyflakes walks under the default recursion limit)."""
    parts = [
        "x = " + "(" * 60 + "1" + ")" * 60,
        "y = " + "[" * 60 + "]" * 60,
        "\n".join("    " * i + f"if x{i}:" for i in range(60)) + "\n" + "    " * 60 + "pass",
        textwrap.dedent("""\
            def f(a, /, b, *args, c, d=1, **kw):
                if (n := len(a)) > 1:
                    return f'{a!r:>{n}} {b=} {c!s:{d}}'
                return [i for i in b if i] or {k: v for k, v in kw.items()} or {*args}


            async def g(xs):
                async with xs as ys:
                    async for y in ys:
                        yield [z async for z in y]
                await xs


            @(lambda fn: fn)
            def decorated(*, key=lambda: (yield_ := 1)):
                global x
                del x
                return key


            class C(list, metaclass=type):
                a: int = 1
                def method(self) -> "C":
                    return super().method()
        """),
        "if a:\n    pass\n" + "".join(f"elif a == {i}:\n    pass\n" for i in range(300)),
        "t = {" + ", ".join(f"'{i}': {i}" for i in range(3000)) + "}",
        "w = " + " and ".join(["a"] * 1000),
        "s = " + " ".join(['"s"'] * 1000),
        "lam = " + "lambda: " * 40 + "0",
    ]
    if sys.version_info >= (3, 10):
        parts.append(textwrap.dedent("""\
            match command:
                case [1, *rest] if rest:
                    pass
                case {"a": 1, **kw}:
                    pass
                case Point(x=0) | Point(y=0) as p:
                    pass
                case str() | bytes():
                    pass
                case _:
                    pass
        """))
    if sys.version_info >= (3, 11):
        parts.append("try:\n    pass\nexcept* ValueError as eg:\n    pass\n")
    if sys.version_info >= (3, 12):
        parts.append(textwrap.dedent("""\
            type Alias[T] = list[T]


            def first[T](xs: list[T]) -> T:
                return xs[0]


            q = f'{'nested'} {f"{'deeper'}"}'
        """))
    return "\n\n".join(parts) + "\n"


def test_file_that_parses_gives_no_bpl900(tmp_path: Path, run_flake8) -> None:
    source = _modern_syntax()
    ast.parse(source)  # CPython parses it
    (tmp_path / "modern.py").write_text(source)
    result = run_flake8("--isolated", "--select=BPL,E999", "modern.py", cwd=tmp_path)
    assert_no_crash(result)
    assert result.returncode == 0 and output_lines(result) == [], describe(result)


# -- (g) deep syntax trees inside a function with an infinite recursion ----------------------
def _deep_source() -> str:
    terms = " + ".join(["a"] * 2500)
    chain = "x" + ".m()" * 300
    strings = " ".join(['"s"'] * 1000)
    return (
        "def spin(a, x):\n"
        f"    total = {terms}\n"
        f"    y = {chain}\n"
        f"    s = ({strings})\n"
        "    return spin(total, y) + s\n"
    )


def test_deep_expressions_give_exactly_the_bpl101(tmp_path: Path, run_flake8) -> None:
    """2,500-term sum, 300 chained calls, 1,000 implicit concatenations: all legal Python.

    Run through flake8's real entry point in a process whose recursion limit is raised,
    because flake8's bundled pyflakes (not this plugin) dies with RecursionError on a
    sum of about 400 terms under the default limit; test_deep_expressions_stock_flake8
    covers the plain `python -m flake8` run."""
    source = _deep_source()
    ast.parse(source)
    (tmp_path / "deep.py").write_text(source)
    result = run_flake8("--isolated", "--select=BPL", "deep.py", cwd=tmp_path, deep=True)
    assert result.returncode == 1, describe(result)
    lines = output_lines(result)
    assert len(lines) == 1 and lines[0].startswith("deep.py:1:1: BPL101 "), describe(result)
    assert "BPL900" not in result.stdout + result.stderr


def test_deep_expressions_stock_flake8(tmp_path: Path, run_flake8) -> None:
    """Plain `python -m flake8` on the same file: either exactly the BPL101, or flake8
    aborts because pyflakes overflowed - never because of backprop-lint."""
    (tmp_path / "deep.py").write_text(_deep_source())
    result = run_flake8("--isolated", "--select=BPL", "deep.py", cwd=tmp_path)
    assert result.returncode == 1, describe(result)
    text = result.stdout + result.stderr
    assert "BPL900" not in text and "backprop-lint" not in text, describe(result)
    lines = output_lines(result)
    if any(line.startswith("deep.py:1:1: BPL101 ") for line in lines):
        assert len(lines) == 1, describe(result)
    else:
        assert '"pyflakes[F]" failed during execution due to RecursionError' in text, describe(result)


def test_deep_nesting_is_analysed_in_process() -> None:
    """Nesting close to CPython's own limits (200 parentheses, 100 indentation levels),
    analysed directly, without the screen: nothing to report, and no BPL900."""
    source = "\n".join([
        "x = " + "(" * 190 + "1" + ")" * 190,
        "y = " + "[" * 190 + "]" * 190,
        "\n".join("    " * i + f"if x{i}:" for i in range(95)) + "\n" + "    " * 95 + "pass",
        "g = " + "lambda: " * 300 + "0",
        "z = " + " if c else ".join(["a"] * 500),
        "v = " + "-" * 1000 + "1",
        "u = a" + "[0]" * 1000,
        "def spin(n):\n    return spin(" + "(" * 150 + "n" + ")" * 150 + ")",
    ]) + "\n"
    ast.parse(source)
    spin_line = source.splitlines().index("def spin(n):") + 1
    findings = analyse_source(source, Options(screen=False))
    assert [(f.line, f.code) for f in findings] == [(spin_line, "BPL101")], findings


# -- (h) --version -----------------------------------------------------------------------------
def test_version_lists_the_plugin(tmp_path: Path, run_flake8) -> None:
    result = run_flake8("--version", cwd=tmp_path)
    assert result.returncode == 0, describe(result)
    # argparse wraps the line at the terminal's width: compare with whitespace collapsed
    assert f"backprop-lint: {backprop_lint.__version__}" in " ".join(result.stdout.split())


def test_our_own_sources_pass_flake8_and_backprop_lint(run_flake8) -> None:
    """The project's code, tests and benchmarks pass flake8 with its own configuration
    (setup.cfg), the plugin included: the walks in the checker itself are held to BPL2xx-4xx."""
    root = Path(__file__).resolve().parent.parent
    result = run_flake8("--extend-select=BPL", "src", "tests", "bench", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr


# Alone, a file without backward-pass code skips BPL2xx-4xx (and the walk graph they need):
# the globs decide what is backward-pass code, except for autograd Functions, whose
# backward is judged (BPL301) whatever the globs say.
WALK_AND_REENTRANT = textwrap.dedent("""\
    import torch


    class Twice(torch.autograd.Function):
        @staticmethod
        def backward(ctx, grad):
            ctx.saved.backward()
            return grad


    def walk_grads(node):
        for parent in node.parents:
            walk_grads(parent)
""")


@pytest.mark.parametrize("globs, expected", [
    (("*walk*",), ["BPL201", "BPL301"]),
    (("*nothing*",), ["BPL301"]),
    (DEFAULT_BACKWARD_GLOBS, ["BPL301"]),
])
def test_backward_pass_code_decides_what_is_judged(globs, expected) -> None:
    findings = analyse_source(WALK_AND_REENTRANT, Options(backward_functions=globs))
    assert sorted(f.code for f in findings) == expected
    unscreened = analyse_source(WALK_AND_REENTRANT, Options(backward_functions=globs, screen=False))
    assert [(f.line, f.code) for f in findings] == [(f.line, f.code) for f in unscreened]
