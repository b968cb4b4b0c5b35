"""Shared test set-up: where things are, a guard against testing a stale install, and a
runner for the real ``flake8`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"

# Fixtures in syntax that older Pythons refuse (flake8 says E999 there, the command BPL900):
# name -> the first Python that parses it.
FIXTURES_NEEDING = {"recursion_match.py": (3, 10)}
FIXTURES_TOO_NEW = sorted(name for name, version in FIXTURES_NEEDING.items()
                          if sys.version_info < version)


def skip_if_too_new_for_this_python(name: str) -> None:
    """Skip a test of fixture ``name`` on a Python that cannot parse it, saying why."""
    if name in FIXTURES_TOO_NEW:
        needed = ".".join(map(str, FIXTURES_NEEDING[name]))
        pytest.skip(f"{name} uses syntax of Python {needed}+: this Python cannot parse it")


INSTALL_HINT = "run the README's test command first: python3 -m pip install -e '.[test]'"

# flake8 on big inputs takes a few seconds; anything near this is a hang.
FLAKE8_TIMEOUT = 300

# The real flake8 entry point, in a process whose recursion limit is raised. Only for
# inputs that flake8's bundled pyflakes cannot walk under the default limit of 1000
# (a `a + a + ...` chain of about 400 terms already aborts pyflakes, and with it the whole
# flake8 run); everything else runs through plain `python -m flake8`.
DEEP_FLAKE8 = (
    "import sys\n"
    "sys.setrecursionlimit(50_000)\n"
    "from flake8.main.cli import main\n"
    "sys.exit(main())\n"
)


def pytest_configure(config) -> None:
    """Refuse to test some other copy of backprop-lint than this checkout's ``src``.

    The flake8 tests load the plugin through its installed entry point: an editable
    install of another clone (CI's, say) or a stale non-editable install would be
    tested instead of this tree, and pass or fail for the wrong reasons."""
    try:
        import backprop_lint
    except ImportError as exc:
        raise pytest.UsageError(f"backprop_lint is not installed ({exc}); {INSTALL_HINT}")
    here = Path(backprop_lint.__file__).resolve().parent
    expected = (ROOT / "src" / "backprop_lint").resolve()
    if here != expected:
        raise pytest.UsageError(
            f"backprop_lint is imported from {here}, not from this checkout ({expected}); "
            f"{INSTALL_HINT}"
        )


@pytest.fixture(autouse=True, scope="session")
def private_cache_folder(tmp_path_factory) -> None:
    """The command caches results under $XDG_CACHE_HOME: keep the tests' runs (and the
    processes they start, which inherit the environment) out of the user's cache."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


Flake8Runner = Callable[..., subprocess.CompletedProcess]


def _run_flake8(*args: str, cwd: Union[str, Path], input: Optional[str] = None,
                deep: bool = False) -> subprocess.CompletedProcess:
    """Run flake8 with ``args`` in ``cwd``; stdout and stderr are captured as text."""
    if deep:
        command: Sequence[str] = [sys.executable, "-c", DEEP_FLAKE8, *args]
    else:
        command = [sys.executable, "-m", "flake8", *args]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # test what is installed, as a user's flake8 would
    return subprocess.run(
        command,
        cwd=str(cwd),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=FLAKE8_TIMEOUT,
        env=env,
    )


@pytest.fixture
def run_flake8() -> Flake8Runner:
    return _run_flake8
