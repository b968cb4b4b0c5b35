"""The pre-commit hook (``.pre-commit-hooks.yaml``), installed by the real ``pre-commit``
from this checkout with ``pre-commit try-repo``, in a temporary git repository.

``try-repo`` installs a hook repository's committed ``HEAD`` (plus changes to tracked
files, but never untracked ones), so the checkout under test - committed or not - is
copied into a temporary repository and committed there first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from conftest import ROOT
from test_cli import FINE, SPIN

pytest.importorskip("pre_commit")
if shutil.which("git") is None:  # pragma: no cover
    pytest.skip("git is not installed", allow_module_level=True)

TIMEOUT = 600  # the first run builds the hook's virtualenv (pip install of this checkout)


def _env(home: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the hook must run what pre-commit installed
    env.update({
        "PRE_COMMIT_HOME": str(home),  # a fresh cache: no stale install, nothing left behind
        "PRE_COMMIT_COLOR": "never",
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
    })
    return env


def _git(cwd: Path, env: Dict[str, str], *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=str(cwd), env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.egg-info", "build",
                                     "dist", ".hypothesis", ".pytest_cache", ".benchmarks")


def _copy_checkout(target: Path, env: Dict[str, str]) -> None:
    """The working tree's files, tracked and untracked, without what git ignores."""
    if not (ROOT / ".git").exists():  # an unpacked source tree
        shutil.copytree(ROOT, target, ignore=_NOT_SOURCE, symlinks=True)
        return
    listed = _git(ROOT, env, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    target.mkdir()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def _snapshot_of_checkout(target: Path, env: Dict[str, str]) -> Path:
    """This checkout's working tree, committed as a new repository."""
    _copy_checkout(target, env)
    assert (target / ".pre-commit-hooks.yaml").is_file()
    _git(target, env, "init", "-q")
    _git(target, env, "add", "-A")
    _git(target, env, "commit", "-q", "--no-verify", "-m", "checkout under test")
    return target


def _try_repo(project: Path, hook_repo: Path, env: Dict[str, str]):
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "backprop-lint",
         "--all-files"],
        cwd=str(project), env=env, capture_output=True, text=True, timeout=TIMEOUT)


def test_hook_fails_on_a_bad_file_and_passes_on_a_good_one(tmp_path) -> None:
    env = _env(tmp_path / "pre-commit-home")
    hook_repo = _snapshot_of_checkout(tmp_path / "hook-repo", env)
    project = tmp_path / "project"
    project.mkdir()
    _git(project, env, "init", "-q")
    (project / "good.py").write_text(FINE)
    (project / "bad.py").write_text(SPIN)
    (project / "notes.txt").write_text(SPIN)  # not Python: the hook never sees it
    _git(project, env, "add", "-A")

    failing = _try_repo(project, hook_repo, env)
    output = failing.stdout + failing.stderr
    assert failing.returncode == 1, output
    assert "bad.py:1:1: BPL101 infinite recursion" in output, output
    assert "good.py" not in output.replace("bad.py", "") and "notes.txt" not in output, output

    _git(project, env, "rm", "-q", "-f", "bad.py")
    passing = _try_repo(project, hook_repo, env)
    output = passing.stdout + passing.stderr
    assert passing.returncode == 0, output
    assert "backprop-lint" in output and "Passed" in output, output
