"""Module names of files, and import paths resolved against them (project mode links calls
through them; the command's cache reads them to know a project unchanged)."""

from __future__ import annotations

import os
from typing import Dict, Iterable, Optional, Set, Tuple


def module_name(path: str, known_paths: Set[str]) -> str:
    """``pkg/sub/mod.py`` -> ``pkg.sub.mod`` when ``pkg`` and ``sub`` hold an
    ``__init__.py`` (among the files given, or on disk)."""
    folder, filename = os.path.split(os.path.abspath(path))
    stem = os.path.splitext(filename)[0]
    parts = [] if stem == "__init__" else [stem]
    while True:
        marker = os.path.join(folder, "__init__.py")
        if marker not in known_paths and not os.path.isfile(marker):
            break
        folder, package = os.path.split(folder)
        if not package:
            break
        parts.insert(0, package)
    return ".".join(parts) or stem


class ModuleNames:
    """Dotted module names of a set of files, and import paths resolved against them."""

    def __init__(self, paths: Iterable[str]):
        # a module and a notebook of the same name: ``import name`` finds the module
        paths = sorted(paths, key=lambda p: (p.endswith(".ipynb"), p))
        known = {os.path.abspath(p) for p in paths}
        self.path_of: Dict[str, str] = {}
        self.package_of: Dict[str, str] = {}
        self.name_of: Dict[str, str] = {}
        self._answers: Dict[Tuple[str, str], Optional[Tuple[str, Tuple[str, ...]]]] = {}
        for path in paths:
            name = self.name_of[path] = module_name(path, known)
            self.path_of.setdefault(name, path)
            is_package = os.path.basename(path) == "__init__.py"
            self.package_of[path] = name if is_package else name.rpartition(".")[0]

    def split(self, importer: str, dotted: str) -> Optional[Tuple[str, Tuple[str, ...]]]:
        """(path of the module, the names after it) for an import path seen in
        ``importer``; relative paths resolved against its package. (Asked tens of
        thousands of times for a large project, mostly the same questions: remembered.)"""
        question = (self.package_of.get(importer, ""), dotted)
        if question not in self._answers:
            self._answers[question] = self._split(self._absolute(importer, dotted))
        return self._answers[question]

    def _split(self, absolute: Optional[str]) -> Optional[Tuple[str, Tuple[str, ...]]]:
        if absolute is None:
            return None
        parts = absolute.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            path = self.path_of.get(".".join(parts[:cut]))
            if path is not None:
                return path, tuple(parts[cut:])
        return None

    def _absolute(self, importer: str, dotted: str) -> Optional[str]:
        level = len(dotted) - len(dotted.lstrip("."))
        if not level:
            return dotted
        package = self.package_of.get(importer, "")
        base = package.split(".") if package else []
        if level - 1 > len(base):
            return None
        base = base[: len(base) - (level - 1)]
        rest = dotted[level:]
        return ".".join(base + ([rest] if rest else [])) or None
