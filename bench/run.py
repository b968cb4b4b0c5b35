#!/usr/bin/env python3
"""The speed benchmark of issue 5: backprop-lint against the parser's floor and flake8.

    python3 bench/run.py [--corpus DIR] [--runs N] [--quick] [--jobs N] [--cache DIR]

Lays out the corpus with ``bench/make-corpus.sh DIR`` (PyTorch's pure-Python sources
in DIR/torch, CPython's standard library in DIR/stdlib), then prints one Markdown table, every
figure from this one invocation, with the machine, the date and the targets of the issue:

* ``ast.parse`` of every file in a ``multiprocessing.Pool`` of ``--jobs`` processes: the floor
  (reading the bytes and decoding them included, as the tools have to);
* flake8 without the plugin versus flake8 with it: the same flake8 release in two virtual
  environments under the cache folder, the project installed only in the second, so the
  plugin cannot load in the first; same ``-j``, default ``--select``, and
  ``--extend-select=BPL`` in the second;
* ``backprop-lint -j N`` cold (``XDG_CACHE_HOME`` pointed at a new empty folder), warm (the
  same command again, same cache) and after touching one file;
* scaling: backprop-lint cold on every 10th file, every 2nd file and all of them.

Every measurement is the wall time of one child process started from here (interpreter
start-up and imports included), the median of ``--runs`` runs (default 3; ``--quick``: one
run). Memory: the largest resident set of any one process of the child's tree (exact, from
``wait4``) and the sum over the tree's processes of their proportional set size (PSS,
sampled every 0.1 s, so shared copy-on-write pages count once).

Virtual environments are created on the first run (pip takes a minute) and reused while the
Python, the flake8 release and the project's sources (``src/``, ``setup.cfg``,
``pyproject.toml``) stay the same; the project is installed from a copy of this checkout,
so nothing is built inside the repository. Nothing in the corpus is ever written: the
backprop-lint runs work in a hard-linked copy of it, and "touching" a file replaces that
copy's link with a new file.

A benchmark, not a test: it passes or fails nothing, it reports.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKE_CORPUS = os.path.join(REPO, "bench", "make-corpus.sh")  # lays out torch/ and stdlib/
CORPORA = ("torch", "stdlib")
# The folders and files flake8 and backprop-lint skip by default, either of them: the file
# list below leaves them out, so that every tool sees exactly the same files.
SKIPPED_PARTS = {".svn", "CVS", ".bzr", ".hg", ".git", "__pycache__", ".tox", ".nox", ".eggs",
                 "build", "dist", ".mypy_cache", ".pytest_cache", "node_modules"}
SKIPPED_SUFFIXES = (".egg", ".egg-info")
# What the issue asks for (ratios measured on the PyTorch corpus, in one run).
TARGETS = {
    "plugin": 1.10,     # flake8 with the plugin / flake8 without it
    "cold": 3.0,        # backprop-lint cold / ast.parse floor
    "warm": 0.3,        # backprop-lint warm / ast.parse floor
    "rss": 1 << 30,     # peak memory of backprop-lint, bytes
    "flat": 1.3,        # time per line, largest / smallest of 10 %, 50 %, 100 %
}
TOUCH_TEXT = b"\n# touched by bench/run.py\n"
STARTUP_FILE = "bench_startup_probe.py"  # written into the linked copy, never into the corpus

FLOOR_SCRIPT = r"""
import ast, multiprocessing, sys, warnings

def parse(path):
    warnings.simplefilter("ignore")  # SyntaxWarnings of invalid escapes, in the stdlib's tests
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        ast.parse(data, path)  # bytes: decoded as Python does (BOM, coding cookie, UTF-8)
        return 0
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 1

if __name__ == "__main__":
    jobs, listing = int(sys.argv[1]), sys.argv[2]
    with open(listing, encoding="utf-8") as handle:
        paths = handle.read().splitlines()
    with multiprocessing.Pool(jobs) as pool:
        failed = sum(pool.imap_unordered(parse, paths, chunksize=4))
    print(f"{len(paths)} files, {failed} not parsed")
"""


# -- small helpers ---------------------------------------------------------------------------
def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "backprop-lint-bench")


def default_corpus(cache: str) -> str:
    """The corpus beside the checkout (../corpus) if it is there, else one in the cache."""
    beside = os.path.join(os.path.dirname(REPO), "corpus")
    if any(os.path.isdir(os.path.join(beside, name)) for name in CORPORA):
        return beside
    return os.path.join(cache, "corpus")


def run_quiet(command: Sequence[str], **keywords) -> str:
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          **keywords)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed:\n{done.stdout[-3000:]}")
    return done.stdout


def count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def fmt_time(seconds: Optional[float]) -> str:
    if seconds is None:
        return "failed"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def fmt_mb(size: Optional[float]) -> str:
    return "-" if size is None else f"{size / 2**20:,.0f} MB"


def fmt_rate(lines: int, seconds: Optional[float]) -> str:
    if not seconds:
        return "-"
    rate = lines / seconds
    return f"{rate / 1e6:.2f} M" if rate >= 1e6 else f"{rate / 1e3:,.0f} k"


def fmt_ratio(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}x"


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


# -- the corpus ------------------------------------------------------------------------------
def skipped(relative: str) -> bool:
    parts = relative.split(os.sep)
    return any(p in SKIPPED_PARTS or p.endswith(SKIPPED_SUFFIXES) for p in parts[:-1])


def list_files(root: str) -> List[Tuple[str, int]]:
    """(path relative to root, lines) of every *.py file, sorted by path."""
    found = []
    for folder, dirs, files in os.walk(root):
        if os.path.exists(os.path.join(folder, "pyvenv.cfg")):
            dirs[:] = []
            continue
        for name in files:
            if name.endswith(".py"):
                relative = os.path.relpath(os.path.join(folder, name), root)
                if not skipped(relative):
                    with open(os.path.join(root, relative), "rb") as handle:
                        found.append((relative, count_lines(handle.read())))
    return sorted(found)


def link_tree(source: str, target: str, files: Sequence[str]) -> None:
    """A copy of ``files`` under ``target`` made of hard links (plain copies across devices)."""
    for relative in files:
        destination = os.path.join(target, relative)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        try:
            os.link(os.path.join(source, relative), destination)
        except OSError:
            shutil.copy2(os.path.join(source, relative), destination)


def replace_file(path: str, data: bytes) -> None:
    """A new file at ``path``: the old link is removed first, so the corpus file it may share
    an inode with is never written."""
    os.unlink(path)
    with open(path, "xb") as handle:
        handle.write(data)


# -- virtual environments --------------------------------------------------------------------
def source_hash() -> str:
    digest = hashlib.sha256()
    paths = []
    for name in ("setup.cfg", "pyproject.toml", "setup.py"):
        if os.path.isfile(os.path.join(REPO, name)):
            paths.append(name)
    for folder, dirs, files in os.walk(os.path.join(REPO, "src")):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.endswith(".egg-info"))
        paths.extend(os.path.relpath(os.path.join(folder, f), REPO) for f in files
                     if not f.endswith((".pyc", ".pyo")))
    for relative in sorted(paths):
        digest.update(relative.encode() + b"\0")
        with open(os.path.join(REPO, relative), "rb") as handle:
            digest.update(handle.read() + b"\0")
    return digest.hexdigest()[:16]


def copy_project(target: str) -> str:
    """The checkout's working tree (uncommitted changes included), without build output."""
    ignored = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                     ".venv*", ".pytest_cache", ".hypothesis", "bench", "fixtures",
                                     "tests")
    destination = os.path.join(target, "project")
    shutil.copytree(REPO, destination, ignore=ignored, symlinks=True)
    return destination


def venv_python(venv: str) -> str:
    return os.path.join(venv, "bin", "python")


def installed_version(venv: str, package: str) -> Optional[str]:
    if not os.path.exists(venv_python(venv)):
        return None
    done = subprocess.run(
        [venv_python(venv), "-c",
         "import importlib.metadata as m, sys\n"
         "try: print(m.version(sys.argv[1]))\n"
         "except m.PackageNotFoundError: pass", package],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return done.stdout.strip() or None


def read_stamp(venv: str) -> dict:
    try:
        with open(os.path.join(venv, "bench-stamp.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def write_stamp(venv: str, stamp: dict) -> None:
    with open(os.path.join(venv, "bench-stamp.json"), "w", encoding="utf-8") as handle:
        json.dump(stamp, handle)


def pip(venv: str, *arguments: str) -> None:
    run_quiet([venv_python(venv), "-m", "pip", "install", "--disable-pip-version-check", "-q",
               *arguments])


def prepare_venvs(cache: str) -> Tuple[str, str]:
    """``venv-flake8`` (flake8 alone) and ``venv-plugin`` (the same flake8 and this project)."""
    bare, plugin = os.path.join(cache, "venv-flake8"), os.path.join(cache, "venv-plugin")
    python = sys.version.split()[0]
    try:
        import importlib.metadata as metadata
        wanted_flake8: Optional[str] = metadata.version("flake8")
    except Exception:  # not installed here: whatever the project's requirement gives
        wanted_flake8 = None
    project = source_hash()

    stamp = read_stamp(plugin)
    if stamp.get("python") != python or (wanted_flake8 and stamp.get("flake8") != wanted_flake8):
        log("creating venv-plugin (flake8 and the project; pip may take a minute)")
        shutil.rmtree(plugin, ignore_errors=True)
        run_quiet([sys.executable, "-m", "venv", plugin])
        with tempfile.TemporaryDirectory(dir=cache) as work:
            pip(plugin, *([f"flake8=={wanted_flake8}"] if wanted_flake8 else []),
                copy_project(work))
        stamp = {}
    elif stamp.get("project") != project:
        log("the project's sources changed: reinstalling it in venv-plugin")
        with tempfile.TemporaryDirectory(dir=cache) as work:
            copy = copy_project(work)
            pip(plugin, "--no-deps", "--force-reinstall", copy)
            if subprocess.run([venv_python(plugin), "-m", "pip", "check"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
                pip(plugin, copy)  # its requirements changed
    flake8 = installed_version(plugin, "flake8")
    write_stamp(plugin, {"python": python, "flake8": flake8, "project": project})

    stamp = read_stamp(bare)
    if (stamp.get("python") != python or stamp.get("flake8") != flake8
            or installed_version(bare, "flake8") != flake8):
        log(f"creating venv-flake8 (flake8 {flake8} alone)")
        shutil.rmtree(bare, ignore_errors=True)
        run_quiet([sys.executable, "-m", "venv", bare])
        pip(bare, f"flake8=={flake8}")
    write_stamp(bare, {"python": python, "flake8": flake8})

    # the plugin must load in one and only one of them
    for venv, expected in ((bare, False), (plugin, True)):
        shown = run_quiet([os.path.join(venv, "bin", "flake8"), "--version"])
        if ("backprop" in shown.lower() or "BPL" in shown) != expected:
            sys.exit(f"bench: {venv}: flake8 --version shows unexpected plugins:\n{shown}")
    return bare, plugin


# -- measuring one child process -------------------------------------------------------------
def _children(pid: int) -> List[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(c) for c in handle.read().split())
    except (OSError, ValueError):
        pass
    return found


def _pss(pid: int) -> int:
    """Proportional set size in bytes (resident size where smaps_rollup is missing)."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            with open(f"/proc/{pid}/{name}") as handle:
                for line in handle:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return 0


class TreeSampler(threading.Thread):
    """The largest sum of PSS over a process and its descendants, polled every 0.1 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pids, total = [self.pid], 0
            while pids:
                pid = pids.pop()
                total += _pss(pid)
                pids.extend(_children(pid))
            self.peak = max(self.peak, total)
            self.done.wait(0.1)


class Measure:
    def __init__(self, seconds: Optional[float], max_rss: Optional[int], tree_pss: Optional[int],
                 output: str = "", note: str = "", cpu: Optional[float] = None):
        self.seconds, self.max_rss, self.tree_pss = seconds, max_rss, tree_pss
        self.output, self.note = output, note
        self.cpu = cpu  # user + system time of the child and the descendants it waited for


def measure(command: Sequence[str], cwd: str, env: Optional[Dict[str, str]] = None,
            ok_codes: Sequence[int] = (0,)) -> Measure:
    """Wall time, the largest RSS of any process of the tree and the peak PSS of the tree."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err)
        sampler = TreeSampler(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    max_rss = usage.ru_maxrss * 1024  # kB on Linux; the child and its reaped descendants
    if child.returncode not in ok_codes or "Traceback (most recent call last)" in stderr:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        log(f"FAILED (exit {child.returncode}): {' '.join(command[:3])} ...\n{tail}")
        return Measure(None, max_rss, sampler.peak, stdout,
                       f"exit {child.returncode}: {tail.splitlines()[-1] if tail else ''}")
    said = stderr.strip().splitlines()
    note = f"{len(said)} lines on stderr, the first: {said[0][:160]}" if said else ""
    return Measure(seconds, max_rss, sampler.peak, stdout, note, usage.ru_utime + usage.ru_stime)


def median_of(measures: Sequence[Measure]) -> Measure:
    ok = [m for m in measures if m.seconds is not None]
    if not ok:
        return Measure(None, None, None, "", measures[0].note if measures else "")
    cpu = [m.cpu for m in ok if m.cpu is not None]
    return Measure(statistics.median(m.seconds for m in ok),
                   max(m.max_rss or 0 for m in measures), max(m.tree_pss or 0 for m in measures),
                   ok[-1].output, ok[-1].note, statistics.median(cpu) if cpu else None)


# -- the benchmark ---------------------------------------------------------------------------
def count_results(output: str, prefix: str) -> int:
    return sum(1 for line in output.splitlines() if f": {prefix}" in line)


def backprop_lint_flags(plugin: str) -> List[str]:
    """Cache options the command has, if any (the cache folder is also set by XDG_CACHE_HOME)."""
    shown = run_quiet([os.path.join(plugin, "bin", "backprop-lint"), "--help"])
    return ["--cache-dir"] if "--cache-dir" in shown else []


def bench_corpus(name: str, root: str, files: List[Tuple[str, int]], work: str, bare: str,
                 plugin: str, runs: int, jobs: int) -> dict:
    paths = [p for p, _ in files]
    lines = sum(n for _, n in files)
    listing = os.path.join(work, f"{name}-files.txt")
    with open(listing, "w", encoding="utf-8") as handle:
        handle.write("\n".join(paths) + "\n")
    for path in paths:  # page cache: the first measurement should not pay for the disk
        with open(os.path.join(root, path), "rb") as handle:
            handle.read()

    tree = os.path.join(work, f"{name}-tree")
    link_tree(root, tree, paths)
    with open(os.path.join(tree, STARTUP_FILE), "x", encoding="utf-8") as handle:
        handle.write("def f():\n    return f()\n")
    touched = paths[len(paths) // 2]
    original = open(os.path.join(root, touched), "rb").read()
    samples = {10: paths[::10], 50: paths[::2]}
    sample_lines = {10: sum(n for _, n in files[::10]), 50: sum(n for _, n in files[::2]),
                    100: lines}

    bpl = os.path.join(plugin, "bin", "backprop-lint")
    cache_flag = backprop_lint_flags(plugin)

    def bpl_run(cache_home: str, selection: Sequence[str]) -> Measure:
        env = dict(os.environ, XDG_CACHE_HOME=cache_home)
        extra = [cache_flag[0], os.path.join(cache_home, "backprop-lint")] if cache_flag else []
        return measure([bpl, f"-j{jobs}", "--isolated", "--exit-zero", *extra, *selection],
                       tree, env, ok_codes=(0, 2))

    def fresh_cache() -> str:
        return tempfile.mkdtemp(prefix="xdg-", dir=work)

    def entries(cache_home: str) -> int:
        return sum(len(f) for _, _, f in os.walk(cache_home))

    got: Dict[str, List[Measure]] = {k: [] for k in (
        "floor", "bare", "plugin", "cold", "warm", "touched", "s10", "s50", "startup")}
    cache_entries = []
    for run in range(runs):
        log(f"{name}: run {run + 1} of {runs}: ast.parse floor")
        got["floor"].append(measure([venv_python(bare), "-c", FLOOR_SCRIPT, str(jobs), listing],
                                    root))
        flake8_runs = {
            "bare": ("without", [os.path.join(bare, "bin", "flake8"), f"-j{jobs}", "--isolated", *paths]),
            "plugin": ("with", [os.path.join(plugin, "bin", "flake8"), f"-j{jobs}", "--isolated",
                                "--extend-select=BPL", *paths]),
        }
        # the order alternates from run to run: a machine that speeds up or slows down
        # during a run favours neither side of the ratio
        for kind in ("bare", "plugin") if run % 2 == 0 else ("plugin", "bare"):
            how, command = flake8_runs[kind]
            log(f"{name}: flake8 {how} the plugin")
            got[kind].append(measure(command, root, ok_codes=(0, 1)))
        replace_file(os.path.join(tree, touched), original)  # undo the last run's touch
        cache_home = fresh_cache()
        log(f"{name}: backprop-lint cold")
        got["cold"].append(bpl_run(cache_home, paths))
        cache_entries.append(entries(cache_home))
        log(f"{name}: backprop-lint warm")
        got["warm"].append(bpl_run(cache_home, paths))
        replace_file(os.path.join(tree, touched), original + TOUCH_TEXT)
        log(f"{name}: backprop-lint after touching {touched}")
        got["touched"].append(bpl_run(cache_home, paths))
        shutil.rmtree(cache_home, ignore_errors=True)
        for percent in (10, 50):
            cache_home = fresh_cache()
            log(f"{name}: backprop-lint cold on {percent} % of the files")
            got[f"s{percent}"].append(bpl_run(cache_home, samples[percent]))
            shutil.rmtree(cache_home, ignore_errors=True)
        cache_home = fresh_cache()
        log(f"{name}: backprop-lint on one two-line file (its fixed cost)")
        got["startup"].append(bpl_run(cache_home, [STARTUP_FILE]))
        shutil.rmtree(cache_home, ignore_errors=True)
    replace_file(os.path.join(tree, touched), original)

    result = {k: median_of(v) for k, v in got.items()}
    result["s100"] = result["cold"]  # the same command on every file: the cold run above
    return {
        "files": len(paths), "lines": lines, "m": result, "all": got,
        "touched": touched, "touched_lines": count_lines(original),
        "sample_lines": sample_lines, "sample_files": {10: len(samples[10]),
                                                       50: len(samples[50]), 100: len(paths)},
        "cache_entries": max(cache_entries) if cache_entries else 0,
        "findings_plugin": count_results(result["plugin"].output, "BPL"),
        "findings_bare": count_results(result["bare"].output, "BPL"),
        "findings_command": count_results(result["cold"].output, "BPL"),
    }


# -- the report ------------------------------------------------------------------------------
def load() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def checkout() -> str:
    """The commit of the checkout, and whether the installed sources differ from it."""
    try:
        commit = run_quiet(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).strip()
        dirty = run_quiet(["git", "-C", REPO, "status", "--porcelain", "--", "src", "setup.cfg",
                           "pyproject.toml"]).strip()
        return commit + (" + uncommitted changes" if dirty else "")
    except SystemExit:
        return "unknown"


def machine(bare: str, plugin: str, jobs: int, load_before: str, commit: str) -> List[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    versions = ", ".join(f"{p} {installed_version(plugin, p)}"
                         for p in ("flake8", "pyflakes", "pycodestyle", "libcst", "networkx",
                                   "backprop-lint"))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"Machine: {cpu}, {cores} cores ({usable} usable), "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"Versions: {versions} (checkout {commit}); {jobs} processes everywhere",
        f"Date: {now}; load average (1, 5, 15 min) before: {load_before}, after: {load()} "
        f"(other work on the machine slows every figure; the ratios, from the same run, less)",
    ]


def verdict(value: Optional[float], target: float, below: bool = False) -> str:
    if value is None:
        return "not measured"
    met = value < target if below else value <= target
    return "met" if met else "**NOT met**"


def table(results: Dict[str, dict], jobs: int, runs: int, quick: bool) -> List[str]:
    names = [n for n in CORPORA if n in results]
    head = "| measurement | " + " | ".join(
        f"{n}: time | {n}: peak RSS, 1 process / all (PSS) | {n}: lines/s" for n in names
    ) + " | target (on torch) | |"
    rows = [head, "|" + "---|" * (3 * len(names) + 3)]

    def row(label: str, cells: Sequence[Tuple[str, str, str]], target: str = "",
            met: str = "") -> None:
        rows.append(f"| {label} | " + " | ".join(" | ".join(c) for c in cells)
                    + f" | {target} | {met} |")

    def timed(key: str, with_rate: bool = True) -> List[Tuple[str, str, str]]:
        out = []
        for n in names:
            m = results[n]["m"][key]
            out.append((fmt_time(m.seconds), f"{fmt_mb(m.max_rss)} / {fmt_mb(m.tree_pss)}",
                        fmt_rate(results[n]["lines"], m.seconds) if with_rate else ""))
        return out

    def ratio_cells(a: str, b: str, of: str = "seconds") -> Tuple[List[Tuple[str, str, str]], Dict[str, float]]:
        values = {n: ratio(getattr(results[n]["m"][a], of), getattr(results[n]["m"][b], of)) for n in names}
        return [(fmt_ratio(values[n]), "", "") for n in names], values

    row("files / lines", [(f"{results[n]['files']:,} files", f"{results[n]['lines']:,} lines", "")
                          for n in names])
    row(f"`ast.parse`, Pool({jobs}), read + decode included (floor)", timed("floor"))
    row(f"flake8 -j{jobs}, without the plugin", timed("bare"))
    row(f"flake8 -j{jobs} --extend-select=BPL, with the plugin", timed("plugin"))
    cells, values = ratio_cells("plugin", "bare")
    row("ratio flake8 with / without", cells, f"<= {TARGETS['plugin']:.2f}x",
        verdict(values.get("torch"), TARGETS["plugin"]))
    # beside the wall clock: waiting for a core does not count in CPU time (on a shared
    # machine it still moves from run to run)
    cells, _ = ratio_cells("plugin", "bare", of="cpu")
    row("(the same, in CPU time: user + system of all processes)", cells, "", "")
    row(f"backprop-lint -j{jobs} cold (empty cache)", timed("cold"))
    cells, values = ratio_cells("cold", "floor")
    row("ratio cold / floor", cells, f"<= {TARGETS['cold']:.0f}x",
        verdict(values.get("torch"), TARGETS["cold"]))
    row("backprop-lint warm (same command again)", timed("warm"))
    cells, values = ratio_cells("warm", "floor")
    row("ratio warm / floor", cells, f"<= {TARGETS['warm']:.1f}x",
        verdict(values.get("torch"), TARGETS["warm"]))
    cells, values = ratio_cells("warm", "cold")
    row("ratio warm / cold", cells, f"(if read as of cold: <= {TARGETS['warm']:.1f}x)",
        verdict(values.get("torch"), TARGETS["warm"]))
    row("backprop-lint after touching one file", timed("touched"))
    peak = {n: max(results[n]["m"][k].tree_pss or 0 for k in ("cold", "warm", "touched"))
            for n in names}
    row("peak memory of backprop-lint (all processes, PSS)",
        [(fmt_mb(peak[n]), "", "") for n in names], "< 1 GB",
        verdict(peak.get("torch"), TARGETS["rss"], below=True) if "torch" in peak else "")
    per_line = {}
    for percent in (10, 50, 100):
        cells = []
        for n in names:
            m = results[n]["m"][f"s{percent}"]
            sample = results[n]["sample_lines"][percent]
            value = m.seconds / sample * 1e5 if m.seconds is not None and sample else None
            per_line.setdefault(n, []).append(value)
            cells.append((f"{fmt_time(value)} per 100k lines" if value is not None else "failed",
                          f"{results[n]['sample_files'][percent]:,} files, {sample:,} lines",
                          fmt_rate(sample, m.seconds)))
        which = {10: "every 10th file", 50: "every 2nd file", 100: "all files (= cold above)"}
        row(f"scaling, cold on {percent} % ({which[percent]})", cells)
    row("fixed cost: backprop-lint on one two-line file", timed("startup", with_rate=False))
    # "no superlinear step": how much the time per line grows from a smaller run to a larger
    # one (a short run is slower per line, paying the start-up: that is not a step)
    growth, spread = {}, {}
    for n in names:
        values = per_line[n]
        pairs = [(values[i], values[j]) for i in range(3) for j in range(i + 1, 3)
                 if values[i] is not None and values[j] is not None]
        growth[n] = max(later / earlier for earlier, later in pairs) if pairs else None
        known = [v for v in values if v is not None]
        spread[n] = max(known) / min(known) if len(known) > 1 else None
    row("per-line time, largest growth from a smaller run to a larger (10 -> 50 -> 100 %)",
        [(fmt_ratio(growth[n]), f"slowest / fastest: {fmt_ratio(spread[n])}", "") for n in names],
        f"<= {TARGETS['flat']:.1f}x", verdict(growth.get("torch"), TARGETS["flat"]))
    kind = "--quick: 1 run" if quick else f"median of {runs} runs"
    return [f"Times: {kind}, wall clock of the whole child process (start-up included); "
            f"memory: the largest over the runs.", ""] + rows


def notes(results: Dict[str, dict], runs: int) -> List[str]:
    out = []
    for name in CORPORA:
        if name not in results:
            continue
        r = results[name]
        m = r["m"]
        out.append(f"- {name}: touched file `{r['touched']}` ({r['touched_lines']:,} lines): the "
                   f"hard-linked copy's link was replaced by a new file with a comment line "
                   f"appended, then the warm cache was used; the corpus itself is never written.")
        out.append(f"- {name}: the cold run left {r['cache_entries']:,} entries in its empty "
                   f"cache folder" + (" - the command wrote no cache, so warm re-does all the work"
                                      if r["cache_entries"] == 0 else "") + ".")
        out.append(f"- {name}: BPL results: flake8 with the plugin {r['findings_plugin']:,}, "
                   f"without {r['findings_bare']:,}; backprop-lint {r['findings_command']:,} "
                   f"(project mode also sees cycles across files).")
        for key, label in (("floor", "ast.parse"), ("bare", "flake8 without"),
                           ("plugin", "flake8 with"), ("cold", "cold"), ("warm", "warm"),
                           ("touched", "touched")):
            if m[key].note:
                out.append(f"- {name}: {label}: {m[key].note}")
        if runs > 1:
            def every_run(keys: Sequence[str], of: str) -> str:
                return "; ".join(f"{k} " + ", ".join(fmt_time(getattr(x, of)) for x in r["all"][k])
                                 for k in keys)

            spread = every_run(("floor", "bare", "plugin", "cold", "warm", "touched", "s10", "s50",
                                "startup"), "seconds")
            out.append(f"- {name}: every run: {spread}")
            cpu = every_run(("floor", "bare", "plugin", "cold"), "cpu")
            out.append(f"- {name}: CPU time (user + system) of every run: {cpu}")
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark backprop-lint against ast.parse and flake8 on PyTorch and the "
                    "standard library (issue 5); prints one Markdown table.")
    parser.add_argument("--corpus", metavar="DIR",
                        help="where make-corpus.sh lays out torch/ and stdlib/ (default: "
                             "../corpus beside the checkout if it exists, else a folder in "
                             "the cache)")
    parser.add_argument("--runs", type=int, default=3, metavar="N",
                        help="runs per measurement; the table shows medians (default: 3)")
    parser.add_argument("--quick", action="store_true", help="one run of everything")
    parser.add_argument("--jobs", "-j", type=int, default=2, metavar="N",
                        help="processes for every tool (default: 2)")
    parser.add_argument("--cache", metavar="DIR", default=default_cache(),
                        help="the benchmark's own folder: virtual environments, scratch "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(1, args.runs)
    cache = os.path.abspath(args.cache)
    corpus = os.path.abspath(args.corpus or default_corpus(cache))
    os.makedirs(cache, exist_ok=True)
    load_before = load()

    log(f"laying out the corpus in {corpus}")
    sys.stderr.write(run_quiet(["bash", MAKE_CORPUS, corpus]))
    bare, plugin = prepare_venvs(cache)
    commit, installed = checkout(), source_hash()  # what venv-plugin now holds

    results: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="work-", dir=cache) as work:
        # warm the interpreters' and the packages' files before anything is timed
        empty = os.path.join(work, "empty")
        os.makedirs(empty)
        with open(os.path.join(empty, "m.py"), "w") as handle:
            handle.write("def f():\n    return f()\n")
        measure([os.path.join(bare, "bin", "flake8"), "m.py"], empty, ok_codes=(0, 1))
        measure([os.path.join(plugin, "bin", "flake8"), "m.py"], empty, ok_codes=(0, 1))
        measure([os.path.join(plugin, "bin", "backprop-lint"), "--isolated", "m.py"], empty,
                dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "xdg-warmup")),
                ok_codes=(0, 1))
        for name in CORPORA:
            root = os.path.join(corpus, name)
            if not os.path.isdir(root):
                log(f"{root} is missing: {name} is left out")
                continue
            files = list_files(root)
            log(f"{name}: {len(files):,} files, {sum(n for _, n in files):,} lines")
            results[name] = bench_corpus(name, root, files, work, bare, plugin, runs, args.jobs)

    if source_hash() != installed:
        commit += " (the sources changed while the benchmark ran: measured is this state)"
    lines = machine(bare, plugin, args.jobs, load_before, commit) + [""]
    lines += table(results, args.jobs, runs, args.quick)
    lines += ["", "Notes:"] + notes(results, runs)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
