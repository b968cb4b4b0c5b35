"""Unit tests of call resolution (``ModuleFacts``) and of the call graph's self-calls
(``CallGraph``): CODES.md's "self-call" and "runs now" rules, and function positions."""

from __future__ import annotations

import inspect
import textwrap
from typing import List

import pytest

from backprop_lint.callgraph import CallGraph, CallSite
from backprop_lint.facts import FunctionFacts, ModuleFacts
from backprop_lint.parsing import parse_source


# -- helpers ------------------------------------------------------------------------------
def facts_of(src: str) -> ModuleFacts:
    return ModuleFacts(parse_source(textwrap.dedent(src)))


def graph_of(facts: ModuleFacts) -> CallGraph:
    """The call graph of one module. ``CallGraph`` took one ``ModuleFacts``; the project
    mode in progress makes it take a sequence of modules: accept either."""
    first = next(iter(inspect.signature(CallGraph).parameters))
    return CallGraph([facts]) if first == "modules" else CallGraph(facts)


def function(facts: ModuleFacts, qualname: str) -> FunctionFacts:
    matches = [fn for fn in facts.functions if fn.qualname == qualname]
    assert len(matches) == 1, [fn.qualname for fn in facts.functions]
    return matches[0]


def self_calls(src: str, qualname: str) -> List[CallSite]:
    facts = facts_of(src)
    return graph_of(facts).self_calls(function(facts, qualname))


def callees(src: str, qualname: str) -> List[str]:
    """The qualnames of the functions whose body the calls in ``qualname`` run now."""
    facts = facts_of(src)
    graph = graph_of(facts)
    return [site.callee.qualname for site in graph.sites[function(facts, qualname)]]


# -- plain functions and name binding ------------------------------------------------------
def test_module_function_calling_itself_is_a_self_call():
    src = """
        def f(n):
            return f(n - 1)
    """
    assert len(self_calls(src, "f")) == 1


def test_every_self_call_site_is_listed():
    src = """
        def f(n):
            if n:
                return f(n - 1)
            return f(n + 1)
    """
    assert len(self_calls(src, "f")) == 2


def test_parameter_named_like_the_function_is_not_a_self_call():
    src = """
        def f(f):
            return f()
    """
    assert self_calls(src, "f") == []


def test_local_assignment_rebinding_the_name_is_not_a_self_call():
    src = """
        def g():
            return 1

        def f():
            f = g
            return f()
    """
    assert self_calls(src, "f") == []


def test_module_level_rebinding_is_not_a_self_call():
    src = """
        def other():
            return 1

        def f():
            return f()

        f = other
    """
    assert self_calls(src, "f") == []


def test_redefinition_is_not_a_self_call():
    src = """
        def f():
            return f()

        def f():
            return 1
    """
    facts = facts_of(src)
    graph = graph_of(facts)
    assert all(graph.self_calls(fn) == [] for fn in facts.functions)


def test_module_level_lru_cache_wrapping_is_still_a_self_call():
    src = """
        import functools

        def f(n):
            return f(n)

        f = functools.lru_cache(f)
    """
    assert len(self_calls(src, "f")) == 1


def test_module_level_parametrised_wrapping_is_still_a_self_call():
    src = """
        import functools

        def f(n):
            return f(n)

        f = functools.lru_cache(maxsize=None)(f)
    """
    assert len(self_calls(src, "f")) == 1


def test_global_declaration_resolves_to_module_function():
    src = """
        def f(n):
            global f
            return f(n)
    """
    assert len(self_calls(src, "f")) == 1


# -- nested functions ---------------------------------------------------------------------
def test_nested_function_calling_itself_is_a_self_call():
    src = """
        def outer(n):
            def inner(k):
                return inner(k - 1)
            return inner(n)
    """
    assert len(self_calls(src, "outer.<locals>.inner")) == 1
    assert self_calls(src, "outer") == []
    assert callees(src, "outer") == ["outer.<locals>.inner"]


def test_call_of_outer_inside_nested_def_does_not_run_now():
    src = """
        def f(n):
            def helper():
                return f(n)
            return helper
    """
    assert self_calls(src, "f") == []
    assert callees(src, "f.<locals>.helper") == ["f"]


def test_nested_name_shadowing_outer_function():
    src = """
        def f(n):
            def f(k):
                return k
            return f(n)
    """
    assert self_calls(src, "f") == []
    assert callees(src, "f") == ["f.<locals>.f"]


def test_lambda_body_does_not_run_now():
    src = """
        def f(n):
            g = lambda: f(n)
            return g
    """
    assert self_calls(src, "f") == []


def test_thread_target_does_not_run_now():
    src = """
        import threading

        def f(n):
            threading.Thread(target=f, args=(n,)).start()
    """
    assert self_calls(src, "f") == []


def test_class_body_inside_function_runs_now():
    src = """
        def f(n):
            class C:
                x = f(n)
            return C
    """
    assert len(self_calls(src, "f")) == 1


# -- class scope --------------------------------------------------------------------------
def test_method_bare_name_skips_class_scope():
    src = """
        def m():
            return 1

        class C:
            def m(self):
                return m()
    """
    assert self_calls(src, "C.m") == []
    assert callees(src, "C.m") == ["m"]


def test_self_method_call_is_a_self_call():
    src = """
        class C:
            def m(self, n):
                return self.m(n - 1)
    """
    assert len(self_calls(src, "C.m")) == 1


def test_first_parameter_not_named_self_is_no_receiver():
    """Receivers by convention (issue 17.5): a class-body function whose first parameter
    is not self / cls is used as a plain function (``Engine.map(data, func)``)."""
    src = """
        class C:
            def m(this, n):
                return this.m(n)
    """
    assert self_calls(src, "C.m") == []


def test_class_method_receiver_is_the_class_whatever_its_name():
    src = """
        class C:
            @classmethod
            def m(klass, n):
                return klass.m(n)
    """
    assert len(self_calls(src, "C.m")) == 1


def test_cls_method_call_in_classmethod_is_a_self_call():
    src = """
        class C:
            @classmethod
            def m(cls, n):
                return cls.m(n)
    """
    assert len(self_calls(src, "C.m")) == 1


def test_type_self_method_call_is_a_self_call():
    src = """
        class C:
            def m(self, n):
                return type(self).m(self, n)
    """
    assert len(self_calls(src, "C.m")) == 1


def test_self_dunder_class_method_call_is_a_self_call():
    src = """
        class C:
            def m(self, n):
                return self.__class__.m(self, n)
    """
    assert len(self_calls(src, "C.m")) == 1


def test_class_name_call_in_staticmethod_is_a_self_call():
    src = """
        class C:
            @staticmethod
            def m(n):
                return C.m(n)
    """
    assert len(self_calls(src, "C.m")) == 1


def test_class_name_call_in_method_is_a_self_call():
    src = """
        class C:
            def m(self, n):
                return C.m(self, n)
    """
    assert len(self_calls(src, "C.m")) == 1


def test_fresh_instance_method_call_is_a_self_call():
    src = """
        class C:
            def m(self):
                return C().m()
    """
    assert len(self_calls(src, "C.m")) == 1


def test_type_of_cls_in_classmethod_is_not_a_self_call():
    src = """
        class C:
            @classmethod
            def m(cls):
                return type(cls).m(cls)
    """
    assert self_calls(src, "C.m") == []


def test_self_parameter_of_staticmethod_is_a_plain_argument():
    src = """
        class C:
            @staticmethod
            def m(self):
                return self.m()
    """
    assert self_calls(src, "C.m") == []


def test_super_call_is_not_a_self_call():
    src = """
        class B:
            def m(self):
                return 1

        class C(B):
            def m(self):
                return super().m()
    """
    assert self_calls(src, "C.m") == []
    assert callees(src, "C.m") == ["B.m"]


def test_call_on_other_object_is_not_a_self_call():
    src = """
        class C:
            def m(self, other):
                return other.m(self)
    """
    assert self_calls(src, "C.m") == []


def test_call_on_attribute_of_self_is_not_a_self_call():
    src = """
        class C:
            def m(self):
                return self.attr.m()
    """
    assert self_calls(src, "C.m") == []


def test_rebound_receiver_is_not_a_self_call():
    src = """
        class C:
            def m(self, other):
                self = other
                return self.m(other)
    """
    assert self_calls(src, "C.m") == []


def test_instance_attribute_shadowing_method_stops_resolution():
    src = """
        class C:
            def __init__(self, fn):
                self.m = fn

            def m(self):
                return self.m()
    """
    assert self_calls(src, "C.m") == []


def test_method_found_through_base_defined_in_module():
    src = """
        class B:
            def helper(self):
                return 1

        class C(B):
            def m(self):
                return self.helper()
    """
    assert callees(src, "C.m") == ["B.helper"]


def test_inherited_self_call_through_base():
    src = """
        class B:
            def m(self):
                return self.m()

        class C(B):
            pass
    """
    assert len(self_calls(src, "B.m")) == 1


def test_unknown_base_stops_resolution_through_bases():
    src = """
        from elsewhere import Base

        class B:
            def helper(self):
                return 1

        class C(Base, B):
            def m(self):
                return self.helper()
    """
    assert callees(src, "C.m") == []


def test_method_overridden_in_subclass_resolves_to_own_definition():
    src = """
        class B:
            def m(self):
                return 1

        class C(B):
            def m(self):
                return self.m()
    """
    assert len(self_calls(src, "C.m")) == 1
    assert self_calls(src, "B.m") == []


# -- generators and coroutines ------------------------------------------------------------
def test_plain_call_of_generator_does_not_run_its_body():
    src = """
        def f(n):
            f(n - 1)
            yield n
    """
    assert self_calls(src, "f") == []


def test_yield_from_generator_runs_its_body():
    src = """
        def f(n):
            yield from f(n - 1)
    """
    assert len(self_calls(src, "f")) == 1


def test_for_over_generator_runs_its_body():
    src = """
        def f(n):
            for x in f(n - 1):
                yield x
    """
    assert len(self_calls(src, "f")) == 1


def test_list_of_generator_runs_its_body():
    src = """
        def f(n):
            yield n
            list(f(n - 1))
    """
    assert len(self_calls(src, "f")) == 1


def test_next_of_generator_runs_its_body():
    src = """
        def f(n):
            next(f(n - 1))
            yield n
    """
    assert len(self_calls(src, "f")) == 1


def test_for_over_enumerate_of_generator_runs_its_body():
    src = """
        def f(n):
            for i, x in enumerate(f(n - 1)):
                yield x
    """
    assert len(self_calls(src, "f")) == 1


@pytest.mark.parametrize("wrapper", ["enumerate(f(n - 1))", "zip(f(n - 1), [1])"])
def test_lazy_wrapper_of_generator_does_not_run_its_body(wrapper):
    src = f"""
        def f(n):
            pairs = {wrapper}
            yield pairs
    """
    assert self_calls(src, "f") == []


def test_comprehension_first_iterable_runs_generator_body():
    src = """
        def f(n):
            yield [x for x in f(n - 1)]
    """
    assert len(self_calls(src, "f")) == 1


def test_generator_rule_applies_to_other_callees():
    src = """
        def gen():
            yield 1

        def plain():
            gen()

        def consuming():
            return list(gen())
    """
    assert callees(src, "plain") == []
    assert callees(src, "consuming") == ["gen"]


def test_yield_in_nested_def_does_not_make_outer_a_generator():
    src = """
        def f(n):
            def inner():
                yield n
            return f(n - 1)
    """
    assert len(self_calls(src, "f")) == 1


def test_awaited_coroutine_call_runs_its_body():
    src = """
        async def f(n):
            await f(n - 1)
    """
    assert len(self_calls(src, "f")) == 1


def test_unawaited_coroutine_call_does_not_run_its_body():
    src = """
        async def f(n):
            f(n - 1)
    """
    assert self_calls(src, "f") == []


def test_coroutine_rule_applies_to_other_callees():
    src = """
        async def co():
            return 1

        def plain():
            co()

        async def awaiting():
            await co()
    """
    assert callees(src, "plain") == []
    assert callees(src, "awaiting") == ["co"]


# -- decorators ---------------------------------------------------------------------------
def test_singledispatch_function_is_not_followed():
    src = """
        import functools

        @functools.singledispatch
        def f(x):
            return f(x)
    """
    assert self_calls(src, "f") == []


def test_overload_stub_is_not_followed():
    src = """
        import typing

        @typing.overload
        def f(x: int) -> int:
            return f(x)
    """
    facts = facts_of(src)
    assert graph_of(facts).self_calls(facts.functions[0]) == []


def test_contextmanager_function_is_not_followed():
    src = """
        import contextlib

        @contextlib.contextmanager
        def f(x):
            with f(x):
                yield
    """
    assert self_calls(src, "f") == []


def test_lru_cache_decorated_function_is_still_followed():
    src = """
        import functools

        @functools.lru_cache(maxsize=None)
        def f(n):
            return f(n)
    """
    assert len(self_calls(src, "f")) == 1


def test_property_is_not_called_by_self_attribute_call():
    src = """
        class C:
            @property
            def x(self):
                return 1

            def m(self):
                return self.x()
    """
    assert callees(src, "C.m") == []


def test_property_calling_itself_is_not_a_self_call():
    src = """
        class C:
            @property
            def x(self):
                return self.x()
    """
    assert self_calls(src, "C.x") == []


# -- constructors -------------------------------------------------------------------------
def test_constructor_call_resolves_to_init():
    src = """
        class C:
            def __init__(self, n):
                self.n = n

        def make(n):
            return C(n)
    """
    facts = facts_of(src)
    sites = graph_of(facts).sites[function(facts, "make")]
    assert [s.callee.qualname for s in sites] == ["C.__init__"]
    assert sites[0].constructs


def test_constructor_call_resolves_to_inherited_init():
    src = """
        class B:
            def __init__(self):
                self.n = 0

        class C(B):
            pass

        def make():
            return C()
    """
    facts = facts_of(src)
    sites = graph_of(facts).sites[function(facts, "make")]
    assert [(s.callee.qualname, s.constructs) for s in sites] == [("B.__init__", True)]


def test_constructor_inside_init_is_not_a_self_call():
    src = """
        class C:
            def __init__(self, n):
                self.child = C(n - 1)
    """
    facts = facts_of(src)
    graph = graph_of(facts)
    init = function(facts, "C.__init__")
    assert graph.self_calls(init) == []
    assert [(s.callee is init, s.constructs) for s in graph.sites[init]] == [(True, True)]


def test_explicit_init_call_is_a_self_call():
    src = """
        class C:
            def __init__(self, n):
                self.__init__(n)
    """
    assert len(self_calls(src, "C.__init__")) == 1


# -- positions ----------------------------------------------------------------------------
def test_position_of_plain_def():
    facts = facts_of("x = 1\n\ndef f():\n    pass\n")
    fn = function(facts, "f")
    assert (fn.line, fn.column) == (3, 0)


def test_position_excludes_decorators():
    src = "import functools\n\n@functools.lru_cache\n@other(\n    1)\ndef f():\n    pass\n"
    fn = function(facts_of(src), "f")
    assert (fn.line, fn.column) == (6, 0)


def test_position_of_async_def_is_the_async_keyword():
    fn = function(facts_of("\nasync def f():\n    pass\n"), "f")
    assert (fn.line, fn.column) == (2, 0)


def test_position_of_decorated_method():
    src = "class C:\n    @property\n    def x(self):\n        return 1\n"
    fn = function(facts_of(src), "C.x")
    assert (fn.line, fn.column) == (3, 4)


def test_position_of_decorated_async_method():
    src = "class C:\n    @staticmethod\n    async def m():\n        pass\n"
    fn = function(facts_of(src), "C.m")
    assert (fn.line, fn.column) == (3, 4)


def test_position_of_nested_function():
    src = "def outer():\n    x = 1\n    def inner():\n        pass\n"
    fn = function(facts_of(src), "outer.<locals>.inner")
    assert (fn.line, fn.column) == (3, 4)


def test_position_after_comment_and_blank_lines():
    src = "# header\n\n\n# about f\ndef f():\n    pass\n"
    fn = function(facts_of(src), "f")
    assert (fn.line, fn.column) == (5, 0)
