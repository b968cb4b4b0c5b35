"""The pipeline: source -> facts -> call graph -> findings. Every front end calls
:func:`analyse_source`; it never raises (an exception in a flake8 plugin aborts the whole
flake8 run): anything that goes wrong becomes one BPL900 finding that names the reason."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import gc
import pickle
import sys
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from . import imported, screen
from .callgraph import CallGraph
from .checks.backward import WalkGraph, backward_roots, backward_scope, check_graph_walks
from .checks.datamodel import check_data_model
from .checks.reached import add_root
from .checks.recursion import check_recursion
from .checks.reentrant import check_reentrant_backward, engine_run_bodies
from .checks.worklist import check_worklists
from .facts import ModuleFacts
from .findings import Finding
from .noqa import NoqaComments
from .options import DEFAULT_BACKWARD_GLOBS, Options  # noqa: F401 - the API's names
from .parsing import AnalysisError, parse_planned, parse_python, run_with_deep_stack
from .cache import Cache, pickled
from .project import link, linked_files
from .summary import FileSummary, summarise as summary_of


@dataclasses.dataclass
class FileResult:
    """One file analysed alone: its findings (flake8's answer) and, on request, the
    summary that project mode links with the other files."""

    findings: List[Finding]
    summary: Optional[FileSummary] = None
    # project mode: the file's noqa comments if it has findings of its own (reading them
    # means tokenizing: the processes do it, not the command; linking rarely adds a file)
    noqa: Optional[NoqaComments] = None
    # the other files whose text the analysis read (imported.py), as (path, mtime, size):
    # a cached result is stale when one of them changed
    consulted: Tuple[Tuple[str, int, int], ...] = ()
    # project mode: which of its findings have a fix ((line, column, code) -> the fix's
    # reporters.FixInfo, or None), decided here where the file is at hand (fixing.py)
    fixes: Optional[Dict[Tuple[int, int, str], object]] = None


def analyse_source(source: str, options: Options = Options(),
                   tree: Optional[ast.AST] = None, path: str = "") -> List[Finding]:
    """All findings for one file's text, sorted; ``tree`` is its ``ast`` if already parsed;
    ``path``, where the file lives, tells where its imports are found (imported.py)."""
    return analyse_file(source, options, path, tree=tree).findings


# a verdict of project mode's screen: CPython cannot parse the file; analyse it to say so
UNPARSABLE = "unparsable"


def analyse_file(source: str, options: Options = Options(), path: str = "",
                 tree: Optional[ast.AST] = None, summarise: bool = False,
                 screened: object = None) -> FileResult:
    """Never raises. ``screened`` overrides the screen's verdict: False, UNPARSABLE or a
    :class:`screen.Plan` (project mode decides
    with the other files in view)."""
    if source.startswith("\ufeff"):
        source = source[1:]  # a byte-order mark read as text: not part of the code
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        return FileResult([_not_analysed(path, "the text is not valid Unicode (lone surrogates)")])
    try:
        with _collector_paused():
            if tree is not None and options.screen and screened is None:
                # flake8's tree: the screen is iterative (no deep stack needed) and most
                # files end here, before a thread is started
                screened = _plan_alone(tree, options)
                if screened is None:
                    return FileResult([])
            return run_with_deep_stack(lambda: _screen_and_analyse(source, options, path, tree,
                                                                   summarise, screened))
    except SyntaxError as exc:
        if summarise:  # no flake8 around to say E999
            return FileResult([_not_analysed(path, f"CPython cannot parse this file: {exc.msg} (line {exc.lineno})")])
        return FileResult([])
    except AnalysisError as exc:
        return FileResult([_not_analysed(path, str(exc))])
    except (Exception, RecursionError, MemoryError) as exc:  # never escape into flake8
        return FileResult([_not_analysed(path, f"internal error {_describe(exc)}")])


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while one file is analysed: the trees and facts of a
    file are millions of young objects that the collector would scan again and again
    (15-20 % of the time), and they are freed together afterwards. The host's setting
    (flake8's, or whoever embeds us) is restored as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _describe(exc: BaseException) -> str:
    """``KeyError: ...`` in at most 200 characters; the text of an exception may itself
    fail (the repr of a deeply nested node overflows the stack)."""
    try:
        text = str(exc)
    except BaseException:  # noqa: B036 - whatever happens, BPL900 must come out
        text = ""
    text = " ".join(text.split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _screen_and_analyse(source, options, path, tree, summarise, screened) -> FileResult:
    """In the deep-stack thread: CPython's own parse first (what it refuses is flake8's
    E999, or the command's BPL900), the ast screen, then the analysis of what it kept."""
    if tree is None and (screened is None or screened == UNPARSABLE or not options.screen):
        tree = parse_python(source)  # (project mode's screen has parsed the others already)
    plan = screened if isinstance(screened, screen.Plan) else screen.Plan()
    if options.screen and screened is None:
        plan = _plan_alone(tree, options)
        if plan is None:
            return FileResult([])
    if options.screen and screened is False:
        return FileResult([])
    return _analyse(source, options, path, summarise, plan)


def _plan_alone(tree: ast.AST, options: Options) -> Optional["screen.Plan"]:
    """The screen's plan for a file analysed alone; None if it cannot hold a finding."""
    result = screen.screen_file(tree, options.backward_functions, linking=False)
    return result.plan() if result.local else None


def _not_analysed(path: str, reason: str) -> Finding:
    return Finding(1, 0, "BPL900", f"file not analysed: {reason}", (), path)


def _analyse(source: str, options: Options, path: str, summarise: bool,
             plan: "screen.Plan") -> FileResult:
    blank = plan.stand_ins(source)
    module = ModuleFacts(parse_planned(source, blank), path)
    try:
        return _analyse_module(module, options, summarise, plan, blank)
    finally:
        module.release()


def _analyse_module(module: ModuleFacts, options: Options, summarise: bool,
                    plan: "screen.Plan", blank) -> FileResult:
    graph = CallGraph([module])
    findings = check_recursion(graph)
    never_ending = _functions_reported(graph.functions, findings)
    findings += check_data_model([module], never_ending)
    roots = backward_roots([module], options.backward_functions)
    if not summarise and not roots and not engine_run_bodies(module):
        # alone, BPL2xx-4xx judge only backward-pass code (and autograd Functions'
        # backward methods, whatever the globs): none here, no walk graph to build
        return FileResult(sorted(_one_per_hundred(findings)))
    walks = WalkGraph([module])
    scope = backward_scope(roots, walks)
    # alone, only backward-pass code counts; a project may bring more into scope
    candidates = walks.functions if summarise else list(scope)
    scoped = check_graph_walks(walks, scope, never_ending, everywhere=summarise)
    scoped += check_reentrant_backward([module], walks)
    scoped += check_worklists(candidates)
    in_scope = {f.key for f in scope}
    by_key = {f.key: f for f in scope}
    conditional = []
    for finding, requires in scoped:
        if requires is None or requires & in_scope:
            findings.append(add_root(finding, requires, scope, lambda key: by_key.get(key),
                                     lambda root: (root.qualname, root.path, root.line)))
        else:
            conditional.append((finding, requires))
    findings = sorted(_one_per_hundred(findings))
    if not summarise:
        return FileResult(findings)
    roots = {f for f, parent in scope.items() if parent is None}
    return FileResult(findings, summary_of(module, walks.hops, roots, never_ending, conditional,
                                           blank, plan.cycling))


def _functions_reported(functions, findings: Sequence[Finding]):
    if not findings:
        return set()  # (and no positions needed)
    reported = {(f.path, f.line, f.column) for f in findings}
    return {fn for fn in functions if (fn.path, fn.line, fn.column) in reported}


def _one_per_hundred(findings: Sequence[Finding]) -> List[Finding]:
    """A function gets at most one finding of each hundred: the lowest code."""
    best = {}
    for finding in sorted(findings, key=lambda f: f.code):
        best.setdefault((finding.path, finding.line, finding.column, finding.code[:4]), finding)
    return list(best.values())


def analyse_project(sources: Mapping[str, str], options: Options = Options(),
                    jobs: int = 1, cache: Optional[Cache] = None,
                    progress: Optional[Callable[[str, int], None]] = None,
                    noqa: bool = False, decided: Optional[Dict[str, Dict]] = None
                    ) -> Dict[str, List[Finding]]:
    """Findings per path for files analysed together (the command's project mode).

    Each file is analysed alone (in ``jobs`` processes, or taken from ``cache``) and leaves
    a summary; linking the summaries adds what only the whole project shows: cycles of
    calls across modules (reported once, on their first function in (path, line) order,
    with every step's path in the chain) and graph walks, re-entrant calls and worklists
    that backward-pass code in another module calls. ``progress(stage, n)`` is told each
    time n more files have gone through ``stage`` ("screening", then "analysing" - a file the
    screen leaves out is through it at once - then "linking"). With ``noqa``, findings that a ``# noqa`` comment silences (as
    flake8 reads them) are left out. ``decided`` is given the processes' decisions of
    which findings of each file analysed have a fix (:attr:`FileResult.fixes`).
    """
    with _collector_paused():  # it would scan every screen and summary again and again
        return _analyse_project(sources, options, jobs, cache, progress, noqa, decided)


def _analyse_project(sources, options, jobs, cache, progress, noqa, decided) -> Dict[str, List[Finding]]:
    paths = sorted(sources)
    with _Processes(jobs) as processes:
        run = _ProjectRun(sources, options, processes, cache)
        verdicts: Dict[str, object] = {p: screen.Plan() for p in paths}
        if options.screen:
            verdicts = project_verdicts(run.screen(paths, _stage(progress, "screening")))
        to_analyse = [p for p in paths if verdicts[p] is not False]
        analysing = _stage(progress, "analysing")
        if analysing is not None:
            analysing(len(paths) - len(to_analyse))
        results = run.analyse(to_analyse, verdicts, analysing)
    linking = _stage(progress, "linking")
    if linking is not None:
        linking(0)
    by_path: Dict[str, List[Finding]] = {p: list(r.findings) for p, r in results.items()}
    for finding in link([r.summary for r in results.values() if r.summary is not None], sources):
        by_path.setdefault(finding.path, []).append(finding)
    if linking is not None:
        linking(len(paths))
    if cache is not None:
        cache.flush()
    if decided is not None:
        decided.update((p, r.fixes) for p, r in results.items() if r.fixes is not None)
    found = {p: sorted(_one_per_hundred(by_path.get(p, []))) for p in paths}
    if noqa:
        for path, findings in found.items():
            if findings:
                read = results[path].noqa if path in results else None
                comments = read if read is not None else NoqaComments.of(sources[path])
                found[path] = [f for f in findings if not comments.silences(f.code, f.line)]
    return found


def _stage(progress: Optional[Callable[[str, int], None]], stage: str
           ) -> Optional[Callable[[int], None]]:
    """``progress`` told of one stage: ``counted(n)``, n more files through it."""
    if progress is None:
        return None
    return lambda count: progress(stage, count)


class _ProjectRun:
    """The per-file work of one project run: what ``cache`` holds is taken from it, the
    rest is done by ``processes`` and kept in it. Results come back from the processes
    pickled (:func:`.cache.pickled`): the cache keeps those bytes as they are."""

    def __init__(self, sources: Mapping[str, str], options: Options,
                 processes: "_Processes", cache: Optional[Cache]):
        self.sources, self.options, self.processes, self.cache = sources, options, processes, cache

    def _key(self, cache: Cache, kind: str, path: str, verdict: object) -> str:
        return cache.key_of(kind, path, self.sources[path], (self.options, verdict))

    def _cached(self, kind: str, path: str, verdict: object):
        cache = self.cache
        return None if cache is None else cache.get(kind, path, self._key(cache, kind, path, verdict))

    def _keep(self, kind: str, path: str, verdict: object, value: bytes):
        if self.cache is not None:
            self.cache.put(kind, path, self._key(self.cache, kind, path, verdict), value)

    def _largest_first(self, paths: List[str]) -> List[str]:
        """The work in the order the processes should take it: the largest files first, so
        that the last tasks are small and no process waits long for the other to end."""
        return sorted(paths, key=lambda path: -len(self.sources[path]))

    def screen(self, paths: Sequence[str], progress=None
               ) -> Dict[str, Optional["screen.ScreenResult"]]:
        """Each file's screen (None: CPython cannot parse it)."""
        screens = {p: self._cached("screen", p, None) for p in paths}
        missing = self._largest_first([p for p in paths if screens[p] is None])
        if progress is not None:
            progress(len(paths) - len(missing))
        tasks = [(self.sources[p], self.options) for p in missing]
        for path, screened in zip(missing, self.processes.map(_screen_task, tasks, progress)):
            screens[path] = pickle.loads(screened)
            self._keep("screen", path, None, screened)
        return screens

    def analyse(self, paths: Sequence[str], verdicts: Mapping[str, object], progress=None
                ) -> Dict[str, FileResult]:
        results: Dict[str, FileResult] = {}
        missing = []
        for path in paths:
            hit = self._cached("file", path, verdicts[path])
            if hit is None or not imported.unchanged(getattr(hit, "consulted", ())):
                missing.append(path)
            else:
                results[path] = hit
        if progress is not None and results:
            progress(len(results))
        missing = self._largest_first(missing)
        tasks = [(self.sources[p], self.options, p, verdicts[p]) for p in missing]
        for path, analysed in zip(missing, self.processes.map(_analyse_task, tasks, progress)):
            results[path] = pickle.loads(analysed)
            self._keep("file", path, verdicts[path], analysed)
        return results


def _screen_task(task) -> bytes:
    """The screen of one file, pickled (None when CPython cannot parse it)."""
    source, options = task
    with _collector_paused():
        # the tree must be gone before the collector resumes: it would scan it all
        return pickled(_screen_source(source, options))


def _screen_source(source: str, options: Options) -> Optional["screen.ScreenResult"]:
    try:
        tree = ast.parse(source)  # also tells which files CPython cannot parse
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return screen.screen_file(tree, options.backward_functions)


def _analyse_task(task) -> bytes:
    source, options, path, verdict = task
    with imported.consulted_files() as consulted:
        result = analyse_file(source, options, path, summarise=True, screened=verdict)
    result.consulted = imported.stamps(consulted)
    if result.findings:
        result.noqa = NoqaComments.of(source)
        result.fixes = _decided_fixes(source, result.findings)
    return pickled(result)


def _decided_fixes(source: str, findings: Sequence[Finding]):
    """Which findings have a fix: decided by the process, in parallel, not one file after
    another in the command (which asks only about findings the links add)."""
    from .fixes import FIXERS  # a dict of names: imports nothing

    if not any(f.code in FIXERS for f in findings):
        return None
    from .fixing import decided_fixes

    return decided_fixes(source, findings)


class _Processes:
    """The ``jobs`` processes of one project run, started when first needed and used by
    each of its stages in turn (the screens, then the analyses): started once, as copies
    of this process before it holds the screens. With one job, the work is done here."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self._pool = None

    def __enter__(self) -> "_Processes":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
            gc.unfreeze()

    def map(self, function, tasks, progress=None) -> Iterator:
        """``function`` of each task, in order, yielded as they come: the caller's work on
        one result runs while the processes compute the next."""
        if self.jobs <= 1 or len(tasks) < 2:
            results: Iterator = map(function, tasks)
        else:
            chunk = max(1, min(32, len(tasks) // (self.jobs * 8)))
            results = self._started().map(function, tasks, chunksize=chunk)
        for result in results:
            if progress is not None:
                progress(1)
            yield result

    def _started(self):
        if self._pool is None:
            import concurrent.futures
            import multiprocessing

            context = multiprocessing.get_context("spawn" if sys.platform == "darwin" else None)
            # the processes start as copies of this one (fork): its objects, frozen, are no
            # work for their collectors (each collection would otherwise scan them all, and
            # copy every page it touches)
            gc.freeze()
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.jobs, mp_context=context, initializer=gc.enable)
        return self._pool


def project_verdicts(screened: Mapping[str, Optional["screen.ScreenResult"]]) -> Dict[str, object]:
    """How project mode treats each file: False (nothing to analyse), or the plan of what
    to analyse - for files that may hold a finding alone, files on a cycle of calls across
    files and files that backward-pass code reaches (with the functions it reaches). A
    file CPython cannot parse is analysed, to be reported (UNPARSABLE)."""
    parsed = {p: r for p, r in screened.items() if r is not None}
    links = linked_files(parsed)
    verdicts: Dict[str, object] = {}
    for path, result in screened.items():
        if result is None:
            verdicts[path] = UNPARSABLE
        elif path in links.linked or result.local:
            verdicts[path] = result.plan(links.linked.get(path, ()), links.cycling.get(path, ()))
        else:
            verdicts[path] = False
    return verdicts
