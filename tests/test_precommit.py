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


@pytest.fixture(scope="module")
def hook(tmp_path_factory):
    """(the hook repository, the environment): pre-commit builds the hook's virtualenv
    once for the module's tests, in a cache of its own."""
    base = tmp_path_factory.mktemp("hook")
    env = _env(base / "pre-commit-home")
    return _snapshot_of_checkout(base / "hook-repo", env), env


def test_hook_fails_on_a_bad_file_and_passes_on_a_good_one(tmp_path, hook) -> None:
    hook_repo, env = hook
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


MANY = 2_600  # pre-commit split 2,554 file names into two runs of the hook
# pre-commit passes at most 2**17 bytes of names per run: these make about 160 kB
PACKAGE = "pkg/layers_and_their_backward_passes"


def test_hook_sees_a_cycle_between_the_first_and_the_last_of_many_files(tmp_path, hook) -> None:
    """pre-commit splits a long list of file names into several invocations, even with
    require_serial: the hook takes none (pass_filenames: false) and analyses the
    repository as one, so a cycle across the first and the last file is still found."""
    hook_repo, env = hook
    project = tmp_path / "project"
    folder = project / PACKAGE
    folder.mkdir(parents=True)
    _git(project, env, "init", "-q")
    (project / "pkg" / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    first, last = "gradient_module_0000", f"gradient_module_{MANY - 1:04d}"
    for index in range(1, MANY - 1):
        (folder / f"gradient_module_{index:04d}.py").write_text(FINE)
    (folder / f"{first}.py").write_text(
        f"from . import {last}\n\n\ndef first(grad):\n    return {last}.last(grad)\n")
    (folder / f"{last}.py").write_text(
        f"from . import {first}\n\n\ndef last(grad):\n    return {first}.first(grad)\n")
    _git(project, env, "add", "-A")
    names = _git(project, env, "ls-files").split()
    assert len(names) > 2_500 and sum(len(n) + 1 for n in names) > 2 ** 17

    result = _try_repo(project, hook_repo, env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    found = [line for line in output.splitlines() if " BPL" in line]
    assert len(found) == 1 and found[0].startswith(f"{PACKAGE}/{first}.py:4:1: BPL103 "), \
        output[-3000:]
    assert f"{PACKAGE}/{last}.py" in found[0], found[0]
