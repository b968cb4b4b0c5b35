"""``--fix``: every fix parses, removes its finding, is idempotent and leaves the rest of the
file byte for byte; the BPL202 / BPL402 fixes are executed against the originals on
generated graphs (same results, same order) and on a 100,000-node chain."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Dict, List

import pytest
from hypothesis import given, settings, strategies as st

from backprop_lint.analysis import analyse_source
from backprop_lint.fixes.apply import apply, line_edits
from backprop_lint.fixes.plan import plan_file
from backprop_lint.fixing import fix_files
from conftest import FIXTURES_TOO_NEW

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIXABLE = ("BPL202", "BPL402")

# the walk shapes of the field, each a BPL202 (or BPL402) with a fix
WALKS = '''\
import collections


def micrograd_topo(root):
    topo = []
    visited = set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v.parents:
                build_topo(child)
            topo.append(v)

    build_topo(root)
    return topo


def topological_sort(node, order, seen):
    if id(node) in seen:
        return order
    seen.add(id(node))
    for parent in node.parents:
        topological_sort(parent, order, seen)
    order.insert(0, node)
    return order


def topo_preorder(root):
    """Pre-order, the visited set recorded after the loop's test."""
    out = []
    seen = set()

    def visit(n):
        out.append(n.unique_id)
        for p in n.parents:
            if p.unique_id not in seen:
                seen.add(p.unique_id)
                visit(p)

    seen.add(root.unique_id)
    visit(root)
    return out


def iter_topo(node, visited):
    if node in visited:
        return
    visited.add(node)
    for parent in node.parents:
        yield from iter_topo(parent, visited)
    yield node


def topo_heights(root):
    memo = {}

    def height(n):
        if n in memo:
            return memo[n]
        h = 0
        for p in n.parents:
            h = max(h, height(p) + 1)
        memo[n] = h
        return h

    height(root)
    return [memo[n] for n in memo]


class Walker:
    def __init__(self):
        self.nodes = []
        self.visited = set()

    def _deepwalk(self, node):
        self.visited.add(node)
        for p in node.parents:
            if p not in self.visited:
                self._deepwalk(p)
        self.nodes.append(node)


def deepwalk_method(root):
    walker = Walker()
    walker._deepwalk(root)
    return walker.nodes


def comprehension_topo(root):
    order, seen = [], set()

    def visit(n):
        seen.add(n)
        [visit(p) for p in n.parents if p not in seen]
        order.append(n.unique_id)

    visit(root)
    return order


class Var:
    def __init__(self, unique_id, parents=()):
        self.unique_id = unique_id
        self.parents = list(parents)

    def _topo(self, seen, order):
        seen.add(id(self))
        for p in self.parents:
            if id(p) not in seen:
                p._topo(seen, order)
        order.append(self.unique_id)


def backward_bfs(root):
    order, queue, seen = [], [root], {root}
    while queue:
        node = queue.pop(0)
        order.append(node)
        for p in node.parents:
            if p not in seen:
                seen.add(p)
                queue.append(p)
    return order
'''
RUNS = {  # entry point -> how to call it on a root and read its result
    "micrograd_topo": lambda ns, root: ns["micrograd_topo"](root),
    "topological_sort": lambda ns, root: ns["topological_sort"](root, [], set()),
    "topo_preorder": lambda ns, root: ns["topo_preorder"](root),
    "iter_topo": lambda ns, root: list(ns["iter_topo"](root, set())),
    "topo_heights": lambda ns, root: ns["topo_heights"](root),
    "deepwalk_method": lambda ns, root: ns["deepwalk_method"](root),
    "backward_bfs": lambda ns, root: ns["backward_bfs"](root),
    "method_on_other_nodes": lambda ns, root: walk_vars(ns, root),
    "comprehension_topo": lambda ns, root: ns["comprehension_topo"](root),
}


def walk_vars(ns, root):
    """The DAG as Vars (every third of the first 60 a LoudVar, whose override the walk must still
    run), walked by the method recursion ``p._topo(seen, order)``."""
    made = {}
    for node in sorted(reachable(root), key=lambda n: n.unique_id):  # parents first
        kind = loud_var(ns["Var"]) if node.unique_id % 3 == 1 and node.unique_id < 60 \
            else ns["Var"]
        made[node] = kind(node.unique_id, [made[p] for p in node.parents])
    order = []
    made[root]._topo(set(), order)
    return order


def loud_var(var):
    """A subclass overriding the walked method: the fixed walk must call the override."""

    class LoudVar(var):
        def _topo(self, seen, order):
            order.append("override")
            var._topo(self, seen, order)
    return LoudVar


def reachable(root):
    seen, stack = {root}, [root]
    while stack:
        for p in stack.pop().parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


class Node:
    def __init__(self, unique_id: int, parents=()) -> None:
        self.unique_id = unique_id
        self.parents = list(parents)

    def __repr__(self) -> str:
        return f"Node({self.unique_id})"


def fixed(text: str, unsafe: bool = False) -> str:
    run = fix_files({"m.py": text}, {"m.py": analyse_source(text)},
                    lambda texts: {p: analyse_source(t) for p, t in texts.items()},
                    unsafe, lambda path, code: True)
    return run.texts["m.py"]


def namespace(text: str) -> Dict[str, object]:
    module = types.ModuleType("walks")
    exec(compile(text, "walks.py", "exec"), module.__dict__)
    return module.__dict__


@pytest.fixture(scope="module")
def walks():
    after = fixed(WALKS)
    return namespace(WALKS), namespace(after), after


def test_every_walk_is_reported_and_fixed() -> None:
    before = sorted((f.code, f.line) for f in analyse_source(WALKS) if f.code in FIXABLE)
    assert len(before) == 9, before
    assert [f for f in analyse_source(fixed(WALKS)) if f.code in FIXABLE] == []


def test_fixed_walks_report_nothing_new(walks) -> None:
    assert analyse_source(walks[2]) == []


@st.composite
def dags(draw):
    """A DAG with shared nodes: node i's parents are drawn from the nodes before it, in a
    drawn order (the walk's order depends on it); the root is the last node."""
    size = draw(st.integers(1, 30))
    nodes: List[Node] = []
    for i in range(size):
        parents = draw(st.lists(st.sampled_from(nodes), max_size=4)) if nodes else []
        nodes.append(Node(i, parents))
    return nodes[-1]


@settings(max_examples=60, deadline=None)
@given(root=dags())
def test_fixed_walks_give_the_same_results_in_the_same_order(walks, root) -> None:
    original, rewritten, _ = walks
    for name, run in RUNS.items():
        assert run(rewritten, root) == run(original, root), name


def chain(length: int) -> Node:
    node = Node(0)
    for i in range(1, length):
        node = Node(i, [node])
    return node


@pytest.mark.parametrize("name", [n for n in RUNS if n != "backward_bfs"])
def test_fixed_walks_finish_on_a_100000_node_chain(walks, name) -> None:
    original, rewritten, _ = walks
    root = chain(100_000)
    with pytest.raises(RecursionError):
        RUNS[name](original, root)
    result = RUNS[name](rewritten, root)
    assert len([r for r in result if r != "override"]) == 100_000


def test_deque_fix_imports_nothing_new_when_collections_is_imported(walks) -> None:
    assert walks[2].count("import collections") == 1
    assert "queue = [], collections.deque([root])" not in walks[2]
    assert "order, queue, seen = [], collections.deque([root]), {root}" in walks[2]
    assert "queue.popleft()" in walks[2]


# -- every fix: parses, removes its finding, idempotent, touches only its function ----------
def fixture_rewrites():
    for path in sorted(FIXTURES.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        plan = plan_file(text, analyse_source(text))
        for finding, rewrite in plan.rewrites.items():
            yield pytest.param(path, finding, id=f"{path.name}:{finding.line}:{finding.code}")


@pytest.mark.parametrize("path, finding", list(fixture_rewrites()))
def test_a_fix_changes_only_its_function_and_removes_its_finding(path, finding) -> None:
    text = path.read_text(encoding="utf-8")
    plan = plan_file(text, analyse_source(text))
    rewrite = plan.rewrites[finding]
    after = apply(plan.index.module, [rewrite])
    compile(after, str(path), "exec")
    first = plan.index.positions[rewrite.function].start.line
    last = plan.index.end_line(rewrite.function)
    for start, end, content in line_edits(text, after):
        inside = first <= start and end <= last + 1
        imports_only = start == end and all(
            line.startswith("import ") for line in content.splitlines())
        assert inside or imports_only, (start, end, content)

    def count(source: str) -> int:
        return sum(f.code == finding.code for f in analyse_source(source))

    assert count(after) == count(text) - 1
    once = fixed(text)
    assert fixed(once) == once  # idempotent


def test_fix_on_the_fixtures_is_idempotent_and_leaves_no_fixable_finding(tmp_path) -> None:
    copy = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, copy, ignore=shutil.ignore_patterns("regressions", *FIXTURES_TOO_NEW))
    plain = run_cli("--no-cache", ".", cwd=copy)
    safe = int(re.search(r"\[\*\] (\d+) fixable with --fix", plain.stderr)[1])
    assert safe >= 17  # BPL105 x4, BPL202 x9, BPL402 x4 at least
    first = run_cli("--fix", "--no-cache", ".", cwd=copy)
    assert f"Fixed {safe} findings" in first.stderr, first.stderr
    for path in copy.glob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    snapshot = {p.name: p.read_bytes() for p in copy.glob("*.py")}
    second = run_cli("--fix", "--no-cache", ".", cwd=copy)
    assert "Fixed 0 findings" in second.stderr
    assert snapshot == {p.name: p.read_bytes() for p in copy.glob("*.py")}
    # what is left marked has only an unsafe fix
    assert re.search(r"\d+ fixable with --fix(,|$)", second.stderr, re.M) is None, second.stderr
    assert "fixable with --fix --unsafe-fixes" in second.stderr
    diff = run_cli("--diff", "--no-cache", ".", cwd=copy)
    assert diff.returncode == 0 and diff.stdout == ""


# -- the engine: fixed, it differentiates a 50,000-operation chain ------------------------
def load_engine(path: Path):
    return namespace(path.read_text(encoding="utf-8"))["Value"]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine")
    shutil.copy(FIXTURES / "engine_scalar.py", folder / "engine_scalar.py")
    result = run_cli("--fix", "--no-cache", "engine_scalar.py", cwd=folder)
    assert "Fixed 1 finding," in result.stderr, result.stderr
    assert result.stdout == ""  # nothing left
    return load_engine(FIXTURES / "engine_scalar.py"), load_engine(folder / "engine_scalar.py")


def small_graph(Value):
    a, b, c = Value(0.5), Value(-1.5), Value(2.0)
    shared = a * b + c
    loss = (shared * shared + a.tanh() * shared).tanh() + b * c
    loss.backward()
    return [a.grad, b.grad, c.grad, shared.grad]


def test_fixed_engine_gives_the_same_gradients(engines) -> None:
    original, fixed_engine = engines
    assert small_graph(fixed_engine) == small_graph(original)


def test_fixed_engine_differentiates_a_50000_operation_chain(engines) -> None:
    original, fixed_engine = engines

    def deep(Value):
        x = Value(0.3)
        y = x
        for _ in range(25_000):
            y = (y * 0.9999 + 0.0001).tanh() * 1.0
        y.backward()
        return x.grad

    with pytest.raises(RecursionError):
        deep(original)
    assert 0 < deep(fixed_engine) < 1


# -- the command ----------------------------------------------------------------------------
def run_cli(*args: str, cwd, input: bytes = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "backprop_lint", *args], cwd=str(cwd),
                            input=input, capture_output=True, timeout=300)
    result.stdout = result.stdout.decode()
    result.stderr = result.stderr.decode()
    return result


def test_diff_writes_nothing_and_exits_1(tmp_path) -> None:
    (tmp_path / "w.py").write_text(WALKS)
    result = run_cli("--diff", "--no-cache", "w.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("--- a/w.py\n+++ b/w.py\n")
    assert (tmp_path / "w.py").read_text() == WALKS


def test_stdin_fix_prints_the_fixed_text(tmp_path) -> None:
    result = run_cli("--fix", "--no-cache", "-", cwd=tmp_path, input=WALKS.encode())
    assert result.stdout == fixed(WALKS)
    assert "Fixed 9 findings" in result.stderr


def test_text_marks_fixable_findings_and_says_with_which_flag(tmp_path) -> None:
    (tmp_path / "w.py").write_text(WALKS)
    result = run_cli("--no-cache", "w.py", cwd=tmp_path)
    assert result.stdout.count(" [*] ") == 9
    assert "[*] 9 fixable with --fix" in result.stderr


def test_json_fix_object(tmp_path) -> None:
    (tmp_path / "w.py").write_text(WALKS)
    report = json.loads(run_cli("--no-cache", "--format=json", "w.py", cwd=tmp_path).stdout)
    fixes = [r["fix"] for r in report]
    assert all(f is not None and f["applicability"] == "safe" for f in fixes)
    lines = WALKS.splitlines(keepends=True)
    for result in report:
        text = list(lines)
        for edit in reversed(result["fix"]["edits"]):
            start, end = edit["location"]["row"] - 1, edit["end_location"]["row"] - 1
            text[start:end] = [edit["content"]]
        assert result["code"] not in {f.code for f in analyse_source("".join(text))
                                      if f.line == result["line"]}


def test_a_run_without_fix_imports_no_codemod_machinery(tmp_path) -> None:
    (tmp_path / "w.py").write_text(WALKS)
    probe = ("import sys\nfrom backprop_lint.cli import main\n"
             "main(['--no-cache', 'w.py'])\n"
             "import backprop_lint.flake8_plugin\n"
             "sys.stdout.write('\\nCODEMOD=' + str(any(m.startswith('libcst.codemod') "
             "for m in sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert result.stdout.rstrip().endswith("CODEMOD=False"), result.stdout + result.stderr
    plugin = ("import sys, ast\nfrom backprop_lint.flake8_plugin import BackpropLintPlugin\n"
              "text = open('w.py').read()\n"
              "list(BackpropLintPlugin(ast.parse(text), lines=text.splitlines(True)).run())\n"
              "print(sorted(m for m in sys.modules if 'codemod' in m or m.startswith('backprop_lint.fix')))\n")
    result = subprocess.run([sys.executable, "-c", plugin], cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_sarif_fixes_validate_against_the_schema(tmp_path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    (tmp_path / "w.py").write_text(WALKS)
    log = json.loads(run_cli("--no-cache", "--format=sarif", "w.py", cwd=tmp_path).stdout)
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == 9 and all(len(r["fixes"]) == 1 for r in results)
    change = results[0]["fixes"][0]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "w.py"
    assert change["replacements"][0]["insertedContent"]["text"]


def test_the_code_table_says_which_codes_have_a_fix() -> None:
    from backprop_lint.findings import CODES
    from backprop_lint.fixes import FIXERS, fixer

    for doc in CODES:
        if doc.code in FIXERS:
            assert doc.fix.startswith(fixer(doc.code).APPLICABILITY + ": "), doc.code
        else:
            assert doc.fix == "", doc.code
    assert "Fix: safe, with --fix" in run_cli("--explain", "BPL202", cwd=ROOT).stdout
    assert "Fix: none automatic." in run_cli("--explain", "BPL101", cwd=ROOT).stdout


@pytest.mark.parametrize("code", ["BPL104", "BPL105", "BPL201", "BPL202", "BPL401", "BPL402"])
def test_each_fix_module_keeps_before_and_after_examples_that_hold(code) -> None:
    from backprop_lint.fixes import fixer

    module = fixer(code)
    assert module.EXAMPLES
    for before, after in module.EXAMPLES:
        assert code in {f.code for f in analyse_source(before)}
        assert fixed(before, unsafe=module.APPLICABILITY == "unsafe") == after


def test_the_cache_keeps_the_fixes_and_a_fixed_file_is_new_content(tmp_path) -> None:
    (tmp_path / "w.py").write_text(WALKS)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    cold = run_cli(*cache, "w.py", cwd=tmp_path)
    probe = ("import sys\nfrom backprop_lint.cli import main\n"
             f"main({cache + ['w.py']!r})\n"
             "sys.stderr.write('LIBCST=' + str('libcst' in sys.modules))\n")
    warm = subprocess.run([sys.executable, "-c", probe], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert warm.stdout == cold.stdout and warm.stdout.count("[*]") == 9
    assert warm.stderr.endswith("LIBCST=False"), warm.stderr  # a warm run parses nothing
    fixing = run_cli(*cache, "--fix", "w.py", cwd=tmp_path)
    assert fixing.stdout == "" and "Fixed 9 findings, 0 left." in fixing.stderr
    after = run_cli(*cache, "w.py", cwd=tmp_path)
    assert after.returncode == 0 and after.stdout == ""


GETATTR = '''\
class Proxy:
    def __init__(self, wrapped):
        self._wrapped = wrapped

    def __getattr__(self, name):
        return getattr(self._wrapped, name)


class Table:
    def __init__(self, rows):
        self._rows = rows

    def __getattr__(self, name):
        try:
            return self._rows[name]
        except KeyError:
            raise AttributeError(name) from None
'''


def test_getattr_fix_turns_the_endless_reentry_into_attribute_error() -> None:
    after = fixed(GETATTR)
    assert after.count("object.__getattribute__(self, ") == 2
    original, rewritten = namespace(GETATTR), namespace(after)
    for ns in (original, rewritten):  # present: the same answers
        assert ns["Proxy"]([1, 2]).count(2) == 1
        assert ns["Table"]({"a": 1}).a == 1
        with pytest.raises(AttributeError):
            ns["Table"]({"a": 1}).b
    for name in ("Proxy", "Table"):  # missing (unpickling, copy): no more RecursionError
        with pytest.raises(RecursionError):
            object.__new__(original[name]).anything
        with pytest.raises(AttributeError):
            object.__new__(rewritten[name]).anything


# -- the unsafe fixes: each node once, in the order of its first visit -------------------
NAIVE = '''\
import collections


def naive_topo(root):
    topo = []

    def build_topo(v):
        for child in v.parents:
            build_topo(child)
        topo.append(v)

    build_topo(root)
    return topo


def iter_topo_naive(node):
    for parent in node.parents:
        yield from iter_topo_naive(parent)
    yield node


def backward_all(root):
    order = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.parents)
    return order


def backward_breadth_first(root):
    order = []
    queue = collections.deque([root])
    while queue:
        node = queue.popleft()
        order.append(node)
        queue.extend(node.parents)
    return order
'''
NAIVE_RUNS = {
    "naive_topo": lambda ns, root: ns["naive_topo"](root),
    "iter_topo_naive": lambda ns, root: list(ns["iter_topo_naive"](root)),
    "backward_all": lambda ns, root: ns["backward_all"](root),
    "backward_breadth_first": lambda ns, root: ns["backward_breadth_first"](root),
}


@pytest.fixture(scope="module")
def naive():
    assert sorted(f.code for f in analyse_source(NAIVE)) == ["BPL201", "BPL201", "BPL401",
                                                             "BPL401"]
    assert fixed(NAIVE) == NAIVE  # unsafe: not without --unsafe-fixes
    after = fixed(NAIVE, unsafe=True)
    assert analyse_source(after) == []
    return namespace(NAIVE), namespace(after)


@settings(max_examples=40, deadline=None)
@given(root=dags().filter(lambda root: True))
def test_unsafe_fixes_visit_each_node_once_in_first_visit_order(naive, root) -> None:
    original, rewritten = naive
    for name, run in NAIVE_RUNS.items():
        try:
            before = run(original, root)
        except RecursionError:  # exponentially many paths are fine, deep ones are not
            continue
        assert run(rewritten, root) == list({id(n): n for n in before}.values()), name


def test_unsafe_fixes_finish_on_a_100000_node_chain(naive) -> None:
    original, rewritten = naive
    root = chain(100_000)
    for name in ("naive_topo", "iter_topo_naive"):
        with pytest.raises(RecursionError):
            NAIVE_RUNS[name](original, root)
    for name, run in NAIVE_RUNS.items():
        assert len(run(rewritten, root)) == 100_000, name


def test_unsafe_fixes_end_on_a_cycle(naive) -> None:
    a, b = Node(0), Node(1)
    a.parents, b.parents = [b], [a]
    for name, run in NAIVE_RUNS.items():
        assert sorted(n.unique_id for n in run(naive[1], a)) == [0, 1], name


def test_unsafe_fix_on_the_fixtures_leaves_them_parsing_and_is_idempotent(tmp_path) -> None:
    copy = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, copy, ignore=shutil.ignore_patterns("regressions", *FIXTURES_TOO_NEW))
    first = run_cli("--fix", "--unsafe-fixes", "--no-cache", ".", cwd=copy)
    assert "[*]" not in first.stdout, first.stdout
    for path in copy.glob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    snapshot = {p.name: p.read_bytes() for p in copy.glob("*.py")}
    second = run_cli("--fix", "--unsafe-fixes", "--no-cache", ".", cwd=copy)
    assert "Fixed 0 findings" in second.stderr
    assert snapshot == {p.name: p.read_bytes() for p in copy.glob("*.py")}


def test_the_readme_shows_each_fix_modules_example() -> None:
    from backprop_lint.fixes import FIXERS, fixer

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Fixing"):text.index("## In an editor")]
    for code in FIXERS:
        before, after = fixer(code).EXAMPLES[0]
        assert f"```python\n{before}```" in section and f"```python\n{after}```" in section, code
    assert "args: [--fix]" in section and "--diff" in section


def test_a_fix_that_fails_is_no_fix_and_the_report_goes_on(monkeypatch) -> None:
    from backprop_lint.fixes import bpl202_frames

    def broken(target):
        raise ValueError("boom")

    monkeypatch.setattr(bpl202_frames, "rewrite", broken)
    plan = plan_file(WALKS, analyse_source(WALKS))
    refused = [why for f, why in plan.refused.items() if f.code == "BPL202"]
    assert refused and all("ValueError: boom" in why for why in refused)
    assert {r.finding.code for r in plan.rewrites.values()} == {"BPL402"}


def test_getattr_fix_inside_an_f_string_keeps_the_quotes_apart() -> None:
    source = ('class Method:\n'
              '    def __init__(self, name):\n'
              '        self.__name = name\n'
              '\n'
              '    def __getattr__(self, name):\n'
              '        return Method(f"{self.__name}.{name}")\n')
    after = fixed(source)
    assert "f\"{object.__getattribute__(self, '_Method__name')}.{name}\"" in after
    compile(after, "m.py", "exec")
