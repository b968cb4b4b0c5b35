"""Jupyter notebooks in the command, and adopting it on existing code: ``--add-noqa``,
``--statistics``, ``per-file-ignores``, ``--show-source`` and the chain under a finding.

The notebooks are real nbformat 4 files written by nbformat itself (outputs, magics, a
cell that does not parse, an empty notebook); nbqa runs for real in a subprocess.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from backprop_lint.addnoqa import add_directives
from backprop_lint.noqa import NoqaComments
from backprop_lint.notebook import (changed_cells, join_cells, open_notebook, parse_notebook,
                                    split_cells, write_cells)
from test_cli import PING_PONG, SPIN, command_env, describe, run_cli, write

nbformat = pytest.importorskip("nbformat")
from nbformat.v4 import (new_code_cell, new_markdown_cell, new_notebook,  # noqa: E402
                         new_output)

VALUE = """\
class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self._prev = set(_children)

    def backward(self):
        topo = []
        build_topo(self, topo, set())
        for v in reversed(topo):
            v._backward()"""
BUILD_TOPO = """\
!pip install micrograd
def build_topo(v, topo, visited):
    if v not in visited:
        visited.add(v)
        for child in v._prev:
            build_topo(child, topo, visited)
        topo.append(v)"""  # BPL202 on line 2 of its cell


def micrograd_notebook(*extra: str) -> str:
    """Markdown, a magic, the Value class (with an output), build_topo after a shell line,
    then ``extra`` code cells."""
    cells = [
        new_markdown_cell("# micrograd\nA tiny autograd engine."),
        new_code_cell("%matplotlib inline\nimport math", execution_count=1),
        new_code_cell(VALUE, execution_count=2, outputs=[
            new_output("stream", name="stdout", text="done\n"),
            new_output("execute_result", data={"text/plain": "42"}, execution_count=2)]),
        new_code_cell(BUILD_TOPO, execution_count=3),
        *[new_code_cell(source) for source in extra],
    ]
    return nbformat.writes(new_notebook(cells=cells))


def save(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def lines_of(result) -> List[str]:
    return [line for line in result.stdout.splitlines() if not line[:1].isspace()]


# -- the module a notebook makes ------------------------------------------------------------
def test_cells_joined_with_ipython_syntax_masked_and_mapped_back() -> None:
    raw = micrograd_notebook("%%time\nx = 1 +", "def broken(:\n    pass", "y = %who_ls")
    notebook = parse_notebook("n.ipynb", raw)
    assert [c.number for c in notebook.cells] == [1, 2, 3, 4, 5, 6]  # code cells only
    joined = join_cells(notebook)
    compile(joined.text, "n.ipynb", "exec")  # the module parses
    assert [(p.cell, p.line) for p in joined.skipped] == [(5, 1)]
    module = joined.text.splitlines()
    line = module.index("def build_topo(v, topo, visited):") + 1
    assert joined.cell_of(line) == (3, 2)
    assert joined.cell_of(joined.starts[1] + 1) == (2, 1)
    # the way back: unchanged cells come back as they were (magics restored)
    assert split_cells(joined.text)[3] == BUILD_TOPO
    assert split_cells(joined.text)[4] == "%%time\nx = 1 +"
    assert split_cells(joined.text)[6] == "y = %who_ls"
    assert changed_cells(notebook, joined.text) == {}


def test_an_edited_module_writes_back_only_the_changed_cells() -> None:
    raw = micrograd_notebook()
    notebook = parse_notebook("n.ipynb", raw)
    joined = join_cells(notebook)
    edited = joined.text.replace("import math", "import math\nimport sys").replace(
        "        topo.append(v)", "        topo.append(v)  # noqa: BPL202")
    changed = changed_cells(notebook, edited)
    assert sorted(changed) == [1, 3]
    assert changed[1] == "%matplotlib inline\nimport math\nimport sys"
    written = write_cells(notebook, changed)
    assert open_notebook("n.ipynb", raw).rewritten(edited) == written  # what a fix calls
    before, after = json.loads(raw), json.loads(written)
    assert "".join(after["cells"][1]["source"]) == "%matplotlib inline\nimport math\nimport sys"
    assert "".join(after["cells"][3]["source"]).endswith("topo.append(v)  # noqa: BPL202")
    for index in (0, 2):  # markdown, and the untouched code cell with its outputs
        assert after["cells"][index] == before["cells"][index]
    assert after["metadata"] == before["metadata"]
    # only the changed strings of the JSON differ: outputs and layout kept byte for byte
    diff = [line[0] + line[2:].strip() for line in
            difflib.ndiff(raw.splitlines(), written.splitlines()) if line[:1] in "+-"]
    assert diff == ['-"import math"', '+"import math\\n",', '+"import sys"',
                    '-"        topo.append(v)"', '+"        topo.append(v)  # noqa: BPL202"']


def test_noqa_in_a_cell_is_read_in_the_module() -> None:
    notebook = parse_notebook("n.ipynb", micrograd_notebook("def spin(n):  # noqa: BPL101\n"
                                                            "    return spin(n)"))
    joined = join_cells(notebook)
    line = joined.text.splitlines().index("def spin(n):  # noqa: BPL101") + 1
    assert NoqaComments.of(joined.text).silences("BPL101", line)


def test_an_import_finds_the_module_before_a_notebook_of_the_same_name() -> None:
    from backprop_lint.modules import ModuleNames
    names = ModuleNames(["pkg/ops.ipynb", "pkg/ops.py", "lab.ipynb", "main.py"])
    assert names.path_of["ops"] == "pkg/ops.py"
    assert names.path_of["lab"] == "lab.ipynb"


@pytest.mark.parametrize("text, message", [
    ("{not json", "not a notebook: invalid JSON"),
    ('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
     "notebook has no cells"),
    ('{"worksheets": []}', "no 'cells' list"),
])
def test_not_a_notebook_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_notebook("n.ipynb", text)


# -- the command ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("notebooks")
    save(root, "notebooks/micrograd.ipynb", micrograd_notebook(
        "def broken(:\n    pass",
        "def spin(n):  # noqa: BPL101\n    return spin(n)",
        "from helpers import pong\n\ndef ping(n):\n    return pong(n)"))
    write(root, {"notebooks/helpers.py": "from micrograd import ping\n\n\n"
                                         "def pong(n):\n    return ping(n)\n"})
    save(root, "notebooks/empty.ipynb", nbformat.writes(new_notebook()))
    save(root, "notebooks/bad.ipynb", '{"cells": [')
    return root


@pytest.fixture(scope="module")
def text_run(project: Path):
    return run_cli("--isolated", "--no-cache", "notebooks", cwd=project)


def test_notebook_findings_in_text_on_their_cell_and_line(text_run) -> None:
    assert text_run.returncode == 2, describe(text_run)  # the two broken notebooks
    problems = [line for line in text_run.stderr.splitlines() if not line.startswith("[*]")]
    assert len(problems) == 2, describe(text_run)
    assert "micrograd.ipynb:33" not in text_run.stdout  # a call's line is given in its cell
    assert problems[0].startswith("backprop-lint: notebooks/bad.ipynb: not a notebook: "
                                  "invalid JSON (")
    assert problems[1] == "backprop-lint: notebooks/empty.ipynb: notebook has no cells"
    found = lines_of(text_run)
    assert found[0].startswith("notebooks/helpers.py:4:1: BPL103 infinite mutual recursion "
                               "across modules: pong (notebooks/helpers.py:4) -> ping "
                               "(notebooks/micrograd.ipynb:cell 6:3) -> pong")
    assert found[1].startswith("notebooks/micrograd.ipynb:cell 3:2:1: BPL202 [*] recursion depth")
    assert found[2] == ("notebooks/micrograd.ipynb:cell 4:1:1: BPL900 cell not analysed: "
                        "CPython cannot parse it: invalid syntax (line 1 of the cell)")
    assert len(found) == 3, describe(text_run)  # the noqa in cell 5 holds
    # the cycle's steps are listed under it, the notebook's by cell
    assert "    -> ping (notebooks/micrograd.ipynb:cell 6:3)" in text_run.stdout


def test_notebook_findings_in_json(project: Path) -> None:
    result = run_cli("--isolated", "--format", "json", "notebooks/micrograd.ipynb", cwd=project)
    found = json.loads(result.stdout)
    topo = [f for f in found if f["code"] == "BPL202"][0]
    assert (topo["path"], topo["cell"], topo["line"], topo["column"]) == (
        "notebooks/micrograd.ipynb", 3, 2, 1)
    assert topo["chain"] == [{"path": "notebooks/micrograd.ipynb", "line": 2,
                              "function": "build_topo", "cell": 3}]


def test_notebook_findings_in_sarif_point_at_the_json_line(project: Path) -> None:
    from test_sarif import SCHEMA_FILE
    jsonschema = pytest.importorskip("jsonschema")
    result = run_cli("--isolated", "--format", "sarif", "notebooks", cwd=project)
    log = json.loads(result.stdout)
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(log))
    assert not errors, errors[0].message
    topo = [r for r in log["runs"][0]["results"] if r["ruleId"] == "BPL202"][0]
    location = topo["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "notebooks/micrograd.ipynb"
    raw = (project / "notebooks/micrograd.ipynb").read_text(encoding="utf-8").splitlines()
    assert '"def build_topo(v, topo, visited):\\n"' in raw[location["region"]["startLine"] - 1]
    assert topo["properties"] == {"cell": 3, "cellLine": 2, "cellColumn": 1}
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("notebook has no cells" in n["message"]["text"] for n in notes)


def test_notebooks_are_cached_per_content(project: Path, tmp_path: Path, text_run) -> None:
    cache = str(tmp_path / "cache")
    first = run_cli("--isolated", "--cache-dir", cache, "notebooks", cwd=project)
    second = run_cli("--isolated", "--cache-dir", cache, "notebooks", cwd=project)
    assert first.stdout == second.stdout == text_run.stdout


def test_show_source_statistics_and_concise(project: Path) -> None:
    result = run_cli("--isolated", "--show-source", "--statistics", "notebooks", cwd=project)
    out = result.stdout.splitlines()
    at = out.index(next(line for line in out if " BPL202 " in line))
    assert out[at + 1:at + 3] == ["    def build_topo(v, topo, visited):", "    ^"]
    assert out[-3] == "1     BPL103 infinite mutual recursion"
    counts = [line.split()[:2] for line in out[-3:]]
    assert counts == [["1", "BPL103"], ["1", "BPL202"], ["1", "BPL900"]]
    concise = run_cli("--isolated", "--format", "concise", "notebooks", cwd=project)
    assert concise.stdout.splitlines() == lines_of(result)[:3]
    assert concise.stdout.count("\n") == 3  # one line each


def test_caret_under_the_column(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "class C:\n\tdef m(self):\n\t\treturn self.m()\n"})
    result = run_cli("--isolated", "--show-source", "a.py", cwd=tmp_path)
    assert result.stdout.splitlines()[1:] == ["    \tdef m(self):", "    \t^"]


# -- per-file-ignores -----------------------------------------------------------------------
def test_per_file_ignores_from_pyproject_and_flake8(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/a.py": SPIN, "pkg/b.py": PING_PONG, "tests/t.py": SPIN})
    (tmp_path / "pyproject.toml").write_text(
        '[tool.backprop-lint]\nper-file-ignores = {"tests/*" = ["BPL1"]}\n'
        'extend-per-file-ignores = {"b.py" = ["BPL103"]}\n')
    result = run_cli(".", cwd=tmp_path)
    assert lines_of(result) and [line.split(":")[0] for line in lines_of(result)] == ["pkg/a.py"]
    (tmp_path / "pyproject.toml").unlink()
    # flake8's text form and its rule: the longest matching glob alone applies
    (tmp_path / "setup.cfg").write_text(
        "[flake8]\nper-file-ignores =\n    *.py: BPL1,E501\n    pkg/a.py: F401\n")
    result = run_cli(".", cwd=tmp_path)
    assert [line.split(":")[0] for line in lines_of(result)] == ["pkg/a.py"], describe(result)
    bad = run_cli("--per-file-ignores", "a.py", ".", cwd=tmp_path)
    assert bad.returncode == 2 and "per-file-ignores" in bad.stderr


# -- --add-noqa -----------------------------------------------------------------------------
def test_directive_goes_where_flake8_reads_it() -> None:
    text = ('def f(\n    a,\n):\n    return f(a)\n'
            'x = """\n%s""".format(g(1))  # why\n'
            'def g(n):  # noqa:E501 long\n    return g(n)\n'
            'y = 1 + \\\n    g(2)\n')
    added = add_directives(text, {1: {"BPL101"}, 5: {"BPL1"}, 7: {"BPL2", "BPL101"},
                                  9: {"BPL3"}})
    assert added.text.splitlines() == [
        "def f(  # noqa: BPL101", "    a,", "):", "    return f(a)",
        'x = """', '%s""".format(g(1))  # why  # noqa: BPL1',
        "def g(n):  # noqa:E501, BPL101, BPL2 long", "    return g(n)",
        "y = 1 + \\", "    g(2)  # noqa: BPL3"]
    assert added.lines == 4
    compile(added.text, "t.py", "exec")
    comments = NoqaComments.of(added.text)
    for line, codes in ((1, "BPL101"), (5, "BPL102"), (7, "BPL2"), (7, "BPL101"), (9, "BPL3")):
        assert comments.silences(codes, line)
    assert not comments.silences("BPL402", 7)
    shebang = add_directives("#!/usr/bin/env python\nprint 'py2'\n", {1: {"BPL900"}})
    assert shebang.text == "#!/usr/bin/env python\nprint 'py2'\n" and shebang.lines == 0
    assert shebang.left == ("line 1 is a #! line (BPL900 left: use per-file-ignores)",)


def test_add_noqa_silences_every_finding_and_keeps_files_working(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "def spin(n):  # noqa: E501\n    return spin(n)\n",
                     "b.py": PING_PONG})
    (tmp_path / "c.py").write_bytes(b"def spin(n):\r\n    return spin(n)\r\n")
    save(tmp_path, "n.ipynb", micrograd_notebook("def broken(:\n    pass"))
    before = (tmp_path / "n.ipynb").read_text(encoding="utf-8")
    added = run_cli("--isolated", "--add-noqa", ".", cwd=tmp_path)
    assert added.returncode == 0, describe(added)
    assert added.stdout == "Added 4 noqa directives in 4 files.\n"
    after = run_cli("--isolated", ".", cwd=tmp_path)
    # only the cell that does not parse is left (no comment can make it parse)
    assert lines_of(after) == ["n.ipynb:cell 4:1:1: BPL900 cell not analysed: CPython cannot "
                               "parse it: invalid syntax (line 1 of the cell)"]
    assert (tmp_path / "a.py").read_text() == "def spin(n):  # noqa: E501, BPL101\n" \
                                              "    return spin(n)\n"
    assert (tmp_path / "c.py").read_bytes() == b"def spin(n):  # noqa: BPL101\r\n" \
                                               b"    return spin(n)\r\n"
    notebook = json.loads((tmp_path / "n.ipynb").read_text(encoding="utf-8"))
    assert "".join(notebook["cells"][3]["source"]).splitlines()[1].endswith("  # noqa: BPL202")
    assert notebook["cells"][2]["outputs"] == json.loads(before)["cells"][2]["outputs"]
    again = run_cli("--isolated", "--add-noqa", ".", cwd=tmp_path)
    assert again.stdout == "Added 0 noqa directives in 0 files.\n"


# -- the real tools around it ---------------------------------------------------------------
def test_nbqa_flake8_reports_bpl_codes_on_the_cells(tmp_path: Path) -> None:
    pytest.importorskip("nbqa")
    save(tmp_path, "n.ipynb", micrograd_notebook("def spin(n):\n    return spin(n)"))
    result = subprocess.run(
        [sys.executable, "-m", "nbqa", "flake8", "n.ipynb", "--select=BPL"],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=300,
        env=command_env({"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}))
    assert result.returncode == 1, result.stdout + result.stderr
    found = sorted(line.split(": ")[0] + ":" + line.split(": ")[1].split()[0]
                   for line in result.stdout.splitlines())
    # the cell numbers agree with the command's; the line of build_topo does not: nbqa
    # adds two blank lines after the masked '!pip' line and counts them
    assert found == ["n.ipynb:cell_3:4:1:BPL202", "n.ipynb:cell_4:1:1:BPL101"], result.stdout
    ours = run_cli("--isolated", "--format", "concise", "n.ipynb", cwd=tmp_path)
    assert [line.split(": ")[0] for line in ours.stdout.splitlines()] == [
        "n.ipynb:cell 3:2:1", "n.ipynb:cell 4:1:1"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_hook_checks_staged_notebooks(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    from test_precommit import _env, _git, _snapshot_of_checkout, _try_repo
    env = _env(tmp_path / "pre-commit-home")
    hook_repo = _snapshot_of_checkout(tmp_path / "hook-repo", env)
    project = tmp_path / "project"
    project.mkdir()
    _git(project, env, "init", "-q")
    save(project, "n.ipynb", micrograd_notebook())
    _git(project, env, "add", "-A")
    failing = _try_repo(project, hook_repo, env)
    output = failing.stdout + failing.stderr
    assert failing.returncode == 1, output
    assert "n.ipynb:cell 3:2:1: BPL202" in output, output


def test_sources_stored_as_one_string_map_and_write_back() -> None:
    """nbformat allows a cell's source as one string (and other writers lay JSON out
    differently): lines map to the string's JSON line, and a change rewrites that string."""
    raw = ('{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],\n'
           '  "source": "def spin(n):\\n    return spin(n)"},\n'
           ' {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["x = 1\\n", "y = 2"]}],\n'
           ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    opened = open_notebook("n.ipynb", raw)
    assert opened.file_line(opened.joined.starts[0] + 2) == 2  # where the string starts
    assert opened.file_line(opened.joined.starts[1] + 2) == 3
    edited = opened.text.replace("def spin(n):", "def spin(n):  # noqa: BPL101").replace(
        "y = 2", "y = 2\nz = 3")
    written = opened.rewritten(edited)
    cells = json.loads(written)["cells"]
    assert cells[0]["source"] == "def spin(n):  # noqa: BPL101\n    return spin(n)"
    assert cells[1]["source"] == ["x = 1\n", "y = 2\n", "z = 3"]
    assert written.splitlines()[3:] == raw.splitlines()[3:]


def test_a_cell_that_does_not_parse_is_reported_once_on_its_first_line() -> None:
    opened = open_notebook("n.ipynb", micrograd_notebook("x = 1\nif x:\nprint(x)", SPIN))
    [problem] = opened.cell_problems()
    assert (problem.code, opened.place(problem.line)) == ("BPL900", (4, 1))
    try:  # CPython's own words for the error, which differ from version to version
        compile("x = 1\nif x:\nprint(x)", "<cell>", "exec")
    except SyntaxError as exc:
        words = exc.msg
    assert problem.message == f"cell not analysed: CPython cannot parse it: {words} (line 3 of the cell)"
    assert "def spin(n):" in opened.text  # the next cell is analysed


# -- --fix on a notebook --------------------------------------------------------------------
def codes_in(result) -> set:
    return {m.group(0) for line in lines_of(result) for m in [re.search(r"BPL\d{3}", line)] if m}


def test_fix_rewrites_only_the_changed_cell_of_a_notebook(tmp_path) -> None:
    raw = micrograd_notebook("def backward_bfs(root):\n    queue, seen = [root], {root}\n"
                             "    while queue:\n        node = queue.pop(0)\n"
                             "        for parent in node.parents:\n            if parent not in seen:\n"
                             "                seen.add(parent)\n                queue.append(parent)\n")
    path = save(tmp_path, "nb/micrograd.ipynb", raw)
    before = run_cli("--no-cache", "--isolated", "--format", "concise", "nb", cwd=tmp_path)
    assert {"BPL202", "BPL402"} <= codes_in(before), before.stdout

    diff = run_cli("--no-cache", "--isolated", "--diff", "nb", cwd=tmp_path)
    assert diff.returncode == 1 and path.read_text(encoding="utf-8") == raw, diff.stderr
    assert "micrograd.ipynb" in diff.stdout

    fixed = run_cli("--no-cache", "--isolated", "--fix", "nb", cwd=tmp_path)
    assert fixed.returncode in (0, 1), fixed.stderr
    written = path.read_text(encoding="utf-8")
    old, new = json.loads(raw), json.loads(written)
    changed = [i for i, (a, b) in enumerate(zip(old["cells"], new["cells"])) if a != b]
    # the build_topo cell and the queue cell change, and the first code cell takes the
    # import the deque needs; outputs, metadata and the rest do not
    assert changed == [1, 3, 4], changed
    first = "".join(new["cells"][1]["source"])
    assert first == "import collections\n\n" + "".join(old["cells"][1]["source"]), first
    assert "Fixed 2 findings, 0 left." in fixed.stderr, fixed.stderr
    assert old["metadata"] == new["metadata"]
    assert [c.get("outputs") for c in old["cells"]] == [c.get("outputs") for c in new["cells"]]
    fixed_source = "".join(new["cells"][3]["source"])
    assert fixed_source.startswith("!pip install micrograd\n"), fixed_source  # the shell line is back
    assert "collections.deque" in "".join(new["cells"][4]["source"])
    # the fixed notebook still parses cell by cell, and reports neither finding again
    notebook = parse_notebook(str(path), written)
    assert not join_cells(notebook).skipped
    after = run_cli("--no-cache", "--isolated", "--format", "concise", "nb", cwd=tmp_path)
    assert not {"BPL202", "BPL402"} & codes_in(after), after.stdout
    again = run_cli("--no-cache", "--isolated", "--fix", "nb", cwd=tmp_path)
    assert path.read_text(encoding="utf-8") == written, again.stderr  # idempotent
