"""Fixes: libcst rewrites of the functions a finding is reported on (``--fix``, ``--diff``).

One module per fix (``bpl202_frames``, ``bpl402_deque``), each with ``CODE``,
``APPLICABILITY`` (``safe``: only the bug goes away; ``unsafe``: behaviour a program may
rely on changes too), ``EXAMPLES`` (before / after pairs, as Fixit keeps a rule's
examples) and ``rewrite(target)``: the new function, or the reason there is none; and
``READS_MODULE = False`` where the rewrite reads nothing of the module beyond the class
around the function (which findings have a fix is then decided on that class alone).

Finding which finding has a fix (:mod:`.plan`) needs libcst only; applying the fixes to a
file (:mod:`.apply`) uses libcst's codemod machinery for the imports and is imported only
by ``--fix`` / ``--diff`` / the edits of the JSON and SARIF reports. The flake8 plugin
imports nothing of this package.
"""

from __future__ import annotations

import importlib
from typing import Dict

# code -> the module that fixes it (imported only when a finding of that code is seen)
FIXERS: Dict[str, str] = {
    "BPL104": "bpl104_format_self",
    "BPL105": "bpl105_getattribute",
    "BPL201": "bpl201_visited",
    "BPL202": "bpl202_frames",
    "BPL401": "bpl401_seen",
    "BPL402": "bpl402_deque",
}


def fixer(code: str):
    """The module that fixes ``code``, or None."""
    name = FIXERS.get(code)
    return importlib.import_module(f"{__name__}.{name}") if name else None
