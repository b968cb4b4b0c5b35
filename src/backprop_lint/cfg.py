"""Per-function control-flow graph over libcst nodes (the rustc / Swift approach).

A function body is lowered into basic blocks. Each block holds the nodes evaluated in it,
in evaluation order, as :class:`Atom` records (an expression evaluated, a target stored or
deleted); its successors are the blocks control may reach next. One ``EXIT`` block stands
for every way out of the function: ``return``, ``raise``, falling off the end, a ``yield``
(the consumer may stop there) and calls that never return (``sys.exit``).

Modelled: if/elif/else, while/else, for/else (a loop may run zero times unless it iterates
a non-empty literal), break/continue, try/except/else/finally (a handler is reachable from
the start of every statement of its ``try`` body), with, match, return, raise, the
short-circuit of ``and``/``or``, conditional expressions, comprehensions (first iterable
eager, the rest per element), lambdas and nested ``def``/``class`` (only their defaults,
decorators and bases run now; a class body runs now). ``assert`` is not a base case.
Implicit exceptions are not exits (rustc ignores unwinding too).

Blocks inside a ``try`` whose handlers catch ``RecursionError`` without simply re-raising
(or inside ``with suppress(RecursionError)``) are *shielded*: a recursive call there ends
in a caught error, not in a crash.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from .names import all_params, child_nodes, dotted_name

# Roles of an atom: how the node takes part in execution.
EVAL = "eval"  # an expression is evaluated (a Call node: the call happens)
ITERATED = "iterated"  # a Call whose result is iterated now (for, yield from, list(...))
AWAITED = "awaited"  # a Call whose result is awaited now
STORE = "store"  # an assignment target
DELETE = "delete"  # a del target
ENTER = "enter"  # a with-item's context manager is entered (runs unknown code)
YIELD = "yield"  # control passes to the consumer (it may stop here)


# Builtins whose call consumes an iterable argument right away...
CONSUMING_BUILTINS = frozenset("list tuple set frozenset dict sorted sum min max any all next".split())
# ...and lazy wrappers that iterate their arguments only when they are iterated themselves.
LAZY_WRAPPERS = frozenset("enumerate zip map filter reversed iter".split())
_CONSUMING_ONLY_FIRST = frozenset({"next"})

# Builtins that neither change program state nor run code of the program's own (beyond
# dunder methods we do not model): a guard that calls them still reads stable state
# (checks/recursion.py; the screen's proof in ending.py agrees with it).
PURE_BUILTINS = frozenset(
    "len isinstance issubclass type id hasattr getattr callable str int float bool abs repr "
    "tuple frozenset hash ord chr min max sum any all sorted round divmod pow format print "
    "list dict set range enumerate zip reversed bytes complex vars dir".split()
)

# Calls that never return to the caller: treated as exits.
_NORETURN_CALLS = frozenset(
    "sys.exit exit quit os._exit os.abort pytest.fail pytest.skip pytest.exit pytest.xfail "
    "self.fail self.skipTest unittest.SkipTest".split()
)
# Helpers that exist to raise (``_raise_type_error(x)``, ``self.error(msg)``): a statement
# that only calls one is treated as a possible exit, so their callers are not accused.
_RAISING_HELPER = re.compile(
    r"raise|error|fail|abort|throw|die|panic|bail|unreachable|exit|unsupported|"
    r"not_?implemented|invalid|assert|reject",
    re.IGNORECASE,
)

# Exception classes that cannot catch RecursionError (RecursionError <- RuntimeError <-
# Exception <- BaseException). An unknown name may alias one that can: it shields.
_NON_CATCHING = frozenset(
    "ArithmeticError AssertionError AttributeError BufferError EOFError ImportError "
    "ModuleNotFoundError LookupError IndexError KeyError MemoryError NameError "
    "UnboundLocalError OSError IOError EnvironmentError FileNotFoundError FileExistsError "
    "PermissionError TimeoutError ConnectionError BrokenPipeError ReferenceError "
    "StopIteration StopAsyncIteration SyntaxError SystemError TypeError ValueError "
    "UnicodeError UnicodeDecodeError UnicodeEncodeError ZeroDivisionError OverflowError "
    "FloatingPointError KeyboardInterrupt SystemExit GeneratorExit Warning "
    "DeprecationWarning UserWarning NotImplementedError".split()
)


@dataclasses.dataclass(frozen=True)
class Atom:
    node: cst.CSTNode
    role: str


@dataclasses.dataclass
class Block:
    index: int
    atoms: List[Atom] = dataclasses.field(default_factory=list)
    successors: List[int] = dataclasses.field(default_factory=list)
    predecessors: int = 0
    shielded: bool = False
    # The expressions whose values decide which successor is taken, or None when the
    # choice does not depend on program state (fall-through, loop back edges).
    deciders: Optional[List[cst.BaseExpression]] = None
    # for an if / while / conditional expression: the successor taken when the test is true
    true_successor: Optional[int] = None
    # its edge to the exit is a raise (an exception leaves), not a return
    raises: bool = False
    # for a loop's head: whether the loop can stop (a for, a while whose test can be
    # false, a while True with a break); None for other blocks
    loop_stoppable: Optional[bool] = None


@dataclasses.dataclass(frozen=True)
class TryRegion:
    """The blocks of one ``try`` body and the entries of its handlers."""

    blocks: range
    handlers: Tuple[int, ...]


@dataclasses.dataclass
class ControlFlowGraph:
    blocks: List[Block]
    entry: int
    exit: int
    try_regions: List[TryRegion] = dataclasses.field(default_factory=list)
    loop_heads: Dict[int, int] = dataclasses.field(default_factory=dict)  # id(While) -> head

    def block_of(self, node: cst.CSTNode) -> Optional[Block]:
        """The block that evaluates ``node`` (as an atom)."""
        if not hasattr(self, "_block_of"):
            self._block_of = {id(atom.node): block for block, atom in self.atoms()}
        return self._block_of.get(id(node))

    def atoms(self) -> Iterator[Tuple[Block, Atom]]:
        for block in self.blocks:
            for atom in block.atoms:
                yield block, atom


def every_path_hits(cfg: ControlFlowGraph, is_site: Callable[[Block], bool]) -> bool:
    """True when no path from entry reaches the exit (or a loop) without passing a site,
    and at least one site is reachable: rustc's unconditional_recursion rule.

    A loop reached before any site counts as an escape: it may spin without recursing.
    """
    site_reached = False
    state = {cfg.entry: 1}  # 1 = on the DFS stack, 2 = finished
    stack: List[Tuple[int, Iterator[int]]] = []

    def enter(index: int) -> bool:
        """Returns True if this node is an escape."""
        nonlocal site_reached
        block = cfg.blocks[index]
        if not block.shielded and is_site(block):
            site_reached = True
            state[index] = 2
            return False
        if index == cfg.exit:
            return True
        stack.append((index, iter(block.successors)))
        return False

    if enter(cfg.entry):
        return False
    while stack:
        index, successors = stack[-1]
        nxt = next(successors, None)
        if nxt is None:
            stack.pop()
            state[index] = 2
            continue
        seen = state.get(nxt)
        if seen == 1:
            if cfg.blocks[nxt].loop_stoppable:
                continue  # the loop may stop: its exit edge is explored from its head
            return False  # a loop that never stops and never recurses: it spins, not recurses
        if seen == 2:
            continue
        state[nxt] = 1
        if enter(nxt):
            return False
    return site_reached


class _Context:
    """An entry on the lowering stack: a loop, a try with handlers, or a finally."""


@dataclasses.dataclass
class _Loop(_Context):
    break_target: int
    continue_target: int
    broken: bool = False  # a break leaves it


@dataclasses.dataclass
class _Handlers(_Context):
    # each handler's entry block and the kinds of raising operation it can catch
    # (None: anything)
    entries: List[Tuple[int, Optional[frozenset]]]


@dataclasses.dataclass
class _Finally(_Context):
    entry: int
    continuations: Set[int] = dataclasses.field(default_factory=set)


class CFGBuilder:
    """Lowers one function body. Use :func:`build_cfg`."""

    def __init__(self) -> None:
        self.blocks: List[Block] = []
        self.contexts: List[_Context] = []
        self.shield_depth = 0
        self.try_regions: List[TryRegion] = []
        self.loop_heads: Dict[int, int] = {}
        self.exit = self.new_block()

    # -- blocks -----------------------------------------------------------------------
    def new_block(self) -> int:
        block = Block(len(self.blocks), shielded=self.shield_depth > 0)
        self.blocks.append(block)
        return block.index

    def edge(self, src: Optional[int], dst: int) -> None:
        if src is not None and dst not in self.blocks[src].successors:
            self.blocks[src].successors.append(dst)
            self.blocks[dst].predecessors += 1

    def branch(self, src: int, deciders: Sequence[cst.BaseExpression]) -> None:
        block = self.blocks[src]
        block.deciders = (block.deciders or []) + list(deciders)

    def add(self, cur: Optional[int], node: cst.CSTNode, role: str = EVAL) -> Optional[int]:
        """Append an atom; inside a ``try`` whose handlers catch what it may raise, the
        block ends after it with edges to those handlers."""
        if cur is None:
            return None
        self.blocks[cur].atoms.append(Atom(node, role))
        return self.raise_point(cur, node, _raise_kind(node, role))

    def raise_point(self, cur: Optional[int], node: cst.CSTNode, kind: Optional[str]) -> Optional[int]:
        if cur is None or kind is None:
            return cur
        targets = [
            entry
            for ctx in self.contexts
            if isinstance(ctx, _Handlers)
            for entry, catches in ctx.entries
            if catches is None or kind in catches
        ]
        if not targets:
            return cur
        for target in targets:
            self.edge(cur, target)
        self.branch(cur, [node])  # whether it raises depends on what it evaluates
        return self.split(cur)

    def split(self, cur: Optional[int]) -> Optional[int]:
        if cur is None:
            return None
        nxt = self.new_block()
        self.edge(cur, nxt)
        return nxt

    # -- jumps ------------------------------------------------------------------------
    def jump(self, cur: Optional[int], kind: str) -> None:
        """Route a return / raise / break / continue through enclosing finally blocks."""
        if cur is None:
            return
        for ctx in reversed(self.contexts):
            if isinstance(ctx, _Finally):
                self.edge(cur, ctx.entry)
                cur = None
                pending = ctx
                break
            if kind == "raise" and isinstance(ctx, _Handlers):
                for entry, _ in ctx.entries:
                    self.edge(cur, entry)
            if isinstance(ctx, _Loop) and kind in ("break", "continue"):
                self.edge(cur, ctx.break_target if kind == "break" else ctx.continue_target)
                ctx.broken = ctx.broken or kind == "break"
                return
        else:
            if kind in ("return", "raise", "yield"):
                self.edge(cur, self.exit)
                self.blocks[cur].raises = kind == "raise"
            return
        # the finally block ends by continuing the jump outward from where it stands
        pending.continuations.add(self._jump_target_after(pending, kind))

    def _jump_target_after(self, fin: _Finally, kind: str) -> int:
        """A block that continues ``kind`` from just outside ``fin``."""
        position = self.contexts.index(fin)
        saved = self.contexts
        self.contexts = saved[:position]
        start = self.new_block()
        self.jump(start, kind)
        self.contexts = saved
        return start

    # -- statements -------------------------------------------------------------------
    def lower_body(self, body: Sequence[cst.CSTNode], cur: Optional[int]) -> Optional[int]:
        for stmt in body:
            if cur is None:
                break  # unreachable code after return/raise/break/continue
            cur = self.lower_statement(stmt, cur)
        return cur

    def lower_suite(self, suite: cst.BaseSuite, cur: Optional[int]) -> Optional[int]:
        return self.lower_body(suite.body, cur)

    def lower_statement(self, stmt: cst.CSTNode, cur: int) -> Optional[int]:
        method = getattr(self, "stmt_" + type(stmt).__name__, None)
        if method is None:
            # unknown statement kinds: evaluate what they contain, keep going
            for child in _expression_children(stmt):
                cur = self.lower_expr(child, cur)
            return cur
        return method(stmt, cur)

    def stmt_SimpleStatementLine(self, stmt: cst.SimpleStatementLine, cur: int) -> Optional[int]:
        return self.lower_small_statements(stmt.body, cur)

    def lower_small_statements(self, body: Sequence[cst.CSTNode], cur: Optional[int]):
        for small in body:
            if cur is None:
                break
            cur = self.lower_statement(small, cur)
        return cur

    def stmt_Expr(self, stmt: cst.Expr, cur: int) -> Optional[int]:
        cur = self.lower_expr(stmt.value, cur)
        if isinstance(stmt.value, cst.Call) and _never_returns(stmt.value):
            self.jump(cur, "raise")
            return None
        return cur

    def stmt_Assign(self, stmt: cst.Assign, cur: int) -> Optional[int]:
        cur = self.lower_expr(stmt.value, cur)
        for target in stmt.targets:
            cur = self.lower_target(target.target, cur, STORE)
        return cur

    def stmt_AnnAssign(self, stmt: cst.AnnAssign, cur: int) -> Optional[int]:
        if stmt.value is None:
            return cur
        cur = self.lower_expr(stmt.value, cur)
        return self.lower_target(stmt.target, cur, STORE)

    def stmt_AugAssign(self, stmt: cst.AugAssign, cur: int) -> Optional[int]:
        cur = self.lower_expr(stmt.target, cur)
        cur = self.lower_expr(stmt.value, cur)
        return self.lower_target(stmt.target, cur, STORE)

    def stmt_Del(self, stmt: cst.Del, cur: int) -> Optional[int]:
        return self.lower_target(stmt.target, cur, DELETE)

    def stmt_Return(self, stmt: cst.Return, cur: int) -> None:
        if stmt.value is not None:
            cur = self.lower_expr(stmt.value, cur)
        self.jump(cur, "return")
        return None

    def stmt_Raise(self, stmt: cst.Raise, cur: int) -> None:
        if stmt.exc is not None:
            cur = self.lower_expr(stmt.exc, cur)
        if stmt.cause is not None:
            cur = self.lower_expr(stmt.cause.item, cur)
        self.jump(cur, "raise")
        return None

    def stmt_Assert(self, stmt: cst.Assert, cur: int) -> Optional[int]:
        # The test runs; a failing assert is not a base case (asserts may be stripped)...
        cur = self.lower_expr(stmt.test, cur)
        if _is_always_false(stmt.test):  # ...but ``assert False`` is a raise, meant so
            self.jump(cur, "raise")
            return None
        return cur

    def stmt_Break(self, stmt: cst.Break, cur: int) -> None:
        self.jump(cur, "break")
        return None

    def stmt_Continue(self, stmt: cst.Continue, cur: int) -> None:
        self.jump(cur, "continue")
        return None

    def stmt_Pass(self, stmt: cst.CSTNode, cur: int) -> int:
        return cur

    stmt_Global = stmt_Nonlocal = stmt_Pass

    def stmt_Import(self, stmt: cst.Import, cur: int) -> int:
        cur = self.raise_point(cur, stmt, "import")
        for alias in stmt.names:
            cur = self.add(cur, alias.asname.name if alias.asname else alias.name, STORE)
        return cur

    def stmt_ImportFrom(self, stmt: cst.ImportFrom, cur: int) -> int:
        cur = self.raise_point(cur, stmt, "import")
        if not isinstance(stmt.names, cst.ImportStar):
            for alias in stmt.names:
                cur = self.add(cur, alias.asname.name if alias.asname else alias.name, STORE)
        return cur

    def stmt_If(self, stmt: cst.If, cur: int) -> Optional[int]:
        cur = self.lower_expr(stmt.test, cur)
        test_end = cur
        self.branch(test_end, [stmt.test])
        after = self.new_block()
        body_start = self.split(test_end)
        self.blocks[test_end].true_successor = body_start
        body_end = self.lower_suite(stmt.body, body_start)
        self.edge(body_end, after)
        if stmt.orelse is None:
            self.edge(test_end, after)
        elif isinstance(stmt.orelse, cst.If):
            self.edge(self.stmt_If(stmt.orelse, self.split(test_end)), after)
        else:
            self.edge(self.lower_suite(stmt.orelse.body, self.split(test_end)), after)
        return self._live(after)

    def _live(self, index: int) -> Optional[int]:
        """``index`` if some edge enters it, else None (the code after it is unreachable)."""
        return index if self.blocks[index].predecessors else None

    def stmt_While(self, stmt: cst.While, cur: int) -> Optional[int]:
        head = self.split(cur)
        self.loop_heads[id(stmt)] = head  # type: ignore[index]
        test_end = self.lower_expr(stmt.test, head)
        after = self.new_block()
        body_start = self.split(test_end)
        self.blocks[test_end].true_successor = body_start
        if not _is_always_true(stmt.test):
            self.branch(test_end, [stmt.test])
            else_end = self.split(test_end)
            if stmt.orelse is not None:
                else_end = self.lower_suite(stmt.orelse.body, else_end)
            self.edge(else_end, after)
        loop = _Loop(after, head)
        self.contexts.append(loop)
        body_end = self.lower_suite(stmt.body, body_start)
        self.contexts.pop()
        self.edge(body_end, head)
        self.blocks[head].loop_stoppable = loop.broken or not _is_always_true(stmt.test)
        return self._live(after)

    def stmt_For(self, stmt: cst.For, cur: int) -> Optional[int]:
        cur = self.lower_expr(stmt.iter, cur, ITERATED)
        head = self.new_block()
        after = self.new_block()
        body_start = self.new_block()
        self.edge(head, body_start)
        self.branch(head, [stmt.iter])
        self.edge(cur, body_start if _is_nonempty_literal(stmt.iter) else head)
        else_end = self.split(head)
        if stmt.orelse is not None:
            else_end = self.lower_suite(stmt.orelse.body, else_end)
        self.edge(else_end, after)
        body = self.lower_target(stmt.target, body_start, STORE)
        self.blocks[head].loop_stoppable = True
        self.contexts.append(_Loop(after, head))
        body_end = self.lower_suite(stmt.body, body)
        self.contexts.pop()
        self.edge(body_end, head)
        return self._live(after)

    def stmt_With(self, stmt: cst.With, cur: int) -> Optional[int]:
        shields = False
        for item in stmt.items:
            cur = self.lower_expr(item.item, cur)
            cur = self.add(cur, item.item, ENTER)
            if item.asname is not None:
                cur = self.lower_target(item.asname.name, cur, STORE)
            shields = shields or _suppresses_recursion_error(item.item)
        if shields:
            self.shield_depth += 1
            cur = self.split(cur)
        end = self.lower_suite(stmt.body, cur)
        if shields:
            self.shield_depth -= 1
            end = self.split(end) if end is not None else None
        return end

    def stmt_Try(self, stmt: cst.Try, cur: int) -> Optional[int]:
        return self._lower_try(stmt, cur)

    stmt_TryStar = stmt_Try

    def _lower_try(self, stmt, cur: int) -> Optional[int]:
        after = self.new_block()
        fin: Optional[_Finally] = None
        if stmt.finalbody is not None:
            fin = _Finally(self.new_block())
            self.contexts.append(fin)
        handler_entries = [self.new_block() for _ in stmt.handlers]
        shields = _handlers_shield(stmt.handlers)
        if handler_entries:
            catches = [_caught_kinds(h.type) for h in stmt.handlers]
            self.contexts.append(_Handlers(list(zip(handler_entries, catches))))
        if shields:
            self.shield_depth += 1
        body_start = self.split(cur)
        body_end = self.lower_suite(stmt.body, body_start)
        if handler_entries and body_start is not None:
            region = range(body_start, len(self.blocks))
            self.try_regions.append(TryRegion(region, tuple(handler_entries)))
        if shields:
            self.shield_depth -= 1
        if handler_entries:
            self.contexts.pop()
        if stmt.orelse is not None:
            body_end = self.lower_suite(stmt.orelse.body, self.split(body_end))
        normal_ends = [body_end]
        for handler, entry in zip(stmt.handlers, handler_entries):
            hcur: Optional[int] = entry
            if handler.type is not None:
                hcur = self.lower_expr(handler.type, hcur)
            if handler.name is not None:
                hcur = self.lower_target(handler.name.name, hcur, STORE)
            normal_ends.append(self.lower_suite(handler.body, hcur))
        normal_ends = [end for end in normal_ends if end is not None]
        for end in normal_ends:
            self.edge(end, fin.entry if fin is not None else after)
        if fin is not None:
            self.contexts.pop()
            if normal_ends:
                fin.continuations.add(after)
            fin_end = self.lower_suite(stmt.finalbody.body, fin.entry)
            for target in sorted(fin.continuations):
                self.edge(fin_end, target)
        return self._live(after)

    def stmt_Match(self, stmt, cur: int) -> Optional[int]:
        cur = self.lower_expr(stmt.subject, cur)
        self.branch(cur, [stmt.subject])
        after = self.new_block()
        exhaustive = False
        for case in stmt.cases:
            case_cur: Optional[int] = self.split(cur)
            for store in _pattern_captures(case.pattern):
                case_cur = self.add(case_cur, store, STORE)
            if case.guard is not None:
                case_cur = self.lower_expr(case.guard, case_cur)
                self.branch(case_cur, [stmt.subject, case.guard])
            elif _is_irrefutable(case.pattern):
                exhaustive = True
            self.edge(self.lower_suite(case.body, case_cur), after)
        if not exhaustive:
            self.edge(cur, after)
        return self._live(after)

    def stmt_FunctionDef(self, stmt: cst.FunctionDef, cur: int) -> int:
        # Decorators and defaults run when the def statement runs; the body does not.
        for decorator in stmt.decorators:
            cur = self.lower_expr(decorator.decorator, cur)
        cur = self.lower_parameters(stmt.params, cur)
        cur = self.add(cur, stmt.name, STORE)
        return cur

    def stmt_ClassDef(self, stmt: cst.ClassDef, cur: int) -> Optional[int]:
        for decorator in stmt.decorators:
            cur = self.lower_expr(decorator.decorator, cur)
        for arg in list(stmt.bases) + list(stmt.keywords):
            cur = self.lower_expr(arg.value, cur)
        # the class body executes now, in its own namespace
        saved, self.contexts = self.contexts, [c for c in self.contexts if isinstance(c, _Handlers)]
        end = self.lower_suite(stmt.body, cur)
        self.contexts = saved
        end = self.add(end, stmt.name, STORE)
        return end

    # -- expressions ------------------------------------------------------------------
    def lower_parameters(self, params: cst.Parameters, cur: Optional[int]) -> Optional[int]:
        for param in all_params(params):
            if param.default is not None:
                cur = self.lower_expr(param.default, cur)
        return cur

    def lower_target(self, target: cst.CSTNode, cur: Optional[int], role: str) -> Optional[int]:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                cur = self.lower_target(element.value, cur, role)
            return cur
        if isinstance(target, cst.StarredElement):
            return self.lower_target(target.value, cur, role)
        if isinstance(target, cst.Attribute):
            cur = self.lower_expr(target.value, cur)
        elif isinstance(target, cst.Subscript):
            cur = self.lower_expr(target.value, cur)
            for element in target.slice:
                cur = self.lower_expr(element.slice, cur)
        cur = self.add(cur, target, role)
        return cur

    def lower_expr(self, expr: cst.CSTNode, cur: Optional[int], role: str = EVAL) -> Optional[int]:
        if cur is None:
            return None
        method = getattr(self, "expr_" + type(expr).__name__, None)
        if method is not None:
            return method(expr, cur, role)
        for child in _expression_children(expr):
            cur = self.lower_expr(child, cur)
        cur = self.add(cur, expr, role)  # e.g. a name that is iterated: ``for x in self``
        return cur

    def expr_Call(self, call: cst.Call, cur: int, role: str) -> Optional[int]:
        cur = self.lower_expr(call.func, cur)
        consumer = _consuming_builtin(call, role)
        for index, arg in enumerate(call.args):
            takes = consumer is not None and (index == 0 or consumer not in _CONSUMING_ONLY_FIRST)
            cur = self.lower_expr(arg.value, cur, ITERATED if takes and not arg.keyword else EVAL)
        cur = self.add(cur, call, role)
        return cur

    def expr_Attribute(self, node: cst.Attribute, cur: int, role: str) -> Optional[int]:
        cur = self.lower_expr(node.value, cur)
        cur = self.add(cur, node, EVAL)
        return cur

    def expr_Lambda(self, node: cst.Lambda, cur: int, role: str) -> Optional[int]:
        cur = self.lower_parameters(node.params, cur)
        cur = self.add(cur, node, EVAL)
        return cur

    def expr_NamedExpr(self, node: cst.NamedExpr, cur: int, role: str) -> Optional[int]:
        cur = self.lower_expr(node.value, cur)
        cur = self.add(cur, node.target, STORE)
        return cur

    def expr_BooleanOperation(self, node: cst.BooleanOperation, cur: int, role: str):
        left_end = self.lower_expr(node.left, cur)
        self.branch(left_end, [node.left])
        after = self.new_block()
        self.edge(left_end, after)  # short-circuit: ``and`` on false, ``or`` on true
        right_start = self.split(left_end)
        if left_end is not None:
            is_and = isinstance(node.operator, cst.And)
            self.blocks[left_end].true_successor = right_start if is_and else after
        self.edge(self.lower_expr(node.right, right_start), after)
        return after

    def expr_IfExp(self, node: cst.IfExp, cur: int, role: str) -> Optional[int]:
        test_end = self.lower_expr(node.test, cur)
        self.branch(test_end, [node.test])
        after = self.new_block()
        body_start = self.split(test_end)
        self.blocks[test_end].true_successor = body_start
        self.edge(self.lower_expr(node.body, body_start, role), after)
        self.edge(self.lower_expr(node.orelse, self.split(test_end), role), after)
        return after

    def expr_Await(self, node: cst.Await, cur: int, role: str) -> Optional[int]:
        cur = self.lower_expr(node.expression, cur, AWAITED)
        cur = self.add(cur, node, EVAL)
        return cur

    def expr_Yield(self, node: cst.Yield, cur: int, role: str) -> Optional[int]:
        if isinstance(node.value, cst.From):
            cur = self.lower_expr(node.value.item, cur, ITERATED)
        elif node.value is not None:
            cur = self.lower_expr(node.value, cur)
        cur = self.add(cur, node, YIELD)
        # the consumer may stop iterating here: an exit
        self.jump(cur, "yield")
        return self.split(cur)

    def _lower_comprehension(self, node, elements: Sequence[cst.BaseExpression], cur: int):
        first = node.for_in
        cur = self.lower_expr(first.iter, cur, ITERATED)
        head = self.new_block()
        self.blocks[head].loop_stoppable = True
        self.edge(cur, head)
        after = self.new_block()
        self.edge(head, after)
        self.branch(head, [first.iter])
        inner: Optional[int] = self.split(head)
        comp_for: Optional[cst.CompFor] = first
        while comp_for is not None:
            if comp_for is not first:
                inner = self.lower_expr(comp_for.iter, inner, ITERATED)
            inner = self.lower_target(comp_for.target, inner, STORE)
            for condition in comp_for.ifs:
                test_end = self.lower_expr(condition.test, inner)
                self.branch(test_end, [condition.test])
                inner = self.split(test_end)
                self.edge(test_end, head)  # the filter rejects: next element
                if test_end is not None:
                    self.blocks[test_end].true_successor = inner
            comp_for = comp_for.inner_for_in
        for element in elements:
            inner = self.lower_expr(element, inner)
        self.edge(inner, head)
        after = self.add(after, node, EVAL)
        return after

    def expr_ListComp(self, node, cur, role):
        return self._lower_comprehension(node, [node.elt], cur)

    expr_SetComp = expr_GeneratorExp = expr_ListComp

    def expr_DictComp(self, node, cur, role):
        return self._lower_comprehension(node, [node.key, node.value], cur)


def build_cfg(function: cst.FunctionDef) -> ControlFlowGraph:
    builder = CFGBuilder()
    entry = builder.new_block()
    end = builder.lower_suite(function.body, entry)
    builder.edge(end, builder.exit)  # falling off the end
    return ControlFlowGraph(builder.blocks, entry, builder.exit, builder.try_regions,
                            builder.loop_heads)


# -- helpers ------------------------------------------------------------------------------
def _expression_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    return child_nodes(node)


def _consuming_builtin(call: cst.Call, role: str) -> Optional[str]:
    if isinstance(call.func, cst.Name):
        if call.func.value in CONSUMING_BUILTINS:
            return call.func.value
        if call.func.value in LAZY_WRAPPERS and role == ITERATED:
            return call.func.value
    if isinstance(call.func, cst.Attribute) and call.func.attr.value == "join":
        return "join"
    return None


def _never_returns(call: cst.Call) -> bool:
    name = dotted_name(call.func)
    if name is None:
        return False
    if name in _NORETURN_CALLS:
        return True
    return bool(_RAISING_HELPER.search(name.rsplit(".", 1)[-1]))


def _is_always_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value == "True"
    if isinstance(test, cst.Integer):
        return test.evaluated_value != 0
    if isinstance(test, cst.SimpleString):
        return len(test.evaluated_value) > 0
    return False


def _is_always_false(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value in ("False", "None")
    if isinstance(test, cst.Integer):
        return test.evaluated_value == 0
    return False


def _is_nonempty_literal(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
        return bool(expr.elements) and not any(
            isinstance(e, cst.StarredElement) for e in expr.elements
        )
    if isinstance(expr, cst.SimpleString):
        return len(expr.evaluated_value) > 0
    return False


# What kinds of operation can raise what a handler catches. A handler that catches
# only KeyError is not entered by an attribute read, one for AttributeError not by
# ``d[k]``; calls can raise anything; unknown names may be anything.
_KINDS_CAUGHT = {
    "AttributeError": frozenset({"call", "attribute"}),
    "KeyError": frozenset({"call", "subscript"}),
    "IndexError": frozenset({"call", "subscript"}),
    "LookupError": frozenset({"call", "subscript"}),
    "TypeError": frozenset({"call", "subscript", "operator", "attribute"}),
    "ValueError": frozenset({"call", "subscript", "operator"}),
    "ArithmeticError": frozenset({"call", "operator"}),
    "ZeroDivisionError": frozenset({"call", "operator"}),
    "OverflowError": frozenset({"call", "operator"}),
    "FloatingPointError": frozenset({"call", "operator"}),
    "ImportError": frozenset({"call", "import"}),
    "ModuleNotFoundError": frozenset({"call", "import"}),
}
_CALLS_ONLY = frozenset({"call"})


def _caught_kinds(type_expr: Optional[cst.BaseExpression]) -> Optional[frozenset]:
    names = exception_names(type_expr)
    if names is None:
        return None
    kinds: Set[str] = set()
    for name in names:
        if name in _KINDS_CAUGHT:
            kinds |= _KINDS_CAUGHT[name]
        elif name in _NON_CATCHING or name in ("RuntimeError", "RecursionError"):
            kinds |= _CALLS_ONLY
        else:
            return None  # Exception, BaseException, or a name we cannot see through
    return frozenset(kinds)


def _raise_kind(node: cst.CSTNode, role: str) -> Optional[str]:
    """The kind of operation an atom performs, as far as raising goes."""
    if isinstance(node, (cst.Call, cst.Await)) or role in (ENTER, YIELD):
        return "call"
    if isinstance(node, cst.Attribute):
        return "attribute"
    if isinstance(node, cst.Subscript):
        return "subscript"
    if isinstance(node, (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison)):
        return "operator"
    return None


def exception_names(type_expr: Optional[cst.BaseExpression]) -> Optional[List[str]]:
    """The names an except clause catches; None for a bare except."""
    if type_expr is None:
        return None
    if isinstance(type_expr, cst.Tuple):
        elements = [e.value for e in type_expr.elements]
    else:
        elements = [type_expr]
    names = []
    for element in elements:
        name = dotted_name(element)
        names.append(name.rsplit(".", 1)[-1] if name else "?")
    return names


def _catches_recursion_error(type_expr: Optional[cst.BaseExpression]) -> bool:
    names = exception_names(type_expr)
    if names is None:
        return True
    return any(name not in _NON_CATCHING for name in names)


def _handlers_shield(handlers) -> bool:
    """The first handler that can catch RecursionError gets it: it shields unless it
    simply re-raises."""
    for handler in handlers:
        if _catches_recursion_error(handler.type):
            return not _simply_reraises(handler)
    return False


def _simply_reraises(handler) -> bool:
    body = handler.body.body
    if not body:
        return False
    last = body[-1]
    if not isinstance(last, cst.SimpleStatementLine) or not last.body:
        return False
    small = last.body[-1]
    if not isinstance(small, cst.Raise):
        return False
    if small.exc is None:
        return True
    bound = handler.name.name.value if handler.name is not None and isinstance(
        handler.name.name, cst.Name) else None
    return isinstance(small.exc, cst.Name) and small.exc.value == bound


def _suppresses_recursion_error(expr: cst.BaseExpression) -> bool:
    if not isinstance(expr, cst.Call):
        return False
    name = dotted_name(expr.func)
    if name is None or name.rsplit(".", 1)[-1] != "suppress":
        return False
    return any(_catches_recursion_error(arg.value) for arg in expr.args)


def _pattern_captures(pattern) -> Iterator[cst.CSTNode]:
    stack = [pattern]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.MatchAs) and node.name is not None:
            yield node.name
        if isinstance(node, cst.MatchStar) and node.name is not None:
            yield node.name
        stack.extend(child_nodes(node))


def _is_irrefutable(pattern) -> bool:
    if isinstance(pattern, cst.MatchAs):
        return pattern.pattern is None or _is_irrefutable(pattern.pattern)
    if isinstance(pattern, cst.MatchOr):
        return any(_is_irrefutable(p.pattern) for p in pattern.patterns)
    return False
