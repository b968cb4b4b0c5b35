"""The "reached from" clause of BPL2xx-4xx messages: which backward-pass root brought
the function into scope (kept apart from the messages' wording, which is written
elsewhere)."""

from __future__ import annotations

import dataclasses
from typing import Callable, Hashable, Mapping, Optional, TypeVar

from ..findings import Finding

T = TypeVar("T", bound=Hashable)


def root_of(scope: Mapping[T, Optional[T]], member: T) -> Optional[T]:
    """The root a scope member was reached from by following each member's way in
    (``scope[f]`` is the function ``f`` was reached from, None for a root); None when
    the member is a root itself."""
    current, seen = member, {member}
    while scope.get(current) is not None:
        current = scope[current]
        if current in seen:
            return None
        seen.add(current)
    return current if current != member else None


def with_root(finding: Finding, root: str, path: str, line: int) -> Finding:
    """``... Reached from Trainer.backward, l.12.`` (``pkg/train.py:12`` for a root in
    another file)."""
    where = f"l.{line}" if path == finding.path else f"{path}:{line}"
    return dataclasses.replace(finding, message=f"{finding.message} Reached from {root}, {where}.")


def add_root(finding: Finding, requires, scope: Mapping[T, Optional[T]],
             node_of: Callable[[str], T], describe: Callable[[T], tuple]) -> Finding:
    """The finding with the clause for the first (by key) of the functions it requires
    that is in scope; none when one of them is a root itself (the message's chain names
    it already) - whatever the functions are called. ``describe(root)`` gives (name, path,
    line)."""
    members = [node for node in map(node_of, sorted(requires or ())) if node in scope]
    if not members or any(scope[node] is None for node in members):
        return finding
    root = root_of(scope, members[0])
    return finding if root is None else with_root(finding, *describe(root))
