"""BPL105 (safe): ``__getattr__`` reads its instance attributes with
``object.__getattribute__(self, "x")`` instead of ``self.x``.

The two do the same lookup (instance dict, class, bases, descriptors) except that
``object.__getattribute__`` does not fall back to ``__getattr__`` when the attribute is
missing: it raises AttributeError. A read is rewritten only where ``__getattr__`` makes it
on every call before anything could set the attribute (the leading statements, an ``if``
test, the start of a ``try`` body, never a branch): there, a missing attribute means
``__getattr__("x")`` makes the same read again, forever - so the only behaviour that
changes is that RecursionError becoming the AttributeError Python expects.

This is the expression form of the ``self.__dict__["x"]`` / ``except KeyError: raise
AttributeError(name) from None`` idiom: it needs no try statement around the read (which
would also catch the KeyErrors of the code around it) and also finds attributes the class
or a base defines.

No fix where another read of a possibly missing attribute is left (a read on a branch, a
``hasattr``, a ``getattr`` with a default): that one may keep the re-entry; nor where the
class defines ``__getattribute__``.
"""

from __future__ import annotations

from typing import Iterator, List, Set

import libcst as cst

from .target import (SCOPES, NoFix, Rewrite, Target, bound_by, every_node, mangled,
                     param_names)

CODE = "BPL105"
APPLICABILITY = "safe"
TITLE = "read the attribute with object.__getattribute__"
READS_MODULE = False  # the method and its class are all it reads

EXAMPLES = [
    (
        "class Proxy:\n"
        "    def __init__(self, wrapped):\n"
        "        self._wrapped = wrapped\n"
        "\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(self._wrapped, name)\n",
        "class Proxy:\n"
        "    def __init__(self, wrapped):\n"
        "        self._wrapped = wrapped\n"
        "\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(object.__getattribute__(self, \"_wrapped\"), name)\n",
    ),
]


def rewrite(target: Target) -> Rewrite:
    function, cls = target.function, target.in_class
    if function.name.value != "__getattr__" or cls is None:
        raise NoFix("not a __getattr__ method")
    params = param_names(function.params)
    if not params or function.decorators:
        raise NoFix("not a plain method")
    me = params[0]
    if _class_names(cls) & {"__getattribute__"}:
        raise NoFix("the class defines __getattribute__")
    reads = set(_unconditional_reads(function.body, me))
    if not reads:
        raise NoFix("no read of self that every call makes first")
    defined = _class_names(cls)
    for node in _reads_of(function.body, me):
        if node not in reads and _attribute(node) not in defined:
            raise NoFix("another read of a possibly missing attribute of self is left "
                        "(on a branch, hasattr, or getattr with a default)")
    replacement = function.visit(_ToGetattribute(reads, me, cls.name.value))
    return Rewrite(target.finding, APPLICABILITY, function, replacement)


def _class_names(cls: cst.ClassDef) -> Set[str]:
    """Names the class body defines (methods, assigned class attributes)."""
    names: Set[str] = set()
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else []
    for statement in body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            names.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        names.update(bound_by(target.target))
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    names.update(bound_by(small.target))
    return names


def _is_self_attribute(node: cst.CSTNode, me: str) -> bool:
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
            and node.value.value == me)


def _is_getattr_of_self(node: cst.CSTNode, me: str, name: str = "getattr", arity: int = 2) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value == name and len(node.args) == arity
            and all(a.keyword is None and not a.star for a in node.args)
            and isinstance(node.args[0].value, cst.Name) and node.args[0].value.value == me
            and isinstance(node.args[1].value, cst.SimpleString))


def _attribute(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Attribute):
        return node.attr.value
    value = node.args[1].value.evaluated_value  # type: ignore[attr-defined]
    return value if isinstance(value, str) else ""


def _reads_of(body: cst.CSTNode, me: str) -> Iterator[cst.CSTNode]:
    """Every read of an attribute of ``me`` by name (``me.x``, ``getattr(me, "x"[, d])``,
    ``hasattr(me, "x")``) in the method, nested scopes included; dunders left out."""
    stores = {id(t) for n in every_node(body) for t in _store_targets(n)}
    for node in every_node(body):
        if _is_self_attribute(node, me) and id(node) not in stores:
            read = node
        elif any(_is_getattr_of_self(node, me, f, k) for f, k in
                 (("getattr", 2), ("getattr", 3), ("hasattr", 2))):
            read = node
        else:
            continue
        attribute = _attribute(read)
        if not (attribute.startswith("__") and attribute.endswith("__")):
            yield read


def _store_targets(node: cst.CSTNode) -> List[cst.CSTNode]:
    if isinstance(node, cst.AssignTarget):
        return [node.target]
    if isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.Del)):
        return [node.target]
    return []


def _unconditional_reads(body: cst.BaseSuite, me: str) -> Iterator[cst.CSTNode]:
    """The reads every call makes before anything can set an attribute: leading simple
    statements, then the test of an ``if`` or the start of a ``try`` body, until a
    statement that may change ``me`` (a call on it, a store, ``me`` passed on)."""
    for statement in body.body:  # type: ignore[attr-defined]
        if isinstance(statement, cst.SimpleStatementLine):
            parts: List[cst.CSTNode] = list(statement.body)
        elif isinstance(statement, (cst.If, cst.While)):
            parts = [statement.test]
        elif isinstance(statement, cst.Try):
            yield from _unconditional_reads(statement.body, me)
            return
        else:
            return
        for part in parts:
            yield from _reads_in_expression(part, me)
            if _may_change(part, me) or isinstance(part, (cst.Return, cst.Raise)):
                return
        if not isinstance(statement, cst.SimpleStatementLine):
            return


def _reads_in_expression(node: cst.CSTNode, me: str) -> Iterator[cst.CSTNode]:
    """The reads of ``node`` that always run when it does (not in the right operand of
    and / or, a branch of ``x if c else y``, a lambda or comprehension)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, SCOPES):
            continue
        if _is_getattr_of_self(current, me):
            yield current
            continue
        if _is_self_attribute(current, me):
            if not (current.attr.value.startswith("__") and current.attr.value.endswith("__")):
                yield current
            continue
        if isinstance(current, cst.BooleanOperation):
            stack.append(current.left)
            continue
        if isinstance(current, cst.IfExp):
            stack.append(current.test)
            continue
        if isinstance(current, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.Del)):
            stack.extend(c for c in current.children if c is not getattr(current, "target", None))
            continue
        stack.extend(current.children)


def _may_change(node: cst.CSTNode, me: str) -> bool:
    """The statement may set an attribute of ``me``: it stores or deletes one, calls a
    method of it, or hands it to a call (``getattr(me, "x")`` only reads)."""
    for current in every_node(node):
        for target in _store_targets(current):
            if any(isinstance(n, cst.Name) and n.value == me for n in every_node(target)):
                return True
        if isinstance(current, cst.Call) and not _is_getattr_of_self(current, me):
            if any(isinstance(n, cst.Name) and n.value == me for n in every_node(current.func)):
                return True
            if any(isinstance(a.value, cst.Name) and a.value.value == me for a in current.args):
                return True
    return False


class _ToGetattribute(cst.CSTTransformer):
    def __init__(self, reads: Set[cst.CSTNode], me: str, class_name: str) -> None:
        super().__init__()
        self.reads = reads
        self.me = me
        self.class_name = class_name
        self.f_strings: List[str] = []  # the quotes of the f-strings around (before 3.12
        # a string inside an f-string may not use its quote)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self.f_strings.append(node.start)

    def leave_FormattedString(self, original, updated):
        self.f_strings.pop()
        return updated

    def _lookup(self, original: cst.CSTNode, attribute: str, lpar, rpar) -> cst.Call:
        quote = "'" if any('"' in start for start in self.f_strings) else '"'
        quoted = cst.SimpleString(f"{quote}{attribute}{quote}")
        return cst.Call(
            func=cst.parse_expression("object.__getattribute__"),
            args=[cst.Arg(cst.Name(self.me), comma=cst.Comma(
                whitespace_after=cst.SimpleWhitespace(" "))), cst.Arg(quoted)],
            lpar=lpar, rpar=rpar)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute):
        if original not in self.reads:
            return updated
        return self._lookup(original, mangled(original.attr.value, self.class_name),
                            updated.lpar, updated.rpar)

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        if original not in self.reads:
            return updated
        return updated.with_changes(func=cst.parse_expression("object.__getattribute__"))
