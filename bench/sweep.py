#!/usr/bin/env python3
"""The crash sweep: the analysis over every Python file of real code, looking for crashes.

    python3 bench/sweep.py [FOLDER ...] [--jobs 2] [--timeout 300] [--full | --check-screen]
                           [--make-into DIR] [--limit N] [--json FILE]

FOLDERs default to /work/corpus/torch and /work/corpus/stdlib, laid out by
bench/make-corpus.sh; when a default folder is missing, that script is run into
--make-into (default: a temporary folder) first.

Each file is read as flake8 reads it (PEP 263 / BOM, latin-1 when that fails), parsed with
``ast`` as flake8 does, and handed to ``analyse_source`` with that tree, in a pool of worker
processes, one file at a time, each timed. A worker that overruns --timeout is killed, and
one that dies (a segfault in a native parser) is replaced; both are recorded. ``--full``
turns the screen off, so that every file goes through the full libcst analysis;
``--check-screen`` runs both and reports every file whose findings differ.

Prints: files, lines, files CPython cannot parse (flake8's E999), findings per code,
BPL900 by reason (internal error / libcst parse / other) with the files, exceptions,
timeouts, dead workers, and the slowest files. Exits 1 on any internal-error BPL900,
exception, timeout or dead worker; 0 otherwise; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import ast
import collections
import io
import json
import multiprocessing
import multiprocessing.connection
import subprocess
import sys
import tempfile
import time
import tokenize
import traceback
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDERS = (Path("/work/corpus/torch"), Path("/work/corpus/stdlib"))
MAKE_CORPUS = ROOT / "bench" / "make-corpus.sh"


# -- reading a file as flake8 does ---------------------------------------------------------------
def read_source(path: Path) -> str:
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, UnicodeError, LookupError):
        text = data.decode("latin-1")
    return text[1:] if text.startswith("\ufeff") else text  # flake8 strips the BOM


def count_lines(text: str) -> int:
    return len(text.splitlines())


# -- the worker ----------------------------------------------------------------------------------
def analyse_one(path: str, full: bool, check_screen: bool = False) -> dict:
    """Everything about one file; never raises (an exception is part of the record).
    ``check_screen``: also analyse with the screen off (a file CPython parses only) and
    record any difference: the screen must only drop files that have no finding."""
    record: dict = {"path": path, "lines": 0, "seconds": 0.0, "findings": [], "e999": None,
                    "exception": None, "screen_mismatch": None}
    start = time.perf_counter()
    try:
        from backprop_lint.analysis import Options, analyse_source

        text = read_source(Path(path))
        record["lines"] = count_lines(text)
        try:
            tree: Optional[ast.AST] = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            tree = None  # flake8 says E999 and runs no plugin; we still check it returns
            record["e999"] = f"{type(exc).__name__}: {exc}"
        findings = analyse_source(text, Options(screen=not full), tree, path)
        record["findings"] = [[f.line, f.column, f.code, f.message] for f in findings]
        if check_screen and not full and tree is not None:
            unscreened = analyse_source(text, Options(screen=False), path=path)
            other = [[f.line, f.column, f.code, f.message] for f in unscreened]
            if other != record["findings"]:
                record["screen_mismatch"] = other
    except BaseException as exc:  # noqa: B902 - the sweep looks for exactly these
        record["exception"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    record["seconds"] = time.perf_counter() - start
    return record


def _worker_main(connection, full: bool, check_screen: bool) -> None:
    while True:
        try:
            path = connection.recv()
        except EOFError:
            return
        if path is None:
            return
        connection.send(analyse_one(path, full, check_screen))


class Worker:
    def __init__(self, context, full: bool, check_screen: bool = False) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, full, check_screen),
                                       daemon=True)
        self.process.start()
        child.close()
        self.path: Optional[str] = None
        self.started = 0.0

    def give(self, path: str) -> None:
        self.path, self.started = path, time.monotonic()
        self.connection.send(path)

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


def sweep(paths: Sequence[str], jobs: int, timeout: float, full: bool,
          progress: bool = True, check_screen: bool = False) -> Iterator[dict]:
    """Yield one record per file; a killed or dead worker yields a record saying so."""
    context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    queue = collections.deque(paths)
    workers = [Worker(context, full, check_screen) for _ in range(max(1, min(jobs, len(paths))))]
    done, total, last_report = 0, len(paths), time.monotonic()
    try:
        while queue or any(w.path for w in workers):
            for worker in workers:
                if worker.path is None and queue:
                    worker.give(queue.popleft())
            busy = [w for w in workers if w.path is not None]
            ready = multiprocessing.connection.wait([w.connection for w in busy], timeout=1.0)
            now = time.monotonic()
            for index, worker in enumerate(workers):
                if worker.path is None:
                    continue
                record = None
                if worker.connection in ready:
                    try:
                        record = worker.connection.recv()
                    except (EOFError, OSError):
                        worker.process.join(timeout=5)
                        record = _lost(worker.path, now - worker.started,
                                       f"worker died (exit code {worker.process.exitcode})", "dead")
                elif now - worker.started > timeout:
                    record = _lost(worker.path, now - worker.started,
                                   f"timed out after {timeout:.0f} s", "timeout")
                if record is None:
                    continue
                if record.get("lost"):
                    worker.kill()
                    workers[index] = Worker(context, full, check_screen)
                else:
                    worker.path = None
                done += 1
                yield record
            if progress and time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                print(f"  ... {done}/{total} files", file=sys.stderr, flush=True)
    finally:
        for worker in workers:
            if worker.path is None:
                worker.stop()
            else:
                worker.kill()


def _lost(path: str, seconds: float, why: str, kind: str) -> dict:
    return {"path": path, "lines": _safe_lines(path), "seconds": seconds, "findings": [],
            "e999": None, "exception": None, "screen_mismatch": None, "lost": kind, "why": why}


def _safe_lines(path: str) -> int:
    try:
        return count_lines(read_source(Path(path)))
    except Exception:
        return 0


# -- the corpus -----------------------------------------------------------------------------------
def make_corpus(into: Path) -> None:
    print(f"laying out the corpus: {MAKE_CORPUS} {into}", file=sys.stderr, flush=True)
    subprocess.run(["bash", str(MAKE_CORPUS), str(into)], check=True)


def resolve_folders(folders: Sequence[Path], make_into: Optional[Path]) -> List[Path]:
    """The folders to sweep; a missing default folder is laid out by make-corpus.sh."""
    chosen = list(folders) or list(DEFAULT_FOLDERS)
    missing = [f for f in chosen if not f.is_dir()]
    if not missing:
        return chosen
    layable = [f for f in missing if f.name in ("torch", "stdlib")]
    if len(layable) != len(missing):
        others = ", ".join(str(f) for f in missing if f not in layable)
        raise SystemExit(f"sweep.py: no such folder: {others}")
    into = make_into or Path(tempfile.mkdtemp(prefix="bpl-corpus-"))
    make_corpus(into)
    resolved = []
    for folder in chosen:
        if folder in missing:
            folder = into / folder.name
            if not folder.is_dir():
                print(f"sweep.py: make-corpus.sh did not lay out {folder}; skipped",
                      file=sys.stderr)
                continue
        resolved.append(folder)
    if not resolved:
        raise SystemExit("sweep.py: nothing to sweep")
    return resolved


def python_files(folders: Sequence[Path]) -> List[str]:
    found = []
    for folder in folders:
        found += sorted(str(p) for p in folder.rglob("*.py") if p.is_file())
    return found


# -- the report ------------------------------------------------------------------------------------
def bpl900_kind(message: str) -> str:
    if "internal error" in message:
        return "internal error"
    if "libcst" in message:
        return "libcst parse"
    return "other"


def report(records: List[dict], folders: Sequence[Path], elapsed: float, slowest: int,
           full: bool, out=sys.stdout) -> int:
    def show(text: str = "") -> None:
        print(text, file=out)

    per_code: Dict[str, int] = collections.Counter()
    bpl900: Dict[str, List[tuple]] = collections.defaultdict(list)
    exceptions = [r for r in records if r.get("exception")]
    lost = [r for r in records if r.get("lost")]
    e999 = [r for r in records if r.get("e999")]
    e999_with_findings = [r for r in e999 if r["findings"]]
    for record in records:
        for line, column, code, message in record["findings"]:
            per_code[code] += 1
            if code == "BPL900":
                bpl900[bpl900_kind(message)].append((record["path"], message))
    lines = sum(r["lines"] for r in records)
    cpu = sum(r["seconds"] for r in records)

    mode = "screen off: full analysis" if full else "as flake8 runs it"
    show(f"backprop-lint crash sweep ({mode})")
    for folder in folders:
        show(f"  {folder}")
    show(f"files                 {len(records):>10,}")
    show(f"lines                 {lines:>10,}")
    show(f"wall time             {elapsed:>10.1f} s   (analysis time, summed: {cpu:.1f} s)")
    show(f"E999 (CPython refuses){len(e999):>10,}   (flake8 runs no plugin on them)")
    show()
    show("findings per code")
    for code in sorted(per_code):
        files = sum(1 for r in records if any(f[2] == code for f in r["findings"]))
        show(f"  {code:<8}{per_code[code]:>10,}   in {files:,} files")
    if not per_code:
        show("  (none)")
    show()
    show("BPL900 by reason")
    for kind in ("internal error", "libcst parse", "other"):
        show(f"  {kind:<16}{len(bpl900.get(kind, [])):>6}")
        for path, message in bpl900.get(kind, [])[:40]:
            show(f"      {path}: {message[:200]}")
        if len(bpl900.get(kind, [])) > 40:
            show(f"      ... and {len(bpl900[kind]) - 40} more")
    show()
    show(f"exceptions            {len(exceptions):>6}")
    for record in exceptions[:20]:
        show(f"  {record['path']}: {record['exception'].splitlines()[0][:300]}")
    timeouts = [r for r in lost if r["lost"] == "timeout"]
    dead = [r for r in lost if r["lost"] == "dead"]
    show(f"timeouts              {len(timeouts):>6}")
    for record in timeouts:
        show(f"  {record['path']} ({record['lines']:,} lines): {record['why']}")
    show(f"dead workers          {len(dead):>6}")
    for record in dead:
        show(f"  {record['path']} ({record['lines']:,} lines): {record['why']}")
    mismatched = [r for r in records if r.get("screen_mismatch") is not None]
    if mismatched:
        show(f"screen on and off differ (must not): {len(mismatched)}")
        for record in mismatched[:20]:
            on = [f[2] for f in record["findings"]]
            off = [f[2] for f in record["screen_mismatch"]]
            show(f"  {record['path']}: screen on {on}, off {off}")
    if e999_with_findings:
        show(f"findings on files CPython refuses (must be none): {len(e999_with_findings)}")
        for record in e999_with_findings[:20]:
            show(f"  {record['path']}: {record['findings'][0][2]} {record['findings'][0][3][:120]}")
    show()
    show(f"slowest {slowest} files")
    for record in sorted(records, key=lambda r: -r["seconds"])[:slowest]:
        show(f"  {record['seconds']:>8.2f} s {record['lines']:>8,} lines  {record['path']}")
    bad = (len(bpl900.get("internal error", [])) + len(exceptions) + len(lost)
           + len(e999_with_findings) + len(mismatched))
    show()
    show("result: " + ("FAIL" if bad else "ok") + f" ({bad} internal errors, exceptions, "
         "timeouts, dead workers, findings on refused files or screen differences)")
    return 1 if bad else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path,
                        help="folders of Python files (default: " +
                        " and ".join(str(f) for f in DEFAULT_FOLDERS) + ")")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds one file may take (default 300)")
    parser.add_argument("--full", action="store_true",
                        help="screen off: the full analysis on every file")
    parser.add_argument("--check-screen", action="store_true",
                        help="also analyse each file with the screen off and report any "
                        "difference (slow: the full analysis on every file)")
    parser.add_argument("--make-into", type=Path, default=None,
                        help="where make-corpus.sh lays out a missing default corpus "
                        "(default: a temporary folder)")
    parser.add_argument("--slowest", type=int, default=15, help="how many slowest files to list")
    parser.add_argument("--limit", type=int, default=None, help="only the first N files")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write every file's record (JSON lines) here")
    args = parser.parse_args(argv)

    folders = resolve_folders(args.folders, args.make_into)
    paths = python_files(folders)
    if args.limit is not None:
        paths = paths[: args.limit]
    if not paths:
        print("sweep.py: no Python files found", file=sys.stderr)
        return 2
    print(f"sweeping {len(paths):,} files with {args.jobs} workers ...", file=sys.stderr,
          flush=True)
    started = time.monotonic()
    records = []
    sink = args.json.open("w", encoding="utf-8") if args.json else None
    try:
        for record in sweep(paths, args.jobs, args.timeout, args.full,
                            check_screen=args.check_screen):
            records.append(record)
            if sink:
                sink.write(json.dumps(record) + "\n")
    finally:
        if sink:
            sink.close()
    return report(records, folders, time.monotonic() - started, args.slowest, args.full)


if __name__ == "__main__":
    sys.exit(main())
