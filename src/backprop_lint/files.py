"""The command's inputs: which files to check, and their text.

Folders are walked like flake8 walks them (``*.py`` files, and ``*.ipynb`` notebooks as
ruff does; ``--exclude`` globs matched
against each entry's name and its absolute path), plus: virtual environments (a folder
holding ``pyvenv.cfg``) are skipped, symbolic links to folders are followed but no folder
is entered twice (a link loop cannot hang the walk), and a file reached twice is checked
once. Sources are read as bytes and decoded by Python's own rules (a BOM, a PEP 263
``coding`` comment, else UTF-8), with universal newlines, as flake8 hands them to plugins.

Nothing here raises for a bad input: every problem becomes an :class:`InputError`, a
one-line message about one path, and the other inputs are still read.
"""

from __future__ import annotations

import dataclasses
import errno
import fnmatch
import functools
import io
import os
import re
import tokenize
from typing import Iterable, Iterator, List, Optional, Sequence, Set, Tuple

#: skipped unless ``--exclude`` replaces them (flake8's defaults, plus build output).
DEFAULT_EXCLUDE: Tuple[str, ...] = (
    ".svn", "CVS", ".bzr", ".hg", ".git", "__pycache__", ".tox", ".nox", ".eggs", "*.egg",
    "*.egg-info", "build", "dist", ".mypy_cache", ".pytest_cache", "node_modules",
)
PYTHON_FILE = "*.py"
NOTEBOOK_FILE = "*.ipynb"  # Jupyter notebooks: their code cells (see :mod:`.notebook`)
STDIN = "-"


@dataclasses.dataclass(frozen=True)
class InputError:
    """One input that could not be checked, and why (one line)."""

    path: str
    message: str
    line: int = 0
    column: int = 0

    def text(self) -> str:
        where = self.path if not self.line else f"{self.path}:{self.line}:{self.column}"
        return f"{where}: {self.message}"


@dataclasses.dataclass(frozen=True)
class Source:
    """A file's text, or the reason there is none."""

    path: str
    text: Optional[str] = None
    error: Optional[InputError] = None


# -- which files ----------------------------------------------------------------------------
def normalize_patterns(patterns: Iterable[str], base: str) -> Tuple[str, ...]:
    """flake8's rule: a pattern holding a path separator is relative to ``base``."""
    normalized = []
    for pattern in patterns:
        if pattern == "." or os.sep in pattern or (os.altsep and os.altsep in pattern):
            pattern = os.path.abspath(os.path.join(base, pattern))
        normalized.append(pattern.rstrip(os.sep + (os.altsep or "")))
    return tuple(p for p in normalized if p)


def is_excluded(path: str, patterns: Sequence[str]) -> bool:
    """flake8's rule: the entry's name or its absolute path matches a glob."""
    if not patterns:
        return False
    matches = _any_of(tuple(patterns))
    name = os.path.basename(path)
    if name not in {".", ".."} and matches(os.path.normcase(name)):
        return True
    return matches(os.path.normcase(os.path.abspath(path))) is not None


@functools.lru_cache(maxsize=8)
def _any_of(patterns: Tuple[str, ...]):
    """One compiled regular expression for a set of globs (``fnmatch.fnmatch`` one by one
    was a third of reading PyTorch's file list)."""
    joined = "|".join(fnmatch.translate(os.path.normcase(p)) for p in patterns)
    return re.compile(joined).match


def is_virtualenv(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, "pyvenv.cfg"))


def _identity(path: str) -> Optional[Tuple[int, int]]:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def discover(paths: Sequence[str], exclude: Sequence[str]
             ) -> Tuple[List[str], List[InputError]]:
    """The files to check under ``paths`` (sorted, each once) and the paths that do not exist.

    ``-`` (standard input) is not a file here: the caller reads it.
    """
    found: List[str] = []
    errors: List[InputError] = []
    seen_dirs: Set[Tuple[int, int]] = set()
    for arg in paths:
        if arg == STDIN or is_excluded(arg, exclude):
            continue
        if os.path.isdir(arg):
            found.extend(_walk(arg, exclude, seen_dirs, errors))
        elif os.path.lexists(arg):
            found.append(os.path.normpath(arg))
        else:
            errors.append(InputError(arg, "no such file or directory"))
    return _unique(found), errors


def _walk(root: str, exclude: Sequence[str], seen_dirs: Set[Tuple[int, int]],
          errors: List[InputError]) -> Iterator[str]:
    """Iterative walk: sorted, following links to folders, entering no folder twice."""
    identity = _identity(root)
    if identity is not None:
        if identity in seen_dirs:
            return
        seen_dirs.add(identity)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            errors.append(InputError(os.path.normpath(folder), _reason(exc)))
            continue
        subfolders = []
        for entry in entries:
            path = os.path.join(folder, entry.name)
            if is_excluded(path, exclude):
                continue
            if _is_dir(entry):
                key = _identity(path)
                if key is None or key in seen_dirs or is_virtualenv(path):
                    continue
                seen_dirs.add(key)
                subfolders.append(path)
            elif (fnmatch.fnmatch(entry.name, PYTHON_FILE) or fnmatch.fnmatch(entry.name, NOTEBOOK_FILE)) \
                    and not _is_special(entry):
                yield os.path.normpath(path)
        stack.extend(reversed(subfolders))


def _is_dir(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_dir()  # follows symbolic links; False for a broken or looping one
    except OSError:
        return False


def _is_special(entry: "os.DirEntry[str]") -> bool:
    """A FIFO, socket or device named ``*.py``: no source (reading a FIFO would wait for a
    writer forever). A broken symbolic link is not special: it is reported as one."""
    try:
        return not entry.is_file() and os.path.exists(entry.path)
    except OSError:
        return False


def _unique(paths: Iterable[str]) -> List[str]:
    """Sorted by path; a file reached under two names (a link) is kept under the first."""
    kept: List[str] = []
    identities: Set[Tuple[int, int]] = set()
    names: Set[str] = set()
    for path in sorted(paths):
        key = _identity(path)
        if path in names or (key is not None and key in identities):
            continue
        names.add(path)
        if key is not None:
            identities.add(key)
        kept.append(path)
    return kept


# -- their text -----------------------------------------------------------------------------
class DecodeError(ValueError):
    """The bytes are not text in the encoding Python would use to read them."""


def decode_source(data: bytes) -> str:
    """Decode like the interpreter: BOM, then a PEP 263 cookie, else UTF-8; universal newlines."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding declaration" not in str(exc):
            raise DecodeError(str(exc).replace(" for '<string>'", "")) from None
        encoding = "utf-8"  # not UTF-8 in its first two lines, and no cookie: say where
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DecodeError(
            f"cannot decode as {encoding} (byte 0x{data[exc.start]:02x} at line {line}, "
            f"column {column}): declare its encoding (PEP 263) or save it as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _reason(exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    return f"cannot read: {reason[:1].lower()}{reason[1:]}"


def source_from_bytes(path: str, data: bytes) -> Source:
    if path.endswith(".ipynb"):  # JSON: UTF-8, kept byte for byte (cells are written back)
        try:
            return Source(path, data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return Source(path, error=InputError(
                path, f"not a notebook: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"))
    try:
        text = decode_source(data)
    except DecodeError as exc:
        return Source(path, error=InputError(path, str(exc)))
    return Source(path, text)


def load(path: str) -> Source:
    """Read and decode one file."""
    if os.path.isdir(path):
        return Source(path, error=InputError(path, "cannot read: is a directory"))
    if os.path.exists(path) and not os.path.isfile(path):  # reading a FIFO would wait forever
        return Source(path, error=InputError(path, "cannot read: not a regular file"))
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        reason = _reason(exc)
        if exc.errno == errno.ENOENT and os.path.islink(path):
            reason += " (a broken symbolic link)"
        return Source(path, error=InputError(path, reason))
    return source_from_bytes(path, data)


def load_all(paths: Sequence[str]) -> List[Source]:
    """Every file's :class:`Source`, in the order of ``paths``."""
    return [load(path) for path in paths]
