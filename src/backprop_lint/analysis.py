"""The pipeline: source -> facts -> call graph -> findings. Every front end calls
:func:`analyse_source`; it never raises (an exception in a flake8 plugin aborts the whole
flake8 run): anything that goes wrong becomes one BPL900 finding that names the reason."""

from __future__ import annotations

import ast
import dataclasses
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from . import screen
from .callgraph import CallGraph
from .checks.backward import WalkGraph, backward_scope, check_graph_walks
from .checks.datamodel import check_data_model
from .checks.recursion import check_recursion
from .checks.reentrant import check_reentrant_backward
from .checks.worklist import check_worklists
from .facts import ModuleFacts
from .findings import Finding
from .parsing import AnalysisError, parse_source, run_with_deep_stack

DEFAULT_BACKWARD_GLOBS: Tuple[str, ...] = ("*backward*", "*backprop*", "*topo*", "*deepwalk*")


@dataclasses.dataclass(frozen=True)
class Options:
    backward_functions: Tuple[str, ...] = DEFAULT_BACKWARD_GLOBS
    # skip the cheap ast screen and analyse every file fully (tests of the screen use it)
    screen: bool = True


def analyse_source(source: str, options: Options = Options(),
                   tree: Optional[ast.AST] = None) -> List[Finding]:
    """All findings for one file's text, sorted; ``tree`` is its ``ast`` if already parsed."""
    try:
        if options.screen:
            if tree is None:
                tree = ast.parse(source)
            if not screen.may_have_findings(tree, options.backward_functions):
                return []
        return sorted(run_with_deep_stack(lambda: _analyse(source, options)))
    except SyntaxError:
        return []  # CPython cannot parse it: flake8 reports E999 itself
    except AnalysisError as exc:
        return [Finding(1, 0, "BPL900", f"file not analysed: {exc}")]
    except (Exception, RecursionError, MemoryError) as exc:  # never escape into flake8
        return [Finding(1, 0, "BPL900",
                        f"file not analysed: internal error {type(exc).__name__}: {exc}")]


def _analyse(source: str, options: Options) -> List[Finding]:
    return check_modules([ModuleFacts(parse_source(source))], options)


def check_modules(modules: Sequence[ModuleFacts], options: Options) -> List[Finding]:
    """Stage 4 over modules analysed together: every check, in the contract's order."""
    graph = CallGraph(modules)
    findings = check_recursion(graph)
    never_ending = _functions_reported(graph.functions, findings)
    findings += check_data_model(modules, never_ending)
    walks = WalkGraph(modules)
    scope = backward_scope(modules, walks, options.backward_functions)
    findings += check_graph_walks(walks, scope, never_ending)
    findings += check_reentrant_backward(modules, scope)
    findings += check_worklists(scope)
    return _one_per_hundred(findings)


def _functions_reported(functions, findings: Sequence[Finding]):
    reported = {(f.path, f.line, f.column) for f in findings}
    return {fn for fn in functions if (fn.path, fn.line, fn.column) in reported}


def _one_per_hundred(findings: Sequence[Finding]) -> List[Finding]:
    """A function gets at most one finding of each hundred: the lowest code."""
    best = {}
    for finding in sorted(findings, key=lambda f: f.code):
        best.setdefault((finding.path, finding.line, finding.column, finding.code[:4]), finding)
    return list(best.values())


def analyse_project(sources: Mapping[str, str], options: Options = Options()) -> Dict[str, List[Finding]]:
    """Findings per path for a set of files analysed together (the command's project mode).

    Each file's findings are those of :func:`analyse_source`; a cycle of calls that crosses
    modules is reported once, on its first function in (path, line) order, with the path
    of every step in the finding's chain.
    """
    return {path: analyse_source(text, options) for path, text in sorted(sources.items())}
