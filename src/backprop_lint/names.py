"""Small helpers over libcst nodes: children, dotted names, literal strings."""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Dict, Iterator, Optional, Tuple

import libcst as cst

# Nodes that carry no code of their own: whitespace, comments, punctuation, operators.
TOKEN_TYPES: Tuple[type, ...] = (
    cst.BaseParenthesizableWhitespace,
    cst.Comma,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Dot,
    cst.Colon,
    cst.AssignEqual,
    cst.BaseBinaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseUnaryOp,
    cst.BaseAugOp,
    cst.Semicolon,
    cst.Newline,
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Comment,
    cst.ImportStar,
    cst.Asynchronous,
    cst.FormattedStringText,
)
_FIELDS: Dict[type, Tuple[str, ...]] = {}
# type -> True for a node holding code, False for a token node or any other value. libcst's
# node classes are ABCs, whose isinstance checks are slow: decide once per type.
_HOLDS_CODE: Dict[type, bool] = {}


def _holds_code(kind: type) -> bool:
    verdict = _HOLDS_CODE.get(kind)
    if verdict is None:
        verdict = _HOLDS_CODE[kind] = issubclass(kind, cst.CSTNode) and not issubclass(kind, TOKEN_TYPES)
    return verdict


def child_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The node's children that hold code, in field order (source order for expressions).

    libcst's own ``children`` re-visits the node to collect them, which costs about as
    much as a visitor pass per node; reading the dataclass fields is many times faster,
    and only the fields whose declared type can hold code are read at all.
    """
    kind = type(node)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = _code_fields(kind)
    known = _HOLDS_CODE
    for name in names:
        value = getattr(node, name)
        if type(value) in (list, tuple):
            for item in value:
                verdict = known.get(type(item))
                if verdict or verdict is None and _holds_code(type(item)):
                    yield item
        else:
            verdict = known.get(type(value))
            if verdict or verdict is None and _holds_code(type(value)):
                yield value


def _code_fields(kind: type) -> Tuple[str, ...]:
    """The fields of a node type that may hold code. libcst types every field: those
    declared as whitespace, punctuation, strings or sentinels (half of them) are skipped;
    a field whose type cannot be read is kept."""
    try:
        hints = typing.get_type_hints(kind)
    except Exception:  # any failure to read the types: keep every field
        hints = {}
    return tuple(f.name for f in dataclasses.fields(kind)
                 if f.name not in hints or _may_hold_code(hints[f.name]))


def _may_hold_code(declared: object) -> bool:
    arguments = typing.get_args(declared)
    if typing.get_origin(declared) is not None:  # Union, Optional, Sequence, Literal...
        return not arguments or any(_may_hold_code(a) for a in arguments)
    if not isinstance(declared, type):
        return not isinstance(declared, (str, int))  # a Literal's values hold nothing
    return _holds_code(declared) or not issubclass(declared, (cst.CSTNode, str, int, float, enum.Enum, type(None)))


_NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def own_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``root`` and the nodes below it that run with it: nested function, class and
    lambda bodies excluded (the nested node itself is yielded)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if node is root or not isinstance(node, _NESTED_SCOPES):
            stack.extend(child_nodes(node))


def all_params(params: cst.Parameters) -> Iterator[cst.Param]:
    """Every parameter, in order: positional-only, regular, *args, keyword-only, **kwargs."""
    yield from params.posonly_params
    yield from params.params
    if isinstance(params.star_arg, cst.Param):
        yield params.star_arg
    yield from params.kwonly_params
    if params.star_kwarg is not None:
        yield params.star_kwarg


def assigned_targets(target: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """What an assignment target stores into: names, attributes, subscripts (tuples and
    lists unpacked, stars removed)."""
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Tuple, cst.List)):
            stack.extend(element.value for element in node.elements)
        elif isinstance(node, cst.StarredElement):
            stack.append(node.value)
        else:
            yield node


def dotted_name(expr: cst.CSTNode) -> Optional[str]:
    """``a.b.c`` for a chain of attributes on a name, else None (iteratively: chains
    of thousands of attributes are legal)."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def string_value(expr: cst.CSTNode) -> Optional[str]:
    """The value of a plain string literal, else None."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def is_name(expr: cst.CSTNode, name: Optional[str]) -> bool:
    return name is not None and isinstance(expr, cst.Name) and expr.value == name
