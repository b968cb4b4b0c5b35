"""A per-file cache of analysis results, so that a second run re-parses nothing.

Keyed by the file's content, the tool's version and the options (not the path: a moved
file keeps its entry; the path is stored and checked). One small pickle per entry under the
user's cache folder; writes go to a temporary file first and are renamed into place, so
concurrent runs never read half a file. A broken or stale entry is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from typing import Any, Optional

from . import __version__

# Bump when the layout of cached results changes.
_FORMAT = 2


def default_directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "backprop-lint")


class Cache:
    def __init__(self, directory: Optional[str] = None):
        self.directory = directory or default_directory()

    def key(self, kind: str, source: str, options: Any) -> str:
        digest = hashlib.sha256()
        for part in (kind, __version__, str(_FORMAT), repr(options), source):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key[2:] + ".pickle")

    def get(self, key: str, path: str) -> Any:
        try:
            with open(self._path(key), "rb") as handle:
                stored_path, value = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError,
                AttributeError, ImportError, IndexError):
            return None
        # findings carry their path: an identical file elsewhere is analysed afresh
        return value if stored_path == path else None

    def put(self, key: str, path: str, value: Any) -> None:
        target = self._path(key)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                pickle.dump((path, value), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)
        except OSError:
            pass  # a read-only or full disk only costs speed
