"""Fast walks over CPython ``ast`` trees, for the screen (screen.py, ending.py).

``ast.iter_child_nodes`` visits every field of every node through a generator; the
screen's passes read no leaf (contexts, operators, constants) - half of all nodes - and
no field that never holds a node, so those are decided once per node type.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Set, Tuple


def _node_classes(base: type) -> Set[type]:
    found = set()
    for sub in base.__subclasses__():
        found.add(sub)
        found |= _node_classes(sub)
    return found


_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
# every node type but the leaves and names (a third of all nodes: decided by the walker)
WALKED = frozenset(c for c in _node_classes(ast.AST)
                   if not issubclass(c, _LEAVES) and c is not ast.Constant and c is not ast.Name)
FIELDS: Dict[type, Tuple[str, ...]] = {}

# fields that never hold a node: contexts and operators (leaves) and names, flags, numbers
_NOT_NODES = frozenset("ctx op ops attr arg asname module level type_comment id is_async kind "
                       "conversion simple name tag".split())


def fields_of(kind: type) -> Tuple[str, ...]:
    """The fields of a node type that may hold a node (kept in ``FIELDS``)."""
    fields = FIELDS.get(kind)
    if fields is None:
        fields = FIELDS[kind] = tuple(f for f in kind._fields if f not in _NOT_NODES)
    return fields


def inner_children(node: ast.AST) -> List[ast.AST]:
    """The children of ``node`` that are neither leaves nor names, in field order."""
    found: List[ast.AST] = []
    for field in fields_of(type(node)):
        value = getattr(node, field)
        if type(value) is list:
            found.extend(child for child in value if type(child) in WALKED)
        elif type(value) in WALKED:
            found.append(value)
    return found


def decorator_name(decorator: ast.AST) -> str:
    """The last part of a decorator's name: ``wraps`` for ``@functools.wraps(f)``."""
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    if isinstance(decorator, ast.Attribute):
        return decorator.attr
    if isinstance(decorator, ast.Name):
        return decorator.id
    return ""
