"""The screen's proof, on CPython's ``ast``, that a recursion cannot be reported as endless.

Half of what libcst parses in a file that can hold a finding is functions on cycles of
calls - and most real recursions end: a base case returns, and every recursive call sits
behind a test that reads what the call changes. BPL101-103 (checks/recursion.py) report
a function only on a cycle of calls (a self-call is one) that is

* *doomed*: each of its functions runs a call on the cycle on every path of its
  control-flow graph (BPL101, BPL103 "on every path"), or
* *without progress*: each of its calls is reached by a path along which every test reads
  only *stable* values - the parameters the calls pass on unchanged, pure builtins of
  them, globals (BPL102, and BPL103 "without progress").

So a cycle needs no body parsed when the functions without an *exit* form no cycle among
themselves, and the calls without a *block* form none: every cycle then runs through a
function with a way out and through a call the path search cannot reach. The halves of
the proof are each function's own (:class:`CycleMember`):

* an *exit*: a way from entry to a ``return``, a ``raise`` or the end that runs no call on
  the cycle (checked statement by statement, claiming a way only where the control-flow
  graph surely has one: a ``for`` may run zero times, both arms of an ``if`` are open);
* a *block* before a call on the cycle, where checks/recursion.py's path search
  stops: a test every way to the call crosses (an enclosing ``if`` / ``while`` / ``for`` /
  comprehension / conditional expression / ``and``-``or`` operand, or one of those
  statements earlier in the same list) that is surely unstable - it calls something
  other than a pure builtin, holds a lambda, a comprehension, an ``await`` / ``yield`` /
  ``:=``, or reads a parameter that no call on the cycle passes on as it is (``f(n - 1)``
  behind ``if n == 0``); or code every such way runs that the search cannot see through:
  a call of something other than a pure builtin (also in the call's own arguments), a
  store into an attribute or an item, the entering of a ``with``.

Which calls are on the cycle is the screen's own resolution (over-approximating the
analysis's: see screen.py's ``_Resolver.narrow``), so the full analysis's cycles are among
those judged here. Anything unsure is no proof.
"""

from __future__ import annotations

import ast
from typing import Callable, Container, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from .astwalk import inner_children
from .cfg import PURE_BUILTINS

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# statements that run their expressions and go on
_STRAIGHT = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Pass, ast.Delete,
             ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Assert)
_WITH = (ast.With, ast.AsyncWith)
# the fields holding statements that run one after another
_STATEMENT_LISTS = ("body", "orelse", "finalbody")
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# expressions whose stability checks/recursion.py never grants
_NEVER_STABLE = (ast.Lambda, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr) + _COMPREHENSIONS
# expressions whose parts may not run (or not now)
_CONDITIONAL = (ast.Lambda, ast.JoinedStr) + _COMPREHENSIONS
# tests the control-flow graph may treat as constant (cfg._is_always_true and the
# non-empty literals a ``for`` surely enters): no way around them is claimed
_LITERALS = (ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Set, ast.Dict)

# (may leave the function, may go on to the next statement)
Flow = Tuple[bool, bool]
_STUCK: Flow = (False, False)


def recursion_ends(function: ast.AST, receiver: Optional[str],
                   on_cycle: Callable[[ast.Call], bool]) -> bool:
    """True when neither BPL101 nor BPL102 nor BPL103 can be reported for ``function``
    as a member of the cycle whose calls ``on_cycle`` recognises."""
    member = CycleMember(function, receiver, on_cycle)
    return member.exits() and not member.open_calls()


class CycleMember:
    """The two halves of the proof for one function of a cycle, asked separately: a cycle
    of several functions needs them of some members only (screen.py)."""

    def __init__(self, function: ast.AST, receiver: Optional[str],
                 on_cycle: Callable[[ast.Call], bool]):
        self.function = function
        self.receiver = receiver
        self.proof = _Proof(function, on_cycle)

    def exits(self) -> bool:
        """A way from entry out of the function that runs no call on the cycle."""
        return self.proof.exits()

    def open_calls(self) -> List[ast.Call]:
        """The calls on the cycle that no block stands before (see the module's text)."""
        moving = frozenset(parameter_names(self.function) - self.proof.passed_on(self.receiver))
        return [call for call in self.proof.cycle_calls if not self.proof.blocked(call, moving)]


def parameter_names(function: ast.AST) -> Set[str]:
    """Every name the function's parameters bind."""
    args = function.args  # type: ignore[attr-defined]
    named = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    return {a.arg for a in named}


class _Proof:
    def __init__(self, function: ast.AST, on_cycle: Callable[[ast.Call], bool]):
        self.function = function
        self.on_cycle = on_cycle
        self.parents: Dict[int, ast.AST] = {}
        self.cycle_calls: List[ast.Call] = []
        # each statement's place: (the list that holds it, its index there)
        self.places: Dict[int, Tuple[List[ast.stmt], int]] = {}
        # per list (and moving parameters): the index of its first statement that blocks
        # every way past it
        self._first_blocks: Dict[Tuple[int, FrozenSet[str], bool], int] = {}
        self.parameters = parameter_names(function)
        self._open_tests: Dict[int, int] = {}
        self.tested = _TestedAttributes(function)
        # the code that runs with the function: nested bodies excluded, their decorators
        # and defaults included (lambdas and class bodies are kept: only more to guard)
        stack: List[ast.AST] = [function]
        while stack:
            node = stack.pop()
            children = _runs_now(node) if node is not function else list(function.body)  # type: ignore
            for child in children:
                self.parents[id(child)] = node
            stack.extend(children)
            for field in _STATEMENT_LISTS if node is function or type(node) not in _FUNCTIONS else ():
                statements = getattr(node, field, None)
                if type(statements) is list:
                    for index, statement in enumerate(statements):
                        self.places[id(statement)] = (statements, index)
            if type(node) is ast.Call and on_cycle(node):
                self.cycle_calls.append(node)

    # -- the exit ---------------------------------------------------------------------
    def exits(self) -> bool:
        leaves, goes_on = self._flow(self.function.body)  # type: ignore[attr-defined]
        return leaves or goes_on  # falling off the end returns

    def _calls_on_cycle(self, *nodes: Optional[ast.AST]) -> bool:
        """Every way through evaluating ``nodes`` may run a call on the cycle: only the
        left operand of ``and`` / ``or``, an arm of ``x if c else y`` without such calls,
        and a comprehension's first iterable are looked past (the control-flow graph
        always has the way around the rest)."""
        stack = [n for n in nodes if n is not None]
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Call and self.on_cycle(node):  # type: ignore[arg-type]
                return True
            if kind is ast.BoolOp:
                stack.append(node.values[0])  # type: ignore[attr-defined]
            elif kind is ast.IfExp:
                stack.append(node.test)  # type: ignore[attr-defined]
                if not (self._has_call_on_cycle(node.body) and self._has_call_on_cycle(node.orelse)):  # type: ignore
                    continue
                return True
            elif kind in _COMPREHENSIONS:
                stack.append(node.generators[0].iter)  # type: ignore[attr-defined]
            else:
                stack.extend(inner_children(node))
        return False

    def _has_call_on_cycle(self, node: ast.AST) -> bool:
        return any(type(n) is ast.Call and self.on_cycle(n) for n in ast.walk(node))  # type: ignore

    def _flow(self, statements: Iterable[ast.stmt]) -> Flow:
        for statement in statements:
            leaves, goes_on = self._statement(statement)
            if leaves:
                return True, False
            if not goes_on:
                return _STUCK
        return False, True

    def _statement(self, statement: ast.stmt) -> Flow:
        kind = type(statement)
        if kind in _STRAIGHT:
            return False, not self._calls_on_cycle(statement)
        if kind is ast.Return or kind is ast.Raise:
            return not self._calls_on_cycle(statement), False
        if kind is ast.If:
            return self._branches(statement.test, statement.body, statement.orelse)
        if kind is ast.While:
            return self._loop(statement.test, statement.body, statement.orelse)
        if kind is ast.For or kind is ast.AsyncFor:
            if self._calls_on_cycle(statement.target):
                return _STUCK
            return self._loop(statement.iter, statement.body, statement.orelse)
        if kind is ast.With or kind is ast.AsyncWith:
            if any(self._calls_on_cycle(i.context_expr, i.optional_vars) for i in statement.items):
                return _STUCK
            return self._flow(statement.body)
        if kind is ast.Try:
            return self._try(statement)
        if kind in _FUNCTIONS:
            return False, not self._calls_on_cycle(*_header(statement))
        return _STUCK  # break / continue / match / class / try-star: no way claimed

    def _branches(self, test: ast.expr, body: List[ast.stmt], orelse: List[ast.stmt]) -> Flow:
        if self._calls_on_cycle(test):
            return _STUCK
        body_leaves, body_goes_on = self._flow(body)
        else_leaves, else_goes_on = self._flow(orelse)
        return body_leaves or else_leaves, body_goes_on or else_goes_on

    def _loop(self, test: ast.expr, body: List[ast.stmt], orelse: List[ast.stmt]) -> Flow:
        """A ``while`` (``test`` its condition) or a ``for`` (``test`` what it iterates):
        the body may run, or - unless the test is a literal - not at all."""
        if self._calls_on_cycle(test):
            return _STUCK
        body_leaves, _ = self._flow(body)  # (going on through ``break``: not claimed)
        if isinstance(test, _LITERALS):
            return body_leaves, False
        else_leaves, else_goes_on = self._flow(orelse)
        return body_leaves or else_leaves, else_goes_on

    def _try(self, statement: ast.Try) -> Flow:
        # a finally block runs on every way out: only plain statements off the cycle
        # (a ``continue`` there would swallow a return)
        final = statement.finalbody
        if final and (not all(isinstance(s, _STRAIGHT) for s in final) or self._calls_on_cycle(*final)):
            return _STUCK
        body_leaves, body_goes_on = self._flow(statement.body)
        if not body_goes_on:
            return body_leaves, False
        else_leaves, else_goes_on = self._flow(statement.orelse)
        return body_leaves or else_leaves, else_goes_on

    # -- the guards -------------------------------------------------------------------
    def passed_on(self, receiver: Optional[str]) -> Set[str]:
        """Every name some call on the cycle hands on as it is: an argument, a ``*`` /
        ``**`` argument, a keyword's value, the object of ``obj.m()``; and the receiver."""
        passed = {receiver} if receiver else set()
        for call in self.cycle_calls:
            values = [a.value if type(a) is ast.Starred else a for a in call.args]
            values += [k.value for k in call.keywords]
            if type(call.func) is ast.Attribute:
                values.append(call.func.value)
            passed.update(v.id for v in values if type(v) is ast.Name)
        return passed

    def blocked(self, call: ast.Call, moving: FrozenSet[str]) -> bool:
        """Every way from entry to ``call`` crosses a test that ``moving`` makes unstable,
        or runs code the path search cannot see through (a call of unknown code, a store
        into an attribute or an item, a ``with``): the search in checks/recursion.py drops
        each such path."""
        # code of unknown effect on the way blocks only where a test every way crosses
        # is not proof against it (checks/recursion.py: no call rebinds a local)
        calls_block = self._crosses_a_test_open_to_calls(call)
        if calls_block and any(_surely_runs_unknown_code(part) for part in [call.func] + call.args + call.keywords):
            return True  # ``f(g(n))``: g runs first
        child: ast.AST = call
        node = self.parents.get(id(call))
        while node is not None:
            parent = self.parents.get(id(node))
            test = _guarding_test(node, child, parent)
            if test is not None and _unstable(test, moving):
                return True
            if type(node) in _WITH and child in node.body and _enters_code(node):  # type: ignore[attr-defined]
                return True  # entering the context runs unknown code
            if self._after_a_block(child, moving, calls_block):
                return True
            child, node = node, parent
        return False

    def _crosses_a_test_open_to_calls(self, call: ast.Call) -> bool:
        """Every way to ``call`` crosses a test that a call may change (not
        :func:`_call_proof`): an enclosing one, or that of an ``if`` / ``while`` / ``for``
        before it in an enclosing list of statements."""
        child: ast.AST = call
        node = self.parents.get(id(call))
        while node is not None:
            parent = self.parents.get(id(node))
            test = _guarding_test(node, child, parent)
            if test is not None and not _call_proof(test, self.parameters):
                return True
            place = self.places.get(id(child))
            if place is not None and self._first_open_test(place[0]) < place[1]:
                return True
            child, node = node, parent
        return False

    def _first_open_test(self, statements: List[ast.stmt]) -> int:
        """The index of the first ``if`` / ``while`` / ``for`` in the list whose test a
        call may change (once per list)."""
        first = self._open_tests.get(id(statements))
        if first is None:
            first = next((i for i, s in enumerate(statements) if _open_to_calls(s, self.parameters)),
                         len(statements))
            self._open_tests[id(statements)] = first
        return first

    def _after_a_block(self, statement: ast.AST, moving: FrozenSet[str], calls_block: bool) -> bool:
        """A statement before ``statement`` in its list blocks every way past it (each
        list is scanned once: a long body of calls must not cost quadratic time)."""
        place = self.places.get(id(statement))
        if place is None:
            return False  # not a statement in a list: an expression, a handler, a case
        statements, index = place
        key = (id(statements), moving, calls_block)
        first = self._first_blocks.get(key)
        if first is None:
            first = next((i for i, s in enumerate(statements)
                          if _surely_blocks(s, moving, self.tested, calls_block)), len(statements))
            self._first_blocks[key] = first
        return first < index


def _runs_now(node: ast.AST) -> List[ast.AST]:
    """Its parts that run where it stands (names and constants left out: no call there)."""
    if type(node) in _FUNCTIONS:
        return _header(node)
    return inner_children(node)


def _header(definition: ast.AST) -> List[ast.AST]:
    """What a nested ``def`` runs where it stands: decorators and defaults."""
    args = definition.args  # type: ignore[attr-defined]
    return definition.decorator_list + [d for d in args.defaults + args.kw_defaults if d]  # type: ignore


def _surely_blocks(statement: ast.stmt, moving: Set[str], tested: Container[str], calls_block: bool = True) -> bool:
    """Every way through ``statement`` crosses an unstable test or runs what the path
    search cannot see through (``tested``: the attributes the function's tests read;
    ``calls_block``: a call of unknown code counts)."""
    kind = type(statement)
    if kind is ast.If or kind is ast.While:
        return not isinstance(statement.test, _LITERALS) and _unstable(statement.test, moving)
    if kind is ast.For or kind is ast.AsyncFor:
        return not isinstance(statement.iter, _LITERALS) and _unstable(statement.iter, moving)
    if kind in _WITH:
        return _enters_code(statement)
    if kind is ast.Expr:
        return calls_block and _surely_runs_unknown_code(statement.value)
    if kind is ast.AnnAssign and statement.value is None:
        return False  # stores nothing
    if kind in (ast.Assign, ast.AugAssign, ast.AnnAssign):
        targets = statement.targets if kind is ast.Assign else [statement.target]
        return calls_block and (_surely_runs_unknown_code(statement.value) or any(
            _surely_runs_unknown_code(t) for t in targets)) or any(_stores_into_an_object(t, tested) for t in targets)
    return False


def _stores_into_an_object(target: ast.expr, tested: Container[str]) -> bool:
    """``a[i] = ...``, or ``a.b = ...`` where a test reads some ``.b`` (a store into an
    attribute no test reads changes nothing they read - checks/progress.py), also inside
    a tuple of targets."""
    kind = type(target)
    if kind is ast.Subscript:
        return True
    if kind is ast.Attribute:
        return target.attr in tested  # type: ignore[attr-defined]
    if kind is ast.Tuple or kind is ast.List:
        return any(_stores_into_an_object(e, tested) for e in target.elts)  # type: ignore[attr-defined]
    return kind is ast.Starred and _stores_into_an_object(target.value, tested)  # type: ignore[attr-defined]


# the context managers whose entering checks/progress.py may call inert (a lock held in a
# name or an attribute, ``contextlib.suppress(...)`` / ``nullcontext(...)``)
_INERT_CONTEXT_CALLS = frozenset({"suppress", "nullcontext"})


def _enters_code(statement: ast.AST) -> bool:
    """Entering some item of the ``with`` surely runs code the path search cannot see
    through: it is neither a name, an attribute of a name, nor a call named like an
    inert context manager."""
    for item in statement.items:  # type: ignore[attr-defined]
        manager = item.context_expr
        kind = type(manager)
        if kind is ast.Name or (kind is ast.Attribute and type(manager.value) is ast.Name):
            continue
        if kind is ast.Call:
            func = manager.func
            name = func.id if type(func) is ast.Name else func.attr if type(func) is ast.Attribute else None
            if name in _INERT_CONTEXT_CALLS:
                continue
        return True
    return False


def _binds_a_name(target: ast.expr) -> bool:
    """``x = ...``, also unpacked (``x, self.y = ...``): the value is a local's."""
    kind = type(target)
    if kind is ast.Tuple or kind is ast.List:
        return any(_binds_a_name(e) for e in target.elts)  # type: ignore[attr-defined]
    if kind is ast.Starred:
        return _binds_a_name(target.value)  # type: ignore[attr-defined]
    return kind is ast.Name


class _TestedAttributes:
    """:func:`_tested_attributes`, worked out on the first question: most proofs never
    meet a store into an attribute, and the walk reads the whole body."""

    def __init__(self, function: ast.AST) -> None:
        self._function = function
        self._names: Optional[Set[str]] = None

    def __contains__(self, name: object) -> bool:
        if self._names is None:
            self._names = _tested_attributes(self._function)
        return name in self._names


def _tested_attributes(function: ast.AST) -> Set[str]:
    """The attribute names (and strings) that the function's own tests (``if`` /
    ``while`` / conditional expression / ``for`` iterable) and the values it assigns to
    names read: never more than checks/progress.py's GuardReads finds there."""
    tested: Set[str] = set()
    stack: List[ast.AST] = list(function.body)  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind in _FUNCTIONS or kind is ast.ClassDef or kind is ast.Lambda or kind in _COMPREHENSIONS:
            continue
        read = None
        if kind is ast.If or kind is ast.While or kind is ast.IfExp:
            read = node.test  # type: ignore[attr-defined]
        elif kind is ast.For or kind is ast.AsyncFor:
            read = node.iter  # type: ignore[attr-defined]
        elif kind is ast.Assign and any(_binds_a_name(t) for t in node.targets):  # type: ignore
            read = node.value  # type: ignore[attr-defined]
        if read is not None:
            parts = [read]
            while parts:
                part = parts.pop()
                if type(part) is ast.Attribute:
                    tested.add(part.attr)  # type: ignore[attr-defined]
                elif type(part) is ast.Constant and type(part.value) is str:  # type: ignore[attr-defined]
                    tested.add(part.value)  # type: ignore[attr-defined]
                if type(part) is not ast.JoinedStr:  # (its pieces are no attribute names)
                    parts.extend(ast.iter_child_nodes(part))
        stack.extend(ast.iter_child_nodes(node))
    return tested


def _surely_runs_unknown_code(expr: Optional[ast.AST]) -> bool:
    """Evaluating ``expr`` calls something other than a pure builtin on every way through
    it (the arms of ``and`` / ``or``, of ``x if c else y``, comprehensions, lambdas and
    f-strings are not looked into)."""
    stack = [expr] if expr is not None else []
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Call and not _may_be_pure(node):  # type: ignore[arg-type]
            return True
        if kind is ast.IfExp:
            stack.append(node.test)  # type: ignore[attr-defined]
        elif kind is ast.BoolOp:
            stack.append(node.values[0])  # type: ignore[attr-defined]
        elif not isinstance(node, _CONDITIONAL):
            stack.extend(inner_children(node))
    return False


def _guarding_test(node: ast.AST, child: ast.AST, parent: Optional[ast.AST]) -> Optional[ast.expr]:
    """The test every way to ``child`` (a part of ``node``, whose own parent is
    ``parent``) passes, if ``node`` has one."""
    kind = type(node)
    if kind is ast.If or kind is ast.IfExp:
        return node.test if child is not node.test else None  # type: ignore[attr-defined]
    if kind is ast.While:
        return node.test if child is not node.test and not isinstance(node.test, _LITERALS) else None
    if kind is ast.For or kind is ast.AsyncFor:
        inside = child is not node.iter and child is not node.target  # type: ignore[attr-defined]
        return node.iter if inside and not isinstance(node.iter, _LITERALS) else None  # type: ignore
    if kind is ast.BoolOp:
        return node.values[0] if child is not node.values[0] else None  # type: ignore[attr-defined]
    if kind in _COMPREHENSIONS:
        # the loop over the first iterable may run zero times: a branch on it; the
        # parts of the first ``for`` are looked at from there (below)
        first = node.generators[0]  # type: ignore[attr-defined]
        return first.iter if child is not first and not isinstance(first.iter, _LITERALS) else None
    if kind is ast.comprehension and parent is not None and parent.generators[0] is node:  # type: ignore
        return node.iter if child is not node.iter and not isinstance(node.iter, _LITERALS) else None  # type: ignore
    return None


def _unstable(test: ast.expr, moving: Set[str]) -> bool:
    """``test`` surely reads something that may change from one call to the next:
    ``moving`` are the parameters no call on the cycle passes on as they are."""
    stack: List[ast.AST] = [test]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            if node.id in moving:  # type: ignore[attr-defined]
                return True
            continue
        if kind is ast.Call:
            if not _may_be_pure(node):  # type: ignore[arg-type]
                return True
            # (the name of a pure builtin is not read as a variable there)
            stack.extend(node.args + [k.value for k in node.keywords])  # type: ignore[attr-defined]
            continue
        if isinstance(node, _NEVER_STABLE):
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _open_to_calls(statement: ast.stmt, parameters: Set[str]) -> bool:
    """A statement whose test every way through it evaluates, and a call may change."""
    kind = type(statement)
    test = statement.test if kind is ast.If or kind is ast.While else (  # type: ignore[attr-defined]
        statement.iter if kind is ast.For or kind is ast.AsyncFor else None)  # type: ignore[attr-defined]
    return test is not None and not isinstance(test, _LITERALS) and not _call_proof(test, parameters)


def _call_proof(test: ast.expr, parameters: Set[str]) -> bool:
    """``test`` may be proof against calls (checks/recursion.py's _call_proof, with every
    parameter taken for one passed on unchanged): it reads parameters by identity or
    compares them with a number."""
    kind = type(test)
    if kind is ast.UnaryOp and type(test.op) is ast.Not:  # type: ignore[attr-defined]
        return _call_proof(test.operand, parameters)  # type: ignore[attr-defined]
    if kind is ast.BoolOp:
        return all(_call_proof(v, parameters) for v in test.values)  # type: ignore[attr-defined]
    if kind is ast.Call:
        func, args = test.func, test.args  # type: ignore[attr-defined]
        return (type(func) is ast.Name and func.id in ("isinstance", "issubclass", "callable")
                and bool(args) and type(args[0]) is ast.Name and args[0].id in parameters)
    if kind is ast.Compare and len(test.ops) == 1:  # type: ignore[attr-defined]
        sides = [test.left, test.comparators[0]]  # type: ignore[attr-defined]
        if type(test.ops[0]) in (ast.Is, ast.IsNot):  # type: ignore[attr-defined]
            return all(type(s) is ast.Name and s.id in parameters or _is_constant(s) for s in sides)
        if type(test.ops[0]) in (ast.Eq, ast.NotEq, ast.Lt, ast.Gt, ast.LtE, ast.GtE):  # type: ignore
            return any(type(a) is ast.Name and a.id in parameters and _is_number(b)
                       for a, b in (sides, sides[::-1]))
    return False


def _is_number(expr: ast.expr) -> bool:
    if type(expr) is ast.UnaryOp and type(expr.op) is ast.USub:  # type: ignore[attr-defined]
        expr = expr.operand  # type: ignore[attr-defined]
    return type(expr) is ast.Constant and type(expr.value) in (int, float)  # type: ignore[attr-defined]


def _is_constant(expr: ast.expr) -> bool:
    if type(expr) is ast.Constant and (expr.value is None or type(expr.value) is bool):  # type: ignore
        return True
    return _is_number(expr)


def _may_be_pure(call: ast.Call) -> bool:
    func = call.func
    if type(func) is ast.Name:
        return func.id in PURE_BUILTINS
    # a method of a literal (``", ".join(...)``): checks/recursion.py calls it pure
    return type(func) is ast.Attribute and isinstance(func.value, (ast.Constant, ast.JoinedStr))
