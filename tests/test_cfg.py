"""Unit tests of the per-function control-flow graph (``backprop_lint.cfg``).

Each test lowers one small function and asks behavioural questions only, never about
block numbering: does every path from entry hit a call to ``f`` (``every_path_hits``),
can the exit be reached, is a call site reachable or shielded. The rules are CODES.md's
"every path" and "runs now".
"""

from __future__ import annotations

import sys
import textwrap
from collections import deque
from typing import Callable, Set

import libcst as cst
import pytest

from backprop_lint.cfg import Block, ControlFlowGraph, build_cfg, every_path_hits
from backprop_lint.names import dotted_name
from backprop_lint.parsing import run_with_deep_stack

needs_match = pytest.mark.skipif(sys.version_info < (3, 10), reason="match needs Python 3.10")


# -- helpers ------------------------------------------------------------------------------
def cfg_of(src: str) -> ControlFlowGraph:
    fn = cst.parse_module(textwrap.dedent(src)).body[0]
    return build_cfg(fn)


def calls_named(name: str) -> Callable[[Block], bool]:
    """A site predicate: the block evaluates a call whose callee is spelled ``name``."""

    def is_site(block: Block) -> bool:
        return any(
            isinstance(atom.node, cst.Call) and dotted_name(atom.node.func) == name
            for atom in block.atoms
        )

    return is_site


def hits(src: str, name: str = "f") -> bool:
    return every_path_hits(cfg_of(src), calls_named(name))


def reachable(cfg: ControlFlowGraph) -> Set[int]:
    seen = {cfg.entry}
    queue = deque([cfg.entry])
    while queue:
        for nxt in cfg.blocks[queue.popleft()].successors:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def exit_reachable(src: str) -> bool:
    cfg = cfg_of(src)
    return cfg.exit in reachable(cfg)


def site_reachable(src: str, name: str = "f") -> bool:
    cfg = cfg_of(src)
    is_site = calls_named(name)
    return any(is_site(cfg.blocks[i]) for i in reachable(cfg))


def shielded_site(src: str, name: str = "f") -> bool:
    """Some block that calls ``name`` exists and every such block is shielded."""
    cfg = cfg_of(src)
    sites = [b for b in cfg.blocks if calls_named(name)(b)]
    return bool(sites) and all(b.shielded for b in sites)


# -- straight line ------------------------------------------------------------------------
def test_unconditional_call_hits():
    assert hits("def f(n):\n    f(n)\n")


def test_no_call_does_not_hit():
    assert not hits("def f(n):\n    return n\n")


def test_falling_off_the_end_reaches_exit():
    assert exit_reachable("def f(n):\n    g(n)\n")


# -- if / elif / else ---------------------------------------------------------------------
def test_if_elif_else_all_branches_call_hits():
    assert hits("""
        def f(n):
            if n > 0:
                f(n - 1)
            elif n < 0:
                f(n + 1)
            else:
                f(n)
    """)


def test_if_elif_without_else_does_not_hit():
    assert not hits("""
        def f(n):
            if n > 0:
                f(n - 1)
            elif n < 0:
                f(n + 1)
    """)


def test_if_elif_else_one_branch_missing_call_does_not_hit():
    assert not hits("""
        def f(n):
            if n > 0:
                f(n - 1)
            elif n < 0:
                pass
            else:
                f(n)
    """)


def test_call_in_if_test_hits():
    assert hits("""
        def f(n):
            if f(n):
                return 1
            return 2
    """)


# -- while --------------------------------------------------------------------------------
def test_while_cond_may_run_zero_times():
    assert not hits("""
        def f(n):
            while n:
                f(n)
    """)


def test_while_cond_call_in_test_hits():
    assert hits("""
        def f(n):
            while f(n):
                pass
    """)


def test_while_true_without_break_has_no_exit():
    src = """
        def f(n):
            while True:
                g()
            f(n)
    """
    assert not exit_reachable(src)
    assert not site_reachable(src)  # the code after the loop is unreachable


def test_while_true_without_break_spin_is_an_escape():
    assert not hits("""
        def f(n):
            while True:
                g()
    """)


def test_while_true_body_calls_hits():
    assert hits("""
        def f(n):
            while True:
                f(n)
    """)


def test_while_true_with_break_reaches_code_after():
    src = """
        def f(n):
            while True:
                if n:
                    break
                g()
            f(n)
    """
    assert site_reachable(src)
    assert hits(src)


def test_while_true_break_before_call_does_not_hit():
    assert not hits("""
        def f(n):
            while True:
                if n:
                    break
                f(n)
    """)


def test_while_true_continue_before_call_is_a_spin():
    assert not hits("""
        def f(n):
            while True:
                if n:
                    continue
                f(n)
    """)


def test_break_in_inner_loop_does_not_stop_outer_while_true():
    src = """
        def f(xs):
            while True:
                for x in xs:
                    break
                g(xs)
            f(xs)
    """
    assert not exit_reachable(src)
    assert not site_reachable(src)


def test_while_else_runs_when_test_false():
    assert hits("""
        def f(n):
            while n:
                n -= 1
            else:
                f(n)
    """)


# -- for ----------------------------------------------------------------------------------
def test_for_may_run_zero_times():
    assert not hits("""
        def f(xs):
            for x in xs:
                f(x)
    """)


def test_for_iterable_is_evaluated():
    assert hits("""
        def f(xs):
            for x in f(xs):
                pass
    """)


def test_for_over_nonempty_literal_runs_at_least_once():
    assert hits("""
        def f(n):
            for x in [1, 2]:
                f(x)
    """)


def test_for_over_nonempty_string_runs_at_least_once():
    assert hits("""
        def f(n):
            for c in "ab":
                f(c)
    """)


def test_for_over_empty_literal_may_run_zero_times():
    assert not hits("""
        def f(n):
            for x in []:
                f(x)
    """)


def test_for_over_starred_literal_may_run_zero_times():
    assert not hits("""
        def f(xs):
            for x in [*xs]:
                f(x)
    """)


def test_for_else_without_break_always_runs_else():
    assert hits("""
        def f(xs):
            for x in xs:
                g(x)
            else:
                f(xs)
    """)


def test_for_else_with_break_may_skip_else():
    assert not hits("""
        def f(xs):
            for x in xs:
                if x:
                    break
            else:
                f(xs)
    """)


def test_for_break_then_call_after_loop_hits():
    assert hits("""
        def f(xs):
            for x in xs:
                if x:
                    break
            f(xs)
    """)


def test_for_continue_skips_call():
    assert not hits("""
        def f(n):
            for x in [1, 2]:
                if x:
                    continue
                f(x)
    """)


def test_for_return_inside_loop_is_an_exit():
    assert not hits("""
        def f(n):
            for x in [1, 2]:
                return x
            f(n)
    """)


# -- return / raise -----------------------------------------------------------------------
def test_return_before_call_makes_it_unreachable():
    src = """
        def f(n):
            return n
            f(n)
    """
    assert not site_reachable(src)
    assert not hits(src)


def test_conditional_return_is_a_base_case():
    assert not hits("""
        def f(n):
            if n == 0:
                return 0
            return f(n - 1)
    """)


def test_return_value_call_hits():
    assert hits("""
        def f(n):
            return f(n - 1)
    """)


def test_raise_is_an_exit():
    src = """
        def f(n):
            if n == 0:
                raise ValueError(n)
            f(n - 1)
    """
    assert exit_reachable(src)
    assert not hits(src)


def test_raise_only_reaches_exit():
    assert exit_reachable("def f(n):\n    raise ValueError(n)\n")


# -- try / except -------------------------------------------------------------------------
def test_try_subscript_before_call_can_enter_keyerror_handler():
    assert not hits("""
        def f(d, k):
            try:
                v = d[k]
                f(d, v)
            except KeyError:
                return None
    """)


def test_try_attribute_read_before_call_can_enter_attributeerror_handler():
    assert not hits("""
        def f(obj):
            try:
                nxt = obj.next
                f(nxt)
            except AttributeError:
                return None
    """)


def test_keyerror_handler_around_bare_self_call_cannot_be_entered_before_it():
    assert hits("""
        def f(n):
            try:
                f(n)
            except KeyError:
                return None
    """)


def test_attributeerror_handler_not_entered_by_subscript():
    assert hits("""
        def f(d, k):
            try:
                v = d[k]
                f(d, v)
            except AttributeError:
                return None
    """)


def test_keyerror_handler_not_entered_by_attribute_read():
    assert hits("""
        def f(obj):
            try:
                nxt = obj.next
                f(nxt)
            except KeyError:
                return None
    """)


def test_subscript_in_call_argument_can_enter_handler_before_call():
    assert not hits("""
        def f(d, k):
            try:
                return f(d, d[k])
            except KeyError:
                return None
    """)


def test_handler_entered_by_earlier_call():
    assert not hits("""
        def f(n):
            try:
                g(n)
                f(n)
            except ValueError:
                return None
    """)


def test_handler_that_calls_is_a_path():
    assert hits("""
        def f(d, k):
            try:
                v = d[k]
                f(d, v)
            except KeyError:
                f(d, k)
    """)


def test_try_else_runs_after_body():
    assert hits("""
        def f(n):
            try:
                g(n)
            except ValueError:
                f(n)
            else:
                f(n)
    """)


@pytest.mark.parametrize("clause", [
    "except:",
    "except Exception:",
    "except BaseException:",
    "except RuntimeError:",
    "except RecursionError:",
    "except builtins.RecursionError:",
    "except (KeyError, RecursionError):",
    "except (ValueError, Exception) as e:",
    "except MyError:",
])
def test_handler_catching_recursion_error_shields(clause):
    src = f"""
        def f(n):
            try:
                f(n)
            {clause}
                return None
    """
    assert shielded_site(src)
    assert not hits(src)


@pytest.mark.parametrize("clause", [
    "except KeyError:",
    "except (KeyError, ValueError):",
    "except TypeError:",
    "except StopIteration:",
])
def test_handler_not_catching_recursion_error_does_not_shield(clause):
    src = f"""
        def f(n):
            try:
                f(n)
            {clause}
                return None
    """
    assert not shielded_site(src)
    assert hits(src)


def test_except_recursion_error_bare_reraise_does_not_shield():
    src = """
        def f(n):
            try:
                f(n)
            except RecursionError:
                raise
    """
    assert not shielded_site(src)
    assert hits(src)


def test_except_recursion_error_reraise_bound_name_does_not_shield():
    src = """
        def f(n):
            try:
                f(n)
            except RecursionError as exc:
                log(exc)
                raise exc
    """
    assert not shielded_site(src)
    assert hits(src)


def test_except_recursion_error_raise_other_error_shields():
    assert shielded_site("""
        def f(n):
            try:
                f(n)
            except RecursionError as exc:
                raise ValueError("too deep") from exc
    """)


def test_call_in_shielding_handler_body_is_not_shielded():
    src = """
        def f(n):
            try:
                g(n)
            except Exception:
                f(n)
    """
    assert not shielded_site(src)


def test_earlier_reraising_handler_means_later_broad_handler_does_not_shield():
    src = """
        def f(n):
            try:
                return f(n)
            except RecursionError:
                raise
            except Exception:
                return None
    """
    assert not shielded_site(src)
    assert hits(src)


def test_earlier_catching_handler_shields_even_if_later_one_reraises():
    assert shielded_site("""
        def f(n):
            try:
                return f(n)
            except Exception:
                return None
            except RecursionError:
                raise
    """)


def test_call_in_shielding_try_else_is_not_shielded():
    src = """
        def f(n):
            try:
                g(n)
            except Exception:
                return None
            else:
                f(n)
    """
    assert not shielded_site(src)


def test_finally_runs_on_every_path():
    assert hits("""
        def f(n):
            try:
                if n:
                    return 1
                raise ValueError(n)
            finally:
                f(n)
    """)


def test_finally_runs_after_shielding_handler():
    src = """
        def f(n):
            try:
                g(n)
            except Exception:
                return None
            finally:
                f(n)
    """
    assert not shielded_site(src)
    assert hits(src)


def test_finally_runs_on_break():
    assert hits("""
        def f(xs):
            while True:
                try:
                    break
                finally:
                    f(xs)
    """)


def test_return_inside_try_finally_still_exits():
    assert not hits("""
        def f(n):
            try:
                if n:
                    return 1
            finally:
                g(n)
            f(n)
    """)


# -- with ---------------------------------------------------------------------------------
def test_with_body_runs():
    assert hits("""
        def f(p):
            with open(p) as fh:
                f(fh)
    """)


def test_with_item_expression_runs():
    assert hits("""
        def f(p):
            with f(p):
                pass
    """)


@pytest.mark.parametrize("manager", [
    "suppress(RecursionError)",
    "contextlib.suppress(RecursionError)",
    "suppress(Exception)",
    "suppress(KeyError, RuntimeError)",
])
def test_with_suppress_recursion_error_shields(manager):
    src = f"""
        def f(n):
            with {manager}:
                f(n)
    """
    assert shielded_site(src)
    assert not hits(src)


def test_with_suppress_other_error_does_not_shield():
    src = """
        def f(n):
            with suppress(KeyError):
                f(n)
    """
    assert not shielded_site(src)
    assert hits(src)


def test_call_after_with_suppress_is_not_shielded():
    src = """
        def f(n):
            with suppress(RecursionError):
                g(n)
            f(n)
    """
    assert not shielded_site(src)
    assert hits(src)


# -- match --------------------------------------------------------------------------------
@needs_match
def test_match_with_irrefutable_case_hits():
    assert hits("""
        def f(x):
            match x:
                case 1:
                    f(2)
                case _:
                    f(x)
    """)


@needs_match
def test_match_capture_pattern_is_irrefutable():
    assert hits("""
        def f(x):
            match x:
                case [a]:
                    f(a)
                case other:
                    f(other)
    """)


@needs_match
def test_match_without_irrefutable_case_may_match_nothing():
    assert not hits("""
        def f(x):
            match x:
                case 1:
                    f(2)
                case [a]:
                    f(a)
    """)


@needs_match
def test_match_guarded_wildcard_is_not_irrefutable():
    assert not hits("""
        def f(x):
            match x:
                case 1:
                    f(2)
                case _ if x > 3:
                    f(x)
    """)


@needs_match
def test_match_case_without_call_does_not_hit():
    assert not hits("""
        def f(x):
            match x:
                case 1:
                    return 0
                case _:
                    f(x)
    """)


# -- short-circuit and conditional expressions ---------------------------------------------
@pytest.mark.parametrize("source, every_path_calls", [
    pytest.param("def f(n):\n    return n and f(n)\n", False, id="and-right-operand-may-not-run"),
    pytest.param("def f(n):\n    return n or f(n)\n", False, id="or-right-operand-may-not-run"),
    pytest.param("def f(n):\n    return f(n) and n\n", True, id="and-left-operand-always-runs"),
    pytest.param("def f(n):\n    return f(n) or n\n", True, id="or-left-operand-always-runs"),
    pytest.param("def f(n):\n    return f(n - 1) if n else 0\n", False,
                 id="conditional-expression-one-branch-does-not-hit"),
    pytest.param("def f(n):\n    return f(n - 1) if n else f(n)\n", True,
                 id="conditional-expression-both-branches-hit"),
    pytest.param("def f(n):\n    return 1 if f(n) else 0\n", True,
                 id="conditional-expression-test-always-runs"),
])
def test_match(source: str, every_path_calls: bool) -> None:
    assert hits(source) is every_path_calls


# -- comprehensions -----------------------------------------------------------------------
@pytest.mark.parametrize("source, every_path_calls", [
    pytest.param("def f(xs):\n    return [x for x in f(xs)]\n", True,
                 id="list-comprehension-first-iterable-is-eager"),
    pytest.param("def f(xs):\n    return [f(x) for x in xs]\n", False,
                 id="list-comprehension-element-may-run-zero-times"),
    pytest.param("def f(xs):\n    return [y for x in xs for y in f(x)]\n", False,
                 id="list-comprehension-second-iterable-may-run-zero-times"),
    pytest.param("def f(xs):\n    return [x for x in xs if f(x)]\n", False,
                 id="list-comprehension-condition-may-run-zero-times"),
    pytest.param("def f(xs):\n    return {x: f(x) for x in xs}\n", False,
                 id="dict-comprehension-value-may-run-zero-times"),
    pytest.param("def f(xs):\n    return {x for x in f(xs)}\n", True,
                 id="set-comprehension-first-iterable-is-eager"),
    pytest.param("def f(xs):\n    return (x for x in f(xs))\n", True,
                 id="generator-expression-first-iterable-is-eager"),
    pytest.param("def f(xs):\n    return sum(f(x) for x in xs)\n", False,
                 id="generator-expression-element-may-never-run"),
])
def test_comprehensions(source: str, every_path_calls: bool) -> None:
    assert hits(source) is every_path_calls


# -- lambdas, nested defs and classes --------------------------------------------------------
def test_lambda_body_never_runs():
    assert not hits("def f(n):\n    g = lambda: f(n)\n    return g\n")


def test_lambda_default_runs():
    assert hits("def f(n):\n    g = lambda x=f(n): x\n    return g\n")


def test_nested_def_body_never_runs():
    assert not hits("""
        def f(n):
            def inner():
                return f(n)
            return inner
    """)


def test_nested_def_decorator_runs():
    assert hits("""
        def f(n):
            @f(n)
            def inner():
                pass
    """)


def test_nested_def_default_runs():
    assert hits("""
        def f(n):
            def inner(x=f(n)):
                pass
    """)


def test_nested_async_def_body_never_runs():
    assert not hits("""
        def f(n):
            async def inner():
                await f(n)
            return inner
    """)


def test_class_body_inside_function_runs():
    assert hits("""
        def f(n):
            class C:
                x = f(n)
            return C
    """)


def test_method_body_of_class_inside_function_never_runs():
    assert not hits("""
        def f(n):
            class C:
                def m(self):
                    return f(n)
            return C
    """)


def test_class_base_inside_function_runs():
    assert hits("""
        def f(n):
            class C(f(n)):
                pass
    """)


# -- yield, assert, calls that never return ------------------------------------------------
def test_yield_is_an_exit():
    assert not hits("""
        def f(n):
            yield n
            yield from f(n)
    """)


def test_yield_after_call_still_hits():
    assert hits("""
        def f(n):
            yield from f(n)
            yield n
    """)


def test_assert_is_not_an_exit():
    assert hits("""
        def f(n):
            assert n > 0
            return f(n - 1)
    """)


@pytest.mark.parametrize("stmt", ["sys.exit(1)", "os._exit(1)", "exit()", "pytest.fail('x')"])
def test_noreturn_call_is_an_exit(stmt):
    assert not hits(f"""
        def f(n):
            if n:
                {stmt}
            f(n)
    """)


@pytest.mark.parametrize("stmt", ["_raise_type_error(n)", "self.error('bad')", "abort()",
                                  "raise_not_implemented()"])
def test_raising_helper_call_is_an_exit(stmt):
    assert not hits(f"""
        def f(n):
            if n:
                {stmt}
            f(n)
    """)


def test_ordinary_call_statement_is_not_an_exit():
    assert hits("""
        def f(n):
            if n:
                log(n)
            f(n)
    """)


def test_noreturn_call_makes_following_code_unreachable():
    src = """
        def f(n):
            sys.exit(0)
            f(n)
    """
    assert exit_reachable(src)
    assert not site_reachable(src)


# -- imports ------------------------------------------------------------------------------
def test_import_in_try_can_enter_importerror_handler():
    assert not hits("""
        def f(n):
            try:
                import numpy
            except ImportError:
                return None
            f(n)
    """)


def test_from_import_in_try_can_enter_modulenotfounderror_handler():
    assert not hits("""
        def f(n):
            try:
                from numpy import array
            except ModuleNotFoundError:
                return None
            f(n)
    """)


def test_import_cannot_enter_keyerror_handler():
    assert hits("""
        def f(n):
            try:
                import numpy
            except KeyError:
                return None
            f(n)
    """)


# -- deep input ---------------------------------------------------------------------------
def test_deep_binary_expression_builds():
    terms = " + ".join(["a"] * 2500)
    src = f"def f(a):\n    x = {terms}\n    return f(x)\n"

    def work():
        return hits(src)

    assert run_with_deep_stack(work)


def test_deeply_nested_ifs_build():
    depth = 90
    lines = ["def f(n):"]
    for level in range(depth):
        lines.append("    " * (level + 1) + f"if n > {level}:")
    lines.append("    " * (depth + 1) + "return 0")
    lines.append("    return f(n - 1)")
    src = "\n".join(lines) + "\n"

    def work():
        cfg = cfg_of(src)
        return exit_reachable(src), every_path_hits(cfg, calls_named("f"))

    exits, always = run_with_deep_stack(work)
    assert exits
    assert not always
