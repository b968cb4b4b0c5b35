"""BPL202 (safe): a recursive walk becomes a loop over an explicit stack of frames.

The function's body moves, unchanged but for its recursive calls, into a nested generator
(``<name>_frame``): each recursive call ``f(args)`` becomes ``yield f_frame(args)``, which
hands the new frame to a driver loop instead of calling it. The driver keeps the frames on a
list and always runs the top one - exactly the order in which Python runs the frames of the
recursion - so every statement runs in the same order with the same locals: the walk visits
the same nodes in the same order and appends, yields and returns the same things. The call
stack stays two frames deep however deep the graph is.

A recursive generator (``yield from walk(child)``) becomes a generator whose frames yield
``(True, frame)`` for a call and ``(False, value)`` for a value, which the driver yields on.
Where a recursive call's result is used (a memo, a height) the driver sends it back into
the waiting frame, as the return of a call would.

A comprehension statement whose list is thrown away (``[walk(c) for c in node.inputs]``)
first becomes the loop it stands for.

No fix where the equivalence cannot be shown: a ``try`` or ``with`` around a recursive call
(an exception would skip its handlers), a recursive call from another nested scope
(lambda, a comprehension whose value is used, nested ``def``), the function used other
than called, a decorator (the calls go through it), ``async def``, frame
introspection (``locals()``, ``super()``...), ``next()`` (a StopIteration would turn into a
RuntimeError inside a generator), mutable default values.
"""

from __future__ import annotations

from typing import List, Set, Tuple, Union

import libcst as cst

from .target import (SCOPES, Function, NoFix, Rewrite, Target, bound_by,
                     every_node, fresh_name, is_call_to, mangled, names_used, own_scope,
                     param_names)

CODE = "BPL202"
APPLICABILITY = "safe"
TITLE = "walk with an explicit stack of frames"

EXAMPLES = [
    (
        "def backward(self):\n"
        "    topo, visited = [], set()\n"
        "\n"
        "    def build_topo(v):\n"
        "        if v not in visited:\n"
        "            visited.add(v)\n"
        "            for child in v._prev:\n"
        "                build_topo(child)\n"
        "            topo.append(v)\n"
        "\n"
        "    build_topo(self)\n",
        "def backward(self):\n"
        "    topo, visited = [], set()\n"
        "\n"
        "    def build_topo(v):\n"
        "        def build_topo_frame(v):\n"
        "            if v not in visited:\n"
        "                visited.add(v)\n"
        "                for child in v._prev:\n"
        "                    yield build_topo_frame(child)\n"
        "                topo.append(v)\n"
        "\n"
        "        # one generator per active call on an explicit stack, not one Python frame\n"
        "        stack = [build_topo_frame(v)]\n"
        "        while stack:\n"
        "            for call in stack[-1]:\n"
        "                stack.append(call)\n"
        "                break\n"
        "            else:\n"
        "                stack.pop()\n"
        "\n"
        "    build_topo(self)\n",
    ),
    (
        "def iter_topo(node, visited):\n"
        "    if node in visited:\n"
        "        return\n"
        "    visited.add(node)\n"
        "    for parent in node.parents:\n"
        "        yield from iter_topo(parent, visited)\n"
        "    yield node\n",
        "def iter_topo(node, visited):\n"
        "    def iter_topo_frame(node, visited):\n"
        "        if node in visited:\n"
        "            return\n"
        "        visited.add(node)\n"
        "        for parent in node.parents:\n"
        "            yield True, iter_topo_frame(parent, visited)\n"
        "        yield False, node\n"
        "\n"
        "    # one generator per active call on an explicit stack, not one Python frame\n"
        "    stack = [iter_topo_frame(node, visited)]\n"
        "    while stack:\n"
        "        for is_call, item in stack[-1]:\n"
        "            if is_call:\n"
        "                stack.append(item)\n"
        "                break\n"
        "            yield item\n"
        "        else:\n"
        "            stack.pop()\n",
    ),
]

COMMENT = "# one generator per active call on an explicit stack, not one Python frame"
# frames change what these see or do (or, for next(), what a StopIteration becomes)
INTROSPECTION = {"locals", "vars", "eval", "exec", "super", "next", "_getframe",
                 "currentframe", "stack"}
LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)

# the drivers: {frame} is the nested generator, {root} the call that starts it
CALLS_ONLY = """\
{stack} = [{root}]
while {stack}:
    for {call} in {stack}[-1]:
        {stack}.append({call})
        break
    else:
        {stack}.pop()
"""
WITH_RESULTS = """\
{stack} = [{root}]
{returned} = None
while {stack}:
    try:
        {call} = {stack}[-1].send({returned})
    except StopIteration as {stop}:
        {stack}.pop()
        {returned} = {stop}.value
    else:
        {stack}.append({call})
        {returned} = None
return {returned}
"""
GENERATOR = """\
{stack} = [{root}]
while {stack}:
    for {is_call}, {item} in {stack}[-1]:
        if {is_call}:
            {stack}.append({item})
            break
        yield {item}
    else:
        {stack}.pop()
"""
GENERATOR_WITH_RESULTS = """\
{stack} = [{root}]
{returned} = None
while {stack}:
    try:
        {is_call}, {item} = {stack}[-1].send({returned})
    except StopIteration as {stop}:
        {stack}.pop()
        {returned} = {stop}.value
    else:
        if {is_call}:
            {stack}.append({item})
            {returned} = None
        else:
            {returned} = yield {item}
return {returned}
"""

Callee = Union[str, Tuple[str, str]]


def rewrite(target: Target) -> Rewrite:
    return Rewrite(target.finding, APPLICABILITY, target.function, frames(target))


def frames(target: Target, visited_once: bool = False) -> Function:
    """The function, its recursion run as frames on an explicit stack. ``visited_once``
    (BPL201's unsafe fix): each frame first tests and records ``id(node)`` in a set made
    once per walk, ``node`` being the one parameter the recursive calls change."""
    _check_signature(target.function)
    _check_self_recursion(target)
    callee = _callee(target)
    function = _comprehensions_as_loops(target.function, callee)
    walk = _Walk(function, callee)
    frame = _frame_name(function)
    taken = names_used(function) | {frame}
    names = {key: fresh_name(key, taken) for key in (
        "stack", "call", "returned", "stop", "is_call", "item", "visited", "method", "bound")}
    names["root"] = cst.Module([]).code_for_node(_root_call(function, frame))
    module_config = target.module.config_for_parsing
    body = _body_without_docstring(function)
    method = (names["method"], names["bound"]) if isinstance(callee, tuple) else ("", "")
    new_body = body.visit(_CallsToYields(walk, frame, callee, module_config, method))
    driver = list(cst.parse_module(_driver(walk).format(**names), config=module_config).body)
    if isinstance(callee, tuple):
        key = mangled(function.name.value, target.in_class.name.value)  # type: ignore[union-attr]
        driver.insert(0, cst.parse_statement(
            f'{names["method"]} = __class__.__dict__["{key}"]', config=module_config))
    if visited_once:
        node = _node_parameter(function, walk, callee)
        guard = VISITED_GUARD.format(visited=names["visited"], node=node)
        new_body = new_body.with_changes(body=list(
            cst.parse_module(guard, config=module_config).body) + list(new_body.body))
        driver.insert(0, cst.parse_statement(f"{names['visited']} = set()", config=module_config))
    new_body = new_body.with_changes(header=cst.TrailingWhitespace())
    driver[0] = driver[0].with_changes(leading_lines=[
        cst.EmptyLine(indent=False), cst.EmptyLine(comment=cst.Comment(COMMENT))])
    frame_def = cst.FunctionDef(
        name=cst.Name(frame), params=_frame_params(function.params),
        body=new_body)
    statements = _docstring(function) + [frame_def] + driver
    return function.with_changes(body=function.body.with_changes(body=statements))


VISITED_GUARD = """if id({node}) in {visited}:
    return
{visited}.add(id({node}))
"""


def _node_parameter(function: Function, walk: "_Walk", callee: Callee) -> str:
    """The one parameter the recursive calls pass something else to (the node)."""
    if not walk.statement_calls and not walk.yields:
        raise NoFix("the recursive call's result is used: a node skipped as visited "
                    "would return None")
    if walk.yields and not walk.statement_yields:
        raise NoFix("a yield's value is used")
    params = param_names(function.params)
    changed = set()
    if isinstance(callee, tuple):  # a method: the object it runs on moves, or an argument
        me, params = params[0], params[1:]
        if any(not (isinstance(c.func.value, cst.Name) and c.func.value.value == me)  # type: ignore[attr-defined]
               for c in walk.calls):
            changed.add(me)
    for call in walk.calls:
        for index, arg in enumerate(call.args):
            if arg.star:
                raise NoFix("a recursive call with *args or **kwargs")
            name = arg.keyword.value if arg.keyword is not None else (
                params[index] if index < len(params) else None)
            if name is None:
                raise NoFix("more arguments than parameters")
            if not (isinstance(arg.value, cst.Name) and arg.value.value == name):
                changed.add(name)
    if len(changed) != 1:
        raise NoFix("the recursion moves more than the node (a gradient too): entering a node "
                    "once would drop what its other paths bring")
    return changed.pop()


# -- what may be rewritten ------------------------------------------------------------------
def _check_signature(function: Function) -> None:
    if function.asynchronous is not None:
        raise NoFix("async def: the frames would have to be awaited")
    if function.decorators:
        raise NoFix("decorated: the recursive calls go through the decorator")
    if not isinstance(function.body, cst.IndentedBlock):
        raise NoFix("a one-line body")
    params = function.params
    for param in list(params.posonly_params) + list(params.params) + list(params.kwonly_params):
        default = param.default
        if default is None or isinstance(default, LITERALS):
            continue
        if isinstance(default, cst.Name) and default.value in {"None", "True", "False"}:
            continue
        raise NoFix("a default value that is not a constant (it would be made per call)")


def _comprehensions_as_loops(function: Function, callee: Callee) -> Function:
    """``[walk(c) for c in node.children if c not in seen]`` as a statement (its list thrown
    away) becomes the ``for`` / ``if`` statements it stands for, so that the call in it can
    become a frame: the same calls in the same order, the iterables and conditions evaluated
    at the same moments. Only where the comprehension's names are used nowhere else in the
    function (a loop's names outlive it)."""
    return function.with_changes(body=function.body.visit(_ComprehensionToLoop(function, callee)))


class _ComprehensionToLoop(cst.CSTTransformer):
    def __init__(self, function: Function, callee: Callee) -> None:
        super().__init__()
        self.function = function
        self.callee = callee

    def on_visit(self, node: cst.CSTNode) -> bool:
        return not isinstance(node, SCOPES)

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine):
        if len(original.body) != 1 or not isinstance(original.body[0], cst.Expr):
            return updated
        comprehension = original.body[0].value
        if not (isinstance(comprehension, (cst.ListComp, cst.SetComp))
                and _is_recursive_call(comprehension.elt, self.callee)
                and not comprehension.lpar and self._names_private(comprehension)):
            return updated
        loop = self._loops(comprehension.for_in, comprehension.elt)
        if loop is None:
            return updated
        return loop.with_changes(leading_lines=original.leading_lines)

    def _names_private(self, comprehension: cst.BaseComp) -> bool:
        inside = {id(n) for n in every_node(comprehension)}
        names: Set[str] = set()
        clause = comprehension.for_in
        while clause is not None:
            names.update(bound_by(clause.target))
            clause = clause.inner_for_in
        return not any(isinstance(n, cst.Name) and n.value in names and id(n) not in inside
                       for n in every_node(self.function))

    def _loops(self, clause, element: cst.BaseExpression):
        if clause is None:
            return cst.SimpleStatementLine([cst.Expr(element)])
        if clause.asynchronous is not None:
            return None
        inner = self._loops(clause.inner_for_in, element)
        if inner is None:
            return None
        for condition in reversed(clause.ifs):
            inner = cst.If(test=condition.test, body=cst.IndentedBlock([inner]))
        return cst.For(target=clause.target, iter=clause.iter, body=cst.IndentedBlock([inner]))


def _check_self_recursion(target: Target) -> None:
    """The finding's cycle is this function calling itself (through other functions, the
    frames would not remove the depth: the calls to them stay calls)."""
    steps = {(step.line, step.function, step.path) for step in target.finding.chain}
    if len(steps) > 1 or any(line != target.finding.line for line, _, _ in steps):
        raise NoFix("the recursion goes through other functions")


def _callee(target: Target) -> Callee:
    """How the function calls itself: by name, or (a method) as ``x.name(...)`` on any
    object - the frames check at run time that ``x.name`` is this very method."""
    function = target.function
    name = function.name.value
    if target.in_class is None:
        _check_not_rebound(target.parents[-1], function)
        return name
    if not param_names(function.params):
        raise NoFix("a method without parameters")
    return "", name


def _check_not_rebound(scope: cst.CSTNode, function: Function) -> None:
    """Its ``def`` is the only binding of its name in the scope that holds it (one walk
    of that scope: for a module function, the whole module)."""
    name = function.name.value
    definitions = 0
    for node, _ in own_scope(scope):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node.name.value == name:
            definitions += 1
        if definitions > 1 or _binds_otherwise(node, name):
            raise NoFix(f"`{name}` is bound to something else too")


def _binds_otherwise(node: cst.CSTNode, name: str) -> bool:
    """``node`` binds ``name`` other than by a ``def`` (assignment, import, loop target)."""
    if isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For,
                         cst.AsName, cst.NamedExpr, cst.Del)):
        target = node.name if isinstance(node, cst.AsName) else node.target
        return name in bound_by(target)
    if isinstance(node, cst.ImportAlias) and node.asname is None:
        return cst.helpers.get_full_name_for_node(node.name).split(".")[0] == name
    return False


class _Walk:
    """The function's own scope, read once: its recursive calls and yields, and whether
    the shape is one the frames reproduce exactly."""

    def __init__(self, function: Function, callee: Callee) -> None:
        self.calls: Set[cst.Call] = set()
        self.yields: Set[cst.Yield] = set()
        self.statement_calls = True  # every recursive call's result is unused
        self.statement_yields = True  # every yield's value is unused
        self.returns_value = False
        recursion_names = set()
        for node, above in own_scope(function.body):
            if isinstance(node, SCOPES):
                if _mentions(node, callee):
                    raise NoFix("a recursive call from a nested scope (lambda, "
                                "comprehension, nested def)")
                continue
            if isinstance(node, cst.Await):
                raise NoFix("await")
            if isinstance(node, cst.Name) and node.value in INTROSPECTION:
                raise NoFix(f"`{node.value}`: it would see the frames")
            if isinstance(node, cst.Return) and node.value is not None:
                self.returns_value = True
            if isinstance(node, cst.Yield):
                self.yields.add(node)
                self.statement_yields &= bool(above) and isinstance(above[-1], cst.Expr)
            if _is_recursive_call(node, callee):
                self._call(node, above)
                recursion_names.add(id(node.func))
        self._check_other_uses(function, callee, recursion_names)
        if not self.calls:
            raise NoFix("no direct recursive call (the recursion goes through other "
                        "functions)")
        if self.yields:
            if isinstance(callee, tuple):
                raise NoFix("a recursive generator method (its calls may run another "
                            "class's generator)")
            self._check_generator()

    def _call(self, node: cst.Call, above: Tuple[cst.CSTNode, ...]) -> None:
        if any(isinstance(a, (cst.Try, cst.TryStar, cst.With)) for a in above):
            raise NoFix("a try or with around the recursive call: an exception would skip "
                        "its handlers")
        if any(isinstance(a, cst.FormattedString) for a in above):
            raise NoFix("a recursive call inside an f-string")
        self.calls.add(node)
        self.statement_calls &= bool(above) and isinstance(above[-1], cst.Expr)

    def _check_other_uses(self, function: Function, callee: Callee, calls: Set[int]) -> None:
        for node, _ in own_scope(function.body):
            if id(node) in calls:
                continue
            if isinstance(callee, str) and isinstance(node, cst.Name) and node.value == callee:
                if not _is_attribute_name(node, function):
                    raise NoFix(f"`{callee}` is used other than called")
            if (isinstance(callee, tuple) and isinstance(node, cst.Attribute)
                    and node.attr.value == callee[1]):
                raise NoFix(f"`.{callee[1]}` is used other than called")

    def _check_generator(self) -> None:
        calls_in_yield_from = set()
        for node in self.yields:
            if isinstance(node.value, cst.From):
                if node.value.item not in self.calls:
                    raise NoFix("yield from something other than the recursive call")
                calls_in_yield_from.add(node.value.item)
        if calls_in_yield_from != self.calls:
            raise NoFix("a generator calling itself other than by `yield from`")


def _is_recursive_call(node: cst.CSTNode, callee: Callee) -> bool:
    if isinstance(callee, str):
        return is_call_to(node, callee)
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == callee[1])


def _is_attribute_name(node: cst.Name, function: Function) -> bool:
    """``x.name``: the Name is an attribute, not a use of the function."""
    for candidate in every_node(function.body):
        if isinstance(candidate, cst.Attribute) and candidate.attr is node:
            return True
        if isinstance(candidate, cst.Arg) and candidate.keyword is node:
            return True
    return False


def _mentions(scope: cst.CSTNode, callee: Callee) -> bool:
    for node in every_node(scope):
        if isinstance(callee, str) and isinstance(node, cst.Name) and node.value == callee:
            return True
        if isinstance(callee, tuple) and isinstance(node, cst.Attribute) \
                and node.attr.value == callee[1]:
            return True
    return False


# -- the rewrite ----------------------------------------------------------------------------
def _frame_name(function: Function) -> str:
    return fresh_name(f"{function.name.value}_frame", names_used(function))


def _driver(walk: _Walk) -> str:
    if walk.yields:
        simple = walk.statement_yields and not walk.returns_value
        return GENERATOR if simple else GENERATOR_WITH_RESULTS
    return CALLS_ONLY if walk.statement_calls and not walk.returns_value else WITH_RESULTS


class _CallsToYields(cst.CSTTransformer):
    """In the function's own scope: ``f(args)`` -> ``yield f_frame(args)``; in a generator
    ``yield from f(args)`` -> ``yield True, f_frame(args)`` and ``yield x`` ->
    ``yield False, x``."""

    def __init__(self, walk: _Walk, frame: str, callee: Callee, config,
                 method: Tuple[str, str] = ("", "")) -> None:
        super().__init__()
        self.config = config
        self.walk = walk
        self.frame = frame
        self.generator = bool(walk.yields)
        # a method: (the local holding this method's function, the frame's bound-method local)
        self.method, self.bound = method

    def on_visit(self, node: cst.CSTNode) -> bool:
        return not isinstance(node, SCOPES)

    def _frame_call(self, call: cst.Call) -> cst.Call:
        return call.with_changes(func=cst.Name(self.frame), lpar=[], rpar=[])

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if original not in self.walk.calls or self.generator:
            return updated
        if self.method:
            return self._dispatch(updated)
        return cst.Yield(value=self._frame_call(updated),
                         lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    def _dispatch(self, call: cst.Call) -> cst.BaseExpression:
        """``x.m(args)`` -> ``(yield m_frame(b.__self__, args)) if getattr((b := x.m),
        "__func__", None) is method else b(args)``: ``x.m`` is looked up once, as before;
        where it is this very method its frame goes on the stack, anything else (an
        override, another class's method, an instance attribute) is called as before."""
        bound = cst.Name(self.bound)
        args = list(call.args)
        frame = cst.Call(cst.Name(self.frame), [cst.Arg(cst.Attribute(
            bound, cst.Name("__self__")), comma=_COMMA if args else cst.MaybeSentinel.DEFAULT)] + args)
        lookup = cst.NamedExpr(bound, call.func, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        test = cst.Comparison(
            cst.Call(cst.Name("getattr"), [cst.Arg(lookup, comma=_COMMA),
                                           cst.Arg(cst.SimpleString('"__func__"'), comma=_COMMA),
                                           cst.Arg(cst.Name("None"))]),
            [cst.ComparisonTarget(cst.Is(), cst.Name(self.method))])
        return cst.IfExp(
            test=test, body=cst.Yield(frame, lpar=[cst.LeftParen()], rpar=[cst.RightParen()]),
            orelse=call.with_changes(func=bound, lpar=[], rpar=[]),
            lpar=call.lpar if call.lpar else [cst.LeftParen()],
            rpar=call.rpar if call.rpar else [cst.RightParen()])

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine):
        """A method's recursive call as a whole statement reads better as an ``if``."""
        if not (self.method and len(original.body) == 1 and isinstance(original.body[0], cst.Expr)
                and original.body[0].value in self.walk.calls):
            return updated
        dispatch = updated.body[0].value  # type: ignore[attr-defined]
        code = cst.Module([]).code_for_node
        lookup = dispatch.test.left.args[0].value.value
        text = (f"{self.bound} = {code(lookup)}\n"
                f'if getattr({self.bound}, "__func__", None) is {self.method}:\n'
                f"    yield {code(dispatch.body.value)}\n"
                f"else:\n"
                f"    {code(dispatch.orelse)}\n")
        statements = list(cst.parse_module(text, config=self.config).body)
        statements[0] = statements[0].with_changes(leading_lines=updated.leading_lines,
                                                   trailing_whitespace=updated.trailing_whitespace)
        return cst.FlattenSentinel(statements)

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr) -> cst.Expr:
        # a call (or yield) that is the whole statement needs no parentheses
        value = updated.value
        if isinstance(value, (cst.Yield, cst.IfExp)) and isinstance(original.value, (cst.Call, cst.Yield)):
            return updated.with_changes(value=value.with_changes(lpar=[], rpar=[]))
        return updated

    def leave_Yield(self, original: cst.Yield, updated: cst.Yield) -> cst.Yield:
        if not self.generator or original not in self.walk.yields:
            return updated
        if isinstance(updated.value, cst.From):
            pair = [cst.Name("True"), self._frame_call(updated.value.item)]
        else:
            value = updated.value if updated.value is not None else cst.Name("None")
            if isinstance(value, cst.Tuple) and not value.lpar:
                value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            pair = [cst.Name("False"), value]
        elements = [cst.Element(pair[0], comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                    cst.Element(pair[1])]
        return updated.with_changes(value=cst.Tuple(elements, lpar=[], rpar=[]),
                                    whitespace_after_yield=cst.SimpleWhitespace(" "))


_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _strip_annotation(param: cst.Param) -> cst.Param:
    return param.with_changes(annotation=None)


def _frame_params(params: cst.Parameters) -> cst.Parameters:
    star = params.star_arg
    return params.with_changes(
        posonly_params=[_strip_annotation(p) for p in params.posonly_params],
        params=[_strip_annotation(p) for p in params.params],
        kwonly_params=[_strip_annotation(p) for p in params.kwonly_params],
        star_arg=_strip_annotation(star) if isinstance(star, cst.Param) else star,
        star_kwarg=_strip_annotation(params.star_kwarg) if params.star_kwarg else None,
    )


def _root_call(function: Function, frame: str) -> cst.Call:
    """``f_frame(a, b, *args, k=k, **kw)``: the function's own arguments, passed on."""
    params = function.params
    args: List[cst.Arg] = [cst.Arg(cst.Name(p.name.value))
                           for p in list(params.posonly_params) + list(params.params)]
    if isinstance(params.star_arg, cst.Param):
        args.append(cst.Arg(cst.Name(params.star_arg.name.value), star="*"))
    args.extend(cst.Arg(cst.Name(p.name.value), keyword=cst.Name(p.name.value),
                        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
                for p in params.kwonly_params)
    if params.star_kwarg is not None:
        args.append(cst.Arg(cst.Name(params.star_kwarg.name.value), star="**"))
    return cst.Call(func=cst.Name(frame), args=args)


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _docstring(function: Function) -> List[cst.BaseStatement]:
    body = list(function.body.body)
    return body[:1] if body and _is_docstring(body[0]) else []


def _body_without_docstring(function: Function) -> cst.IndentedBlock:
    body = list(function.body.body)
    if body and _is_docstring(body[0]):
        body = body[1:]
        if body:
            body[0] = body[0].with_changes(leading_lines=[
                line for line in body[0].leading_lines if line.comment is not None])
    return function.body.with_changes(body=body)
