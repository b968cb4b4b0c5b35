"""BPL104 (unsafe): ``__repr__`` / ``__str__`` / ``__format__`` that format ``self`` (and so
call themselves) format something that does not.

In ``__repr__``, ``repr(self)`` and ``f"{self!r}"`` become ``object.__repr__(self)`` (the
``<Tensor object at 0x...>`` form); in ``__str__``, ``str(self)`` and ``f"{self}"`` become
``type(self).__name__``; in ``__format__``, ``format(self, spec)`` becomes
``format(type(self).__name__, spec)``. Unsafe: the text is not what the author meant (most
often a field: ``repr(self.data)``), only text instead of a RecursionError; the finding's
message says which field to use. Other data-model re-entries (a property reading itself,
``__eq__`` comparing ``self ==``...) have no automatic fix.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .target import SCOPES, NoFix, Rewrite, Target, param_names

CODE = "BPL104"
APPLICABILITY = "unsafe"
TITLE = "format the object's type instead of the object itself"
READS_MODULE = False  # the method and its class are all it reads

EXAMPLES = [
    (
        "class Tensor:\n"
        "    def __repr__(self):\n"
        "        return \"Tensor(\" + repr(self) + \")\"\n",
        "class Tensor:\n"
        "    def __repr__(self):\n"
        "        return \"Tensor(\" + object.__repr__(self) + \")\"\n",
    ),
]

# method -> the builtin that re-enters it, and what that builtin's self-call becomes
REENTERING = {"__repr__": "repr", "__str__": "str", "__format__": "format"}


def rewrite(target: Target) -> Rewrite:
    function = target.function
    method = function.name.value
    params = param_names(function.params)
    if method not in REENTERING or target.in_class is None or not params:
        raise NoFix("not __repr__, __str__ or __format__ of a class")
    transformer = _Unformat(method, params[0])
    replacement = function.visit(transformer)
    if not transformer.changed:
        raise NoFix("no repr / str / format of self to replace")
    return Rewrite(target.finding, APPLICABILITY, function, replacement)


class _Unformat(cst.CSTTransformer):
    def __init__(self, method: str, me: str) -> None:
        super().__init__()
        self.method = method
        self.me = me
        self.changed = 0
        self.depth = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, SCOPES):
            self.depth += 1
        return self.depth <= 1  # the method itself is the first scope

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        if isinstance(original, SCOPES):
            self.depth -= 1
        return super().on_leave(original, updated)

    def _is_me(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Name) and node.value == self.me

    def _replacement(self) -> cst.BaseExpression:
        if self.method == "__repr__":
            return cst.parse_expression(f"object.__repr__({self.me})")
        return cst.parse_expression(f"type({self.me}).__name__")

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        builtin = REENTERING[self.method]
        if not (isinstance(updated.func, cst.Name) and updated.func.value == builtin
                and updated.args and self._is_me(updated.args[0].value)
                and not updated.args[0].star and updated.args[0].keyword is None):
            return updated
        self.changed += 1
        if builtin == "format":
            args = [updated.args[0].with_changes(value=self._replacement())] + list(updated.args[1:])
            return updated.with_changes(args=args)
        if len(updated.args) != 1:
            return updated
        return self._replacement().with_changes(lpar=updated.lpar, rpar=updated.rpar)

    def leave_FormattedStringExpression(self, original, updated):
        if not self._is_me(updated.expression):
            return updated
        conversion: Optional[str] = updated.conversion
        wanted = {"__repr__": conversion == "r",
                  "__str__": conversion in (None, "s") and updated.format_spec is None,
                  "__format__": conversion is None}[self.method]
        if not wanted:
            return updated
        self.changed += 1
        return updated.with_changes(expression=self._replacement(),
                                    conversion=None if self.method == "__repr__" else conversion)
