#!/usr/bin/env python3
"""Longer fuzzing than CI's: the properties of tests/test_fuzz.py, with random seeds.

    python3 bench/fuzz.py OUT_DIR [--examples N | --seconds S] [--seed N] [--kinds ...]

Runs, in turn, batches of each kind of check until the budget (examples or seconds) is
spent. Nothing stops at a failure: every program that breaks a property is written to
OUT_DIR (one file per failure, the violated property in a comment at the top; the
program itself is the rest of the file, unchanged, so `analyse_source` can be run on it
again), and a summary is printed at the end. Exit status: 1 if anything failed.

Kinds:
  grammar   programs from hypothesmith.from_grammar(): the single-program properties
  node      programs from hypothesmith.from_node(): the same
  recursive small recursive programs (tests/test_fuzz.py's generator): the same
  rename    consistent renaming of a function (recursive programs)
  insert    blank and comment lines inserted (recursive programs)
  reorder   top-level functions reordered (recursive programs)
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import hypothesmith  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

import test_fuzz as props  # noqa: E402

BATCH = 25


class Budget:
    def __init__(self, examples: Optional[int], seconds: Optional[float]) -> None:
        self.examples = examples
        self.deadline = time.monotonic() + seconds if seconds else None
        self.done = 0

    def spent(self) -> bool:
        if self.examples is not None and self.done >= self.examples:
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline


class Recorder:
    """Counts examples and writes each failing program once."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.examples: Dict[str, int] = collections.Counter()
        self.failures: Dict[str, int] = collections.Counter()
        self.written: List[Path] = []
        self.seconds: Dict[str, float] = collections.Counter()

    def failed(self, kind: str, program: str, detail: str) -> None:
        self.failures[kind] += 1
        digest = hashlib.sha1(program.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        path = self.out / f"{kind}-{digest}.py"
        if path.exists():
            return
        header = "".join(f"# {line}\n" for line in detail.rstrip().splitlines()[-40:])
        path.write_text(f"# bench/fuzz.py: {kind}\n{header}# --- the program ---\n{program}",
                        encoding="utf-8", errors="surrogatepass")
        self.written.append(path)


def single(source: str) -> str:
    props.check_program(source)
    return source


def rename(case) -> str:
    source, old, new = case
    props.check_rename(source, old, new)
    return source


def insert(case) -> str:
    source, insertions = case
    props.check_insertions(source, insertions)
    return source


def reorder(case) -> str:
    source, order = case
    props.check_reorder(source, order)
    return source


def describe(kind: str, case) -> str:
    if kind == "rename":
        return f"rename {case[1]!r} -> {case[2]!r}"
    if kind == "insert":
        return f"insert after lines {case[1]!r}"
    if kind == "reorder":
        return f"reorder the movable top-level functions as {case[1]!r}"
    return ""


KINDS: Dict[str, tuple] = {
    "grammar": (hypothesmith.from_grammar(), single),
    "node": (hypothesmith.from_node(), single),
    "recursive": (props.recursive_programs(), single),
    "rename": (props.rename_cases(), rename),
    "insert": (props.insertion_cases(), insert),
    "reorder": (props.reorder_cases(), reorder),
}


def run_batch(kind: str, batch_seed: int, size: int, budget: Budget, recorder: Recorder) -> None:
    strategy, check = KINDS[kind]

    @seed(batch_seed)
    @settings(max_examples=size, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def batch(case) -> None:
        if budget.spent():
            return
        budget.done += 1
        recorder.examples[kind] += 1
        program = case if isinstance(case, str) else case[0]
        start = time.perf_counter()
        try:
            check(case)
        except Exception:  # a broken property: keep the program, go on
            detail = f"{describe(kind, case)}\n{traceback.format_exc()}"
            recorder.failed(kind, program, detail)
        finally:
            recorder.seconds[kind] += time.perf_counter() - start

    batch()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for failing programs (created)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--examples", type=int, help="stop after this many examples in all")
    group.add_argument("--seconds", type=float, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=None, help="first batch seed (default: time)")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"comma-separated, from: {', '.join(KINDS)}")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)}")
    if args.examples is None and args.seconds is None:
        args.examples = 500
    args.out.mkdir(parents=True, exist_ok=True)
    budget = Budget(args.examples, args.seconds)
    recorder = Recorder(args.out)
    first_seed = args.seed if args.seed is not None else int(time.time())
    started = time.monotonic()
    round_number = 0
    warnings.simplefilter("ignore", SyntaxWarning)
    while not budget.spent():
        for index, kind in enumerate(kinds):
            if budget.spent():
                break
            run_batch(kind, first_seed + round_number * len(kinds) + index, BATCH, budget, recorder)
        round_number += 1
    elapsed = time.monotonic() - started

    print(f"bench/fuzz.py: {budget.done} examples in {elapsed:.0f} s (first seed {first_seed})")
    print(f"{'kind':<10} {'examples':>8} {'failures':>8} {'s/example':>10}")
    for kind in kinds:
        count = recorder.examples[kind]
        per = recorder.seconds[kind] / count if count else 0.0
        print(f"{kind:<10} {count:>8} {recorder.failures[kind]:>8} {per:>10.3f}")
    if recorder.written:
        print(f"\n{len(recorder.written)} failing programs written to {args.out}:")
        for path in recorder.written:
            print(f"  {path}")
    return 1 if sum(recorder.failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
