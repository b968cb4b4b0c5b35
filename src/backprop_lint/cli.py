"""The ``backprop-lint`` command (also ``python -m backprop_lint``): a whole project at once.

Stages: options and configuration (:mod:`.config`) -> files and their text (:mod:`.files`)
-> one :func:`~backprop_lint.analysis.analyse_project` call over all of them (cycles across
modules; it parses the files in ``--jobs`` processes) -> select / ignore and ``# noqa``
(:mod:`.noqa`) -> output (:mod:`.reporters`) and ``--graph`` (:mod:`.graphs`).

Exit status: 0 no findings, 1 findings (0 with ``--exit-zero``), 2 a usage or
configuration error or an input that could not be checked (each one line on stderr; the
other inputs are still checked and reported).
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from typing import Callable, Dict, List, Mapping, NoReturn, Optional, Sequence, Tuple

from . import __version__
from .cache import Cache, pickled
from .config import ConfigError, CodeSelection, Settings, load_settings
from .files import (STDIN, InputError, Source, discover, is_excluded, load_all,
                    source_from_bytes)
from .findings import CODES, Finding
from .graphs import render, writer_for
from .notebook import NotebookError, OpenNotebook, is_notebook, open_notebook, relabel
from .options import Options
from .reporters import (FORMATTERS, TOOL, FixInfo, Progress, Result, Step, explain, format_text,
                        statistics)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
DEFAULT_STDIN_NAME = "stdin"


class UsageError(Exception):
    """A bad command line (one line)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _jobs(value: str) -> int:
    if value == "auto":
        return default_jobs()
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {value!r}")
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {jobs}")
    return jobs


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=TOOL,
        description="Find recursion that never ends (BPL codes) in a whole project at once: "
        "cycles of calls across modules included.",
        epilog="Exit status: 0 no findings, 1 findings, 2 a usage error or an input that "
        "could not be checked. Configuration: [tool.backprop-lint] in pyproject.toml, or the "
        "[flake8] section of setup.cfg, tox.ini or .flake8; the command line wins.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files and folders to check (default: .); - reads standard input")
    chosen = parser.add_argument_group("what to report")
    chosen.add_argument("--select", metavar="CODES",
                        help="report only these codes or prefixes (default: all BPL codes)")
    chosen.add_argument("--ignore", metavar="CODES", help="do not report these codes or prefixes")
    chosen.add_argument("--extend-select", metavar="CODES", help="add to --select")
    chosen.add_argument("--extend-ignore", metavar="CODES", help="add to --ignore")
    chosen.add_argument("--per-file-ignores", metavar="MAPPING",
                        help="codes to ignore in some files, as flake8 writes it: "
                        "'GLOB:CODES GLOB2,GLOB3:CODES' (the longest matching glob wins)")
    chosen.add_argument("--extend-per-file-ignores", metavar="MAPPING",
                        help="add to --per-file-ignores")
    chosen.add_argument("--backward-functions", metavar="GLOBS",
                        help="globs (case-insensitive; a leading * matches at the start of a "
                        "word of the name) naming backward-pass functions "
                        "(default: *backward*,*backprop*,*topo*,*deepwalk*)")
    where = parser.add_argument_group("which files")
    where.add_argument("--exclude", metavar="PATTERNS",
                       help="globs of files and folders to skip, replacing the defaults")
    where.add_argument("--extend-exclude", metavar="PATTERNS", help="add to --exclude")
    where.add_argument("--stdin-filename", "--stdin-display-name", dest="stdin_filename",
                       metavar="NAME", default=DEFAULT_STDIN_NAME,
                       help="the path that standard input (-) stands for")
    where.add_argument("--config", metavar="FILE",
                       help="read options from this file only (pyproject.toml or an ini file)")
    where.add_argument("--isolated", action="store_true", help="read no configuration file")
    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=sorted(FORMATTERS), default="text",
                     help="text (default; flake8 style, a cycle's functions listed under it), "
                     "concise (one line per finding), json, sarif (SARIF 2.1.0) or github "
                     "(workflow annotations)")
    out.add_argument("--show-source", action="store_true",
                     help="text: show the reported line, with a caret under the column")
    out.add_argument("--statistics", action="store_true",
                     help="after the findings, one line per code: how many, and its name "
                     "(most frequent first)")
    adopt = parser.add_argument_group("adopting it on existing code")
    adopt.add_argument("--add-noqa", action="store_true",
                       help="add '# noqa: BPLnnn' to every line that reports now (merged into "
                       "an existing '# noqa: X'), and print how many were added")
    out.add_argument("--output-file", metavar="FILE", help="write the report here, not to stdout")
    out.add_argument("--graph", metavar="FILE",
                     help="write the recursions found as a picture: Graphviz (.dot) or "
                     "Mermaid (.mmd)")
    out.add_argument("--color", "--colour", dest="color", choices=("auto", "always", "never"),
                     default="auto", help="colour text output (auto: on a terminal, unless "
                     "NO_COLOR is set)")
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even if there are findings")
    fixing = parser.add_argument_group("fixes")
    fixing.add_argument("--fix", action="store_true",
                        help="apply the safe fixes in place (findings marked [*]), then report "
                        "what is left; with - print the fixed text")
    fixing.add_argument("--diff", action="store_true",
                        help="print the fixes as a unified diff and change nothing (exit 1 "
                        "when there is a diff)")
    fixing.add_argument("--unsafe-fixes", action="store_true",
                        help="also apply (or show) the fixes that may change behaviour a "
                        "program relies on (see --explain)")
    parser.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                        help="processes for the per-file analysis (default: all cores)")
    cached = parser.add_argument_group("cache")
    cached.add_argument("--cache-dir", metavar="DIR",
                        help="where per-file results are kept between runs (default: "
                        "$XDG_CACHE_HOME/backprop-lint or ~/.cache/backprop-lint)")
    cached.add_argument("--no-cache", action="store_true",
                        help="neither read nor write cached results")
    parser.add_argument("--explain", metavar="CODE",
                        help="print the documentation of a code (or of every code with a prefix)")
    parser.add_argument("--version", action="version", version=f"{TOOL} {__version__}")
    return parser


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.add_noqa and STDIN in args.paths:
        raise UsageError("--add-noqa edits files: it cannot take standard input (-)")
    if args.graph:
        try:
            writer_for(args.graph)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    for option, filename in (("--output-file", args.output_file), ("--graph", args.graph)):
        if filename:
            _check_writable(option, filename)
    return args


def _check_writable(option: str, filename: str) -> None:
    """Fail before a long analysis, not after it, when its report could not be written.
    Opening for appending creates the file but changes no byte of one that exists; a file
    this creates is removed again (written at the end). A FIFO or device is not opened."""
    existed = os.path.lexists(filename)
    try:
        if existed and not os.path.isfile(filename):
            if os.path.isdir(filename):
                raise IsADirectoryError(errno.EISDIR, "is a directory")
            if not os.access(filename, os.W_OK):
                raise PermissionError(errno.EACCES, "permission denied")
            return
        with open(filename, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"{option} {filename}: cannot write: {reason[:1].lower()}{reason[1:]}") \
            from None
    if not existed:
        os.unlink(filename)


def option_values(args: argparse.Namespace) -> Dict[str, str]:
    """The configuration options given on the command line, by their config names."""
    names = ("select", "ignore", "extend_select", "extend_ignore", "exclude",
             "extend_exclude", "backward_functions", "per_file_ignores",
             "extend_per_file_ignores")
    return {n.replace("_", "-"): getattr(args, n) for n in names if getattr(args, n) is not None}


# -- stages ---------------------------------------------------------------------------------
def read_stdin(name: str) -> Source:
    try:
        data = sys.stdin.buffer.read()
    except (OSError, AttributeError, ValueError) as exc:
        return Source(name, error=InputError(name, f"cannot read standard input: {exc}"))
    return source_from_bytes(name, data)


Notebooks = Dict[str, OpenNotebook]


def gather(paths: Sequence[str], settings: Settings, stdin_name: str
           ) -> Tuple[Dict[str, str], List[InputError], Notebooks]:
    """Every input's text by path (a notebook's: the module its code cells make), the
    inputs that could not be read, and the notebooks."""
    files, errors = discover(paths, settings.excluded)
    sources = load_all(files)
    texts: Dict[str, str] = {}
    notebooks: Notebooks = {}
    use_stdin = STDIN in paths and not (
        stdin_name != DEFAULT_STDIN_NAME and is_excluded(stdin_name, settings.excluded))
    if use_stdin:  # the buffer stands for the file of the same name, if that is checked too
        sources = [s for s in sources if os.path.normpath(s.path) != os.path.normpath(stdin_name)]
        sources.append(read_stdin(stdin_name))
    for source in sources:
        if source.error is not None:
            errors.append(source.error)
        elif source.text is not None and is_notebook(source.path):
            try:
                notebooks[source.path] = open_notebook(source.path, source.text)
            except NotebookError as exc:
                errors.append(InputError(source.path, str(exc)))
            else:
                texts[source.path] = notebooks[source.path].text
        elif source.text is not None:
            texts[source.path] = source.text
    return texts, sorted(errors, key=lambda e: (e.path, e.line, e.column)), notebooks


def usable_cache(directory: Optional[str]) -> Optional[Cache]:
    """The cache, or None (said once on stderr) when its directory cannot hold results: the
    run goes on uncached, and the exit status does not change."""
    cache = Cache(directory)
    problem = cache.unusable()
    if problem is None:
        return cache
    option = "--cache-dir " if directory else "cache directory "
    error(f"warning: {option}{cache.directory}: cannot be used ({problem}); nothing is cached")
    return None


def analyse(texts: Mapping[str, str], settings: Settings, jobs: int,
            cache: "Optional[Cache]" = None, decided: Optional[Dict[str, Dict]] = None
            ) -> Dict[str, List[Finding]]:
    """One call over all the files: the analysis reads them in ``jobs`` processes, and
    takes what ``cache`` holds for files seen before. A run on the same files as one
    before, none changed, takes that run's findings and imports no analysis at all.
    ``decided`` gets which findings the processes found a fix for (analysis.py)."""
    options = Options()
    if settings.backward_functions:
        options = Options(backward_functions=settings.backward_functions)
    entry = None
    if cache is not None:
        entry = cache.project_entry(texts, options)
        found = cache.get("project", *entry)
        if isinstance(found, dict):
            return found
    from .analysis import analyse_project  # libcst and networkx: ~0.3 s to import

    progress = Progress(len(texts))
    try:
        with progress.waiting(f"screening {len(texts)} files"):  # the first stage
            found = analyse_project(texts, options, jobs=jobs, cache=cache,
                                    progress=progress.advance, noqa=True, decided=decided)
    finally:
        progress.close()
    if cache is not None and entry is not None:
        cache.put("project", *entry, pickled(found))
        cache.flush()
    return found


def _clamped_column(lines: Sequence[str], finding: Finding) -> int:
    """0-based, within the line (as the flake8 plugin reports it)."""
    if 0 < finding.line <= len(lines):
        return min(max(finding.column, 0), max(len(lines[finding.line - 1]) - 1, 0))
    return 0


def _step(path: str, line: int, function: str, notebooks: Notebooks, call: int = 0) -> Step:
    opened = notebooks.get(path)
    if opened is None:
        return Step(path, line, function, call=call)
    cell, in_cell = opened.place(line)
    return Step(path, in_cell, function, cell, opened.file_line(line))


def _chain(finding: Finding, path: str, notebooks: Notebooks) -> Tuple[Step, ...]:
    """The functions on the finding's cycle in call order, each once (the last calls the
    first); a step without a path is in the finding's file."""
    steps = tuple(_step(s.path or path, s.line, s.function, notebooks, s.call)
                  for s in finding.chain)
    if len(steps) > 1 and _place(steps[-1]) == _place(steps[0]):  # closed by the analysis
        steps = steps[:-1]
    return steps


def _place(step: Step) -> Tuple[str, int, str]:
    return step.path, step.line, step.function


def to_results(path: str, text: str, findings: Sequence[Finding],
               selection: CodeSelection, notebooks: Optional[Notebooks] = None,
               fixes: Optional[Mapping] = None) -> List[Result]:
    """The findings of one file that are reported (selected; the analysis has left out
    those that ``noqa`` silences); in a notebook, placed in its cells."""
    notebooks = notebooks or {}
    opened = notebooks.get(path)
    lines = text.splitlines()
    results = []
    for finding in findings:
        if not selection(finding.code):
            continue
        column = _clamped_column(lines, finding)
        line_text = lines[finding.line - 1].rstrip() if 0 < finding.line <= len(lines) else ""
        cell, line = opened.place(finding.line) if opened is not None else (0, finding.line)
        results.append(Result(
            path, line, column + 1, finding.code, relabel(finding.message, path, notebooks),
            end_line=line, end_column=max(len(line_text), column + 1) + 1,
            chain=_chain(finding, path, notebooks), cell=cell,
            file_line=opened.file_line(finding.line) if opened is not None else 0,
            source=line_text, fix=(fixes or {}).get((path, finding)),
        ))
    return results


def report(texts: Mapping[str, str], findings: Mapping[str, Sequence[Finding]],
           selection: Callable[[str], CodeSelection], notebooks: Optional[Notebooks] = None,
           fixes: Optional[Mapping] = None) -> List[Result]:
    """The reported findings, sorted; ``selection`` gives each path's choice of codes."""
    results: List[Result] = []
    for path, found in findings.items():
        if found and path in texts:
            results.extend(to_results(path, texts[path], found, selection(path), notebooks, fixes))
    return sorted(results, key=lambda r: (r.path, r.cell, r.line, r.column, r.code, r.message))


def with_cell_problems(findings: Mapping[str, Sequence[Finding]], notebooks: Notebooks
                       ) -> Dict[str, List[Finding]]:
    """The analysis's findings plus one BPL900 per notebook cell left out (it does not
    parse): reported once, on the cell, whatever the analysis of the rest found."""
    merged = {path: list(found) for path, found in findings.items()}
    for path, opened in notebooks.items():
        merged.setdefault(path, []).extend(opened.cell_problems())
    return merged


def has_fix_module(findings: Mapping[str, Sequence[Finding]],
                   selection: Callable[[str], CodeSelection]) -> bool:
    from .fixes import FIXERS  # a dict of names: imports nothing

    return any(f.code in FIXERS and selection(path)(f.code)
               for path, found in findings.items() for f in found)


def fixes_of(args: argparse.Namespace, texts: Mapping[str, str],
             findings: Mapping[str, Sequence[Finding]],
             selection: Callable[[str], CodeSelection],
             cache: "Optional[Cache]", decided: Optional[Mapping[str, Dict]] = None
             ) -> Dict[Tuple[str, Finding], FixInfo]:
    """(path, finding) -> its fix, for the reported findings that have one: as the
    processes ``decided`` it, as ``cache`` knows it, or worked out here. libcst is
    imported only when a finding's code has a fix module and neither knows the file's
    fixes (a warm run parses nothing)."""
    if not has_fix_module(findings, selection):
        return {}
    with_edits = args.format in {"json", "sarif"}
    infos: Dict[Tuple[str, Finding], FixInfo] = {}
    missing: Dict[str, Sequence[Finding]] = {}
    keys: Dict[str, str] = {}
    for path, found in findings.items():
        if path not in texts or not has_fix_module({path: found}, selection):
            continue
        where = [(f.line, f.column, f.code) for f in found]
        known = None
        if cache is not None:
            keys[path] = cache.key_of("fixes", path, texts[path], (with_edits, sorted(where)))
            known = cache.get("fixes", path, keys[path])
        if not isinstance(known, dict):
            known = _decided(decided or {}, path, where, with_edits)
            if known is not None and cache is not None:
                cache.put("fixes", path, keys[path], pickled(known))
        if known is None:
            missing[path] = found
            continue
        infos.update(((path, f), known[key]) for f, key in zip(found, where) if known.get(key) is not None)
    if missing and has_fix_module(missing, selection):
        from .fixing import fix_infos

        infos.update(fix_infos(texts, missing, with_edits))
    if cache is not None and missing:
        for path, found in missing.items():
            known = {(f.line, f.column, f.code): infos[(path, f)]
                     for f in found if (path, f) in infos}
            cache.put("fixes", path, keys[path], pickled(known))
    if cache is not None:
        cache.flush()
    return infos


def _decided(decided: Mapping[str, Dict], path: str, where: Sequence[Tuple[int, int, str]],
             with_edits: bool) -> Optional[Dict]:
    """The fixes the processes decided for a file's findings, if they decided for every one
    (not for a finding the links add) and no edits are asked for (they work none out)."""
    from .fixes import FIXERS  # a dict of names: imports nothing

    told = decided.get(path)
    if with_edits or told is None or any(w not in told for w in where if w[2] in FIXERS):
        return None
    return told


def fix_summary(results: Sequence[Result], fixed: int, fixing: bool) -> Optional[str]:
    from collections import Counter

    counts = Counter(r.fix.applicability for r in results if r.fix is not None)
    parts = [f"Fixed {fixed} finding{'s' if fixed != 1 else ''}, {len(results)} left."] \
        if fixing else []
    if counts:
        parts.append(fixable_summary(counts))
    return "\n".join(parts) if parts else None


def fixable_summary(fixable: Mapping[str, int]) -> str:
    """``[*] 3 fixable with --fix, 1 more with --fix --unsafe-fixes``."""
    safe, unsafe = fixable.get("safe", 0), fixable.get("unsafe", 0)
    parts = [f"{safe} fixable with --fix"] if safe else []
    if unsafe:
        parts.append(f"{unsafe} {'more ' if safe else ''}fixable with --fix --unsafe-fixes")
    return f"[*] {', '.join(parts)}"


def run_fixes(args: argparse.Namespace, texts: Mapping[str, str],
              findings: Dict[str, List[Finding]], settings: Settings, jobs: int,
              cache: "Optional[Cache]"):
    """--fix / --diff: the fixed texts and what is left in them (every file, notebooks
    included, may be rewritten; every file is analysed again)."""
    from .fixing import fix_files

    def again(fixed: Mapping[str, str]) -> Dict[str, List[Finding]]:
        return analyse({**texts, **fixed}, settings, jobs, cache)

    run = fix_files(texts, findings, again, args.unsafe_fixes,
                    lambda path, code: settings.selection_for(path)(code))
    run.texts = {**texts, **run.texts}
    return run


def file_text(path: str, text: str, notebooks: Notebooks) -> str:
    """What the file holds for ``text``: a notebook's JSON with the changed cells' sources
    rewritten (outputs, metadata and formatting kept), any other file's text as it is."""
    opened = notebooks.get(path)
    return opened.rewritten(text) if opened is not None else text


def write_fixed(changed: Mapping[str, str], texts: Mapping[str, str], stdin_path: Optional[str],
                notebooks: Notebooks) -> None:
    """--fix: every changed file but standard input's is written back; a notebook is read
    again, so that its cells map the fixed lines."""
    for path in changed:
        written = file_text(path, texts[path], notebooks)
        if path in notebooks:
            notebooks[path] = open_notebook(path, written)
        if path == stdin_path:
            continue
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(written)


def show_diff(changed: Mapping[str, str], texts: Mapping[str, str], notebooks: Notebooks) -> str:
    from .fixes.apply import unified_diff

    return "".join(unified_diff(path, file_text(path, before, notebooks), file_text(path, texts[path], notebooks))
                   for path, before in sorted(changed.items()))


# -- output ---------------------------------------------------------------------------------
def wants_colour(choice: str, stream) -> bool:
    if choice != "auto":
        return choice == "always"
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def render_report(args: argparse.Namespace, results: Sequence[Result],
                  errors: Sequence[InputError]) -> str:
    if args.format in ("text", "concise"):
        stream = None if args.output_file else sys.stdout
        colour = stream is not None and wants_colour(args.color, stream)
        text = format_text(results, colour, concise=args.format == "concise",
                           show_source=args.show_source)
        return text + (statistics(results) if args.statistics else "")
    if args.format == "sarif":
        return FORMATTERS["sarif"](results, errors)
    return FORMATTERS[args.format](results)


def write_text(text: str, filename: Optional[str]) -> None:
    if filename:
        with open(filename, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def error(message: str) -> None:
    sys.stderr.write(f"{TOOL}: {message}\n")
    sys.stderr.flush()


def explain_codes(prefix: str) -> int:
    docs = [doc for doc in CODES if doc.code.startswith(prefix.strip().upper())]
    if not prefix.strip() or not docs:
        known = ", ".join(doc.code for doc in CODES)
        error(f"error: --explain {prefix}: no such code (known: {known})")
        return EXIT_ERROR
    write_text("\n".join(explain(doc) for doc in docs), None)
    return EXIT_CLEAN


def add_noqa_and_tell(results: Sequence[Result], texts: Mapping[str, str],
                      notebooks: Notebooks, errors: Sequence[InputError]) -> int:
    """``--add-noqa``: edit the files, say how many directives were added (no report)."""
    from .addnoqa import add_noqa, wanted_directives

    tally = add_noqa(wanted_directives(results, notebooks), texts, notebooks)
    for problem in tally.problems:
        error(problem)
    files = "file" if tally.files == 1 else "files"
    write_text(f"Added {tally.directives} noqa directive{'' if tally.directives == 1 else 's'} "
               f"in {tally.files} {files}.\n", None)
    return EXIT_ERROR if errors or tally.problems else EXIT_CLEAN


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = parse_args(argv)
        if args.explain is not None:
            return explain_codes(args.explain)
        settings = load_settings(option_values(args), args.config, args.isolated)
    except (UsageError, ConfigError) as exc:
        error(f"error: {exc}")
        return EXIT_ERROR
    texts, errors, notebooks = gather(args.paths or [os.curdir], settings, args.stdin_filename)
    for problem in errors:
        error(problem.text())
    try:
        cache = None if args.no_cache else usable_cache(args.cache_dir)
        decided: Dict[str, Dict] = {}  # which findings have a fix, as the processes found
        findings = analyse(texts, settings, args.jobs or default_jobs(), cache, decided)
    except Exception as exc:  # the analysis promises not to raise; say so if it does
        error(f"internal error {type(exc).__name__}: {exc} (please report it)")
        return EXIT_ERROR
    stdin_path = args.stdin_filename if STDIN in (args.paths or ()) else None
    fixed = 0
    try:
        if args.fix or args.diff:
            run = run_fixes(args, texts, findings, settings, args.jobs or default_jobs(),
                            cache)
            fixed = sum(run.fixed.values())
            if args.diff:
                diff = show_diff(run.changed, run.texts, notebooks)
                write_text(diff, args.output_file)
                error(f"would fix {fixed} finding{'s' if fixed != 1 else ''}")
                return EXIT_ERROR if errors else (EXIT_FINDINGS if diff else EXIT_CLEAN)
            write_fixed(run.changed, run.texts, stdin_path, notebooks)
            decided.clear()  # of the texts before the fixes
            texts = {**run.texts, **{p: notebooks[p].text for p in run.changed if p in notebooks}}
            findings = run.findings
            if any(p in notebooks for p in run.changed):  # lines may have moved into a cell
                findings = analyse(texts, settings, args.jobs or default_jobs(), cache)
        results = report(texts, with_cell_problems(findings, notebooks), settings.selection_for,
                         notebooks, fixes_of(args, texts, findings, settings.selection_for, cache,
                                             decided))
        if args.add_noqa:
            return add_noqa_and_tell(results, texts, notebooks, errors)
    except OSError as exc:
        error(f"cannot write: {exc}")
        return EXIT_ERROR
    except Exception as exc:  # the fixes promise not to raise; say so if they do
        error(f"internal error {type(exc).__name__}: {exc} (please report it)")
        return EXIT_ERROR
    try:
        if args.fix and stdin_path is not None and stdin_path in texts:
            write_text(file_text(stdin_path, texts[stdin_path], notebooks), None)  # like `ruff --fix -`
            sys.stderr.write(render_report(args, results, errors))
        else:
            write_text(render_report(args, results, errors), args.output_file)
        if args.format in {"text", "concise"}:
            said = fix_summary(results, fixed, args.fix)
            if said:
                sys.stderr.write(said + "\n")
        if args.graph:
            write_text(render(results, args.graph), args.graph)
    except OSError as exc:
        error(f"cannot write: {exc}")
        return EXIT_ERROR
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if results and not args.exit_zero else EXIT_CLEAN
