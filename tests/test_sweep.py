"""The crash sweep (bench/sweep.py): the analysis over real code - PyTorch's pure-Python part
and CPython's standard library - with no internal error, exception, timeout or dead worker.

The sweep takes many minutes: it runs only with BPL_SLOW=1 and a corpus laid out by
bench/make-corpus.sh (at /work/corpus, or at $BPL_CORPUS). pytest loads only
conftest.py for options, which another file owns, so the switch is the environment
variable rather than a --runslow option. A quick smoke test of the script runs always.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "bench" / "sweep.py"
CORPUS_ROOT = Path(os.environ.get("BPL_CORPUS", "/work/corpus"))
CORPUS = [CORPUS_ROOT / "torch", CORPUS_ROOT / "stdlib"]
SLOW = os.environ.get("BPL_SLOW", "") == "1"


def run_sweep(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SWEEP), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.skipif(not SLOW, reason="the corpus sweep takes many minutes: set BPL_SLOW=1")
@pytest.mark.skipif(not all(folder.is_dir() for folder in CORPUS),
                    reason=f"no corpus at {CORPUS_ROOT}: run bench/make-corpus.sh DIR "
                    "(and set BPL_CORPUS=DIR)")
def test_crash_sweep_over_the_corpus() -> None:
    result = run_sweep(*map(str, CORPUS), timeout=5400)
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-8000:] + "\n" + result.stderr[-3000:]


def test_sweep_script_smoke(tmp_path: Path) -> None:
    """The script itself: reads files as flake8 does, counts, reports, exits 0 when clean."""
    (tmp_path / "spin.py").write_text("def spin(x):\n    return spin(x)\n")
    (tmp_path / "py2.py").write_text("print 'x'\n")
    (tmp_path / "latin1.py").write_bytes(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n")
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfdef f(x):\n    return f(x)\n")
    result = run_sweep(str(tmp_path), "--jobs", "2", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "files                          4" in result.stdout, result.stdout
    assert "BPL101           2" in result.stdout, result.stdout
    assert "E999 (CPython refuses)         1" in result.stdout, result.stdout
    assert "result: ok" in result.stdout


MAKE_CORPUS = ROOT / "bench" / "make-corpus.sh"


def test_the_corpus_is_laid_out_by_a_script_in_the_repository() -> None:
    """The benchmark, the sweep and these tests need nothing outside the clone to lay out
    their corpus: they all name bench/make-corpus.sh, and nothing else."""
    assert MAKE_CORPUS.is_file() and os.access(MAKE_CORPUS, os.X_OK)
    for path in (ROOT / "bench" / "run.py", ROOT / "bench" / "sweep.py", ROOT / "bench" / "README.md"):
        text = path.read_text(encoding="utf-8")
        assert "bench/make-corpus.sh" in text or '"make-corpus.sh"' in text, path
        assert "shared/tools" not in text and '"shared"' not in text, path


def test_make_corpus_lays_out_the_standard_library(tmp_path: Path) -> None:
    """Run for real (torch/ made beforehand, so that no wheel is looked for): stdlib/ holds
    the running python3's standard library, and a second run changes nothing."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "placeholder.py").write_text("x = 1\n")
    first = subprocess.run(["bash", str(MAKE_CORPUS), str(tmp_path)], capture_output=True,
                           text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "stdlib" / "os.py").is_file()
    assert f"{tmp_path}/stdlib: " in first.stdout, first.stdout
    again = subprocess.run(["bash", str(MAKE_CORPUS), str(tmp_path)], capture_output=True,
                           text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
