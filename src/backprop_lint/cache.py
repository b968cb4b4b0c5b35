"""A per-file cache of analysis results, so that a second run re-parses nothing.

An entry is keyed by the file's content, the tool's version and the options, and filed
under the file's path (findings carry their path: an identical file elsewhere is analysed
afresh). Entries live in packs, one per folder of source files and kind of result: creating
a file costs the kernel 0.1-0.4 ms, and one per source file was a tenth of a cold run on
PyTorch (2,371 files in 359 folders). A pack is written to a temporary file and renamed into
place, so concurrent runs never read half of one; two runs rewriting the same pack at once
may lose each other's new entries, which only costs a miss next time. A broken or stale
entry is a miss, never an error.

Values travel as pickles (:func:`pickled`): the process that computes a result pickles it
once, to send it to the parent, which keeps those bytes for the pack as they are.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pickle
import sys
from typing import Any, Dict, Mapping, Optional, Tuple

from . import __version__
from .modules import ModuleNames

# Bump when the layout of packs or of cached results changes.
# 5: a file result names the other files it read (FileResult.consulted); 6: summaries flag tests;
# 7: a chain step carries the line of its call (ChainStep.call)
_FORMAT = 8
# what else decides a result: which files the parser accepts depends on the Python (a
# ``match`` statement), and pickles of one Python may not load in another
_EDITION = f"{__version__}\0{_FORMAT}\0{sys.implementation.name}\0{sys.version_info[0]}.{sys.version_info[1]}"
_TEMPORARY = itertools.count()

Pack = Dict[str, Tuple[str, bytes]]  # path -> (key, pickled value)


def default_directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "backprop-lint")


def pickled(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def content_digest(source: str) -> str:
    """What a key needs of a file's text (worked out once per file, for every kind)."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


class Cache:
    def __init__(self, directory: Optional[str] = None):
        self.directory = directory or default_directory()
        self._read: Dict[str, Pack] = {}  # packs as this run read them, by file name
        self._dirty: Dict[str, Pack] = {}  # entries to add, by pack
        self._digests: Dict[str, Tuple[str, str]] = {}  # path -> (text, its digest)

    def unusable(self) -> Optional[str]:
        """Why results cannot be kept in the directory (None: they can). Asked once, so
        that a bad ``--cache-dir`` is said once rather than swallowed pack by pack."""
        probe = os.path.join(self.directory, f".probe.{os.getpid()}.{next(_TEMPORARY)}.tmp")
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            return "not a directory"
        try:
            os.makedirs(self.directory, exist_ok=True)
            with open(probe, "xb"):
                pass
            os.unlink(probe)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return f"{reason[:1].lower()}{reason[1:]}"
        return None

    @staticmethod
    def key(kind: str, digest: str, options: Any) -> str:
        """The key of a result of ``kind`` for the text of ``digest`` (:func:`content_digest`)."""
        parts = (kind, _EDITION, repr(options), digest)
        return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()

    def key_of(self, kind: str, path: str, text: str, options: Any) -> str:
        """:meth:`key` for a file's text."""
        return self.key(kind, self._digest(path, text), options)

    def _digest(self, path: str, text: str) -> str:
        """:func:`content_digest`, worked out once per text (every kind's key and the
        project's need it)."""
        known = self._digests.get(path)
        if known is None or known[0] is not text:
            known = self._digests[path] = (text, content_digest(text))
        return known[1]

    def project_entry(self, sources: Mapping[str, str], options: Any) -> Tuple[str, str]:
        """Where the findings of a run on exactly these files are kept (one place per
        folder holding them all; the path to give :meth:`get` and :meth:`put`), and their
        key: what linking reads of the files and folders - each file's path, text and
        module name (``__init__.py`` files on disk count) - and the options."""
        paths = sorted(sources)
        names = ModuleNames(paths).name_of
        inputs = repr([(p, names[p], self._digest(p, sources[p])) for p in paths])
        try:
            folder = os.path.commonpath([os.path.abspath(p) for p in paths]) if paths else ""
        except ValueError:  # paths on different drives
            folder = ""
        return (os.path.join(folder or os.getcwd(), "*"),
                self.key("project", content_digest(inputs), options))

    def _pack_of(self, kind: str, path: str) -> str:
        folder = os.path.dirname(os.path.abspath(path))
        name = hashlib.sha256(f"{kind}\0{_EDITION}\0{folder}".encode(
            "utf-8", "surrogatepass")).hexdigest()
        return os.path.join(self.directory, name[:2], name[2:] + ".pickle")

    def _pack(self, pack: str) -> Pack:
        if pack not in self._read:
            self._read[pack] = _read_pack(pack)
        return self._read[pack]

    def get(self, kind: str, path: str, key: str) -> Any:
        """The stored value, or None."""
        entry = self._pack(self._pack_of(kind, path)).get(path)
        if entry is None or entry[0] != key:
            return None
        try:
            return pickle.loads(entry[1])
        except Exception:  # whatever a broken pickle raises, it is a miss
            return None

    def put(self, kind: str, path: str, key: str, value: bytes) -> None:
        """Keep ``value`` (:func:`pickled`) for :meth:`flush` to write."""
        self._dirty.setdefault(self._pack_of(kind, path), {})[path] = (key, value)

    def flush(self) -> None:
        """Write every pack that got new entries: what it held, less files gone, plus them."""
        for pack, entries in self._dirty.items():
            kept = {path: entry for path, entry in self._pack(pack).items()
                    if path not in entries and os.path.exists(path)}
            kept.update(entries)
            self._read[pack] = kept
            _write_pack(pack, kept)
        self._dirty.clear()


def _read_pack(pack: str) -> Pack:
    try:
        with open(pack, "rb") as handle:
            entries = pickle.load(handle)
    except Exception:  # missing, or broken: whatever the unpickling raises
        return {}
    if not isinstance(entries, dict):
        return {}
    return {path: entry for path, entry in entries.items()
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], bytes)}


def _write_pack(pack: str, entries: Pack) -> None:
    temporary = f"{pack}.{os.getpid()}.{next(_TEMPORARY)}.tmp"
    try:
        os.makedirs(os.path.dirname(pack), exist_ok=True)
        with open(temporary, "xb") as out:
            pickle.dump(entries, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, pack)
    except OSError:  # a read-only or full disk only costs speed
        try:
            os.unlink(temporary)
        except OSError:
            pass
