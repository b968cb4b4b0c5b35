"""Project mode: several modules analysed together, names resolved across them.

flake8 checks one file at a time; the command hands every file to one analysis so that a
cycle ``engine.backward -> ops.apply_grad -> engine.backward`` is seen. Each module gets a
dotted name from its path (packages are the folders holding ``__init__.py``), and a
:class:`Project` answers what an import such as ``from .ops import apply_grad`` or
``import pkg.ops as ops`` refers to.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, Optional, Set, Tuple

from .facts import ClassFacts, ModuleFacts, Target

# re-exports followed at most this deep (``pkg/__init__.py`` importing from ``pkg.ops``)
_MAX_REEXPORTS = 8


def module_name(path: str, known_paths: Set[str]) -> str:
    """``pkg/sub/mod.py`` -> ``pkg.sub.mod`` when ``pkg`` and ``sub`` hold an
    ``__init__.py`` (among the files given, or on disk)."""
    absolute = os.path.abspath(path)
    folder, filename = os.path.split(absolute)
    stem = os.path.splitext(filename)[0]
    parts = [] if stem == "__init__" else [stem]
    while True:
        marker = os.path.join(folder, "__init__.py")
        if marker not in known_paths and not os.path.isfile(marker):
            break
        folder, package = os.path.split(folder)
        parts.insert(0, package)
        if not package:
            break
    return ".".join(parts) or stem


class Project:
    def __init__(self, modules: Iterable[ModuleFacts]):
        modules = list(modules)
        known = {os.path.abspath(m.path) for m in modules}
        self.by_name: Dict[str, ModuleFacts] = {}
        self.packages: Dict[int, str] = {}
        for module in modules:
            name = module_name(module.path, known)
            self.by_name.setdefault(name, module)
            is_package = os.path.basename(module.path) == "__init__.py"
            self.packages[id(module)] = name if is_package else name.rpartition(".")[0]
            module.project = self
        self._resolving: Set[Tuple[int, str]] = set()

    def resolve(self, importer: ModuleFacts, dotted: str) -> Optional[Target]:
        """The function or class a dotted import path names, if it is in the project."""
        absolute = self._absolute(importer, dotted)
        key = (id(importer), dotted)
        if absolute is None or key in self._resolving or len(self._resolving) > _MAX_REEXPORTS:
            return None  # a re-export cycle, or too deep
        self._resolving.add(key)
        try:
            parts = absolute.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                module = self.by_name.get(".".join(parts[:cut]))
                if module is not None:
                    return _member(module, parts[cut:])
            return None
        finally:
            self._resolving.discard(key)

    def _absolute(self, importer: ModuleFacts, dotted: str) -> Optional[str]:
        """Resolve the leading dots of a relative import against the importer's package."""
        level = len(dotted) - len(dotted.lstrip("."))
        if not level:
            return dotted
        package = self.packages.get(id(importer), "")
        base = package.split(".") if package else []
        if level - 1 > len(base):
            return None
        base = base[: len(base) - (level - 1)]
        rest = dotted[level:]
        return ".".join(base + ([rest] if rest else [])) or None


def _member(module: ModuleFacts, names) -> Optional[Target]:
    """``f``, ``C`` or ``C.m`` at the top level of ``module`` (following its imports)."""
    target = module.lookup(names[0], None)
    if len(names) == 1:
        return target
    if isinstance(target, ClassFacts) and len(names) == 2:
        return module.method(target, names[1])
    return None
