"""BPL104 and BPL105: recursion hidden in Python's data model.

``repr(self)`` inside ``__repr__``, ``self.x`` inside the getter of property ``x``,
``self.a = v`` inside ``__setattr__``... each re-enters the method that contains it. A
site is one such re-entry; BPL104 holds when every path of the method passes one (the same
control-flow rule as BPL101). BPL105 is the unpickling / ``copy`` trap of ``__getattr__``:
reading an instance attribute of ``self`` that is missing re-enters ``__getattr__``.
"""

from __future__ import annotations

import re
import string
from typing import Callable, Dict, List, Optional, Sequence, Set

import libcst as cst

from ..cfg import DELETE, EVAL, ITERATED, STORE, Atom, Block, ControlFlowGraph, every_path_hits
from ..facts import ClassFacts, FunctionFacts, ModuleFacts
from ..findings import Finding
from ..imported import (ClassInfo, constructs_on_call, constructs_when_called, imported_target, inherited,
                        metaclass_constructs)
from .getattr_reentry import getattr_reentry
from .report import at_def
from ..names import dotted_name, is_name, string_value

SitePredicate = Callable[[Atom, Block], bool]

_NN_MODULE = re.compile(r"^torch\.nn\.(modules\.[\w.]+\.)?[A-Z]\w*$")


class _Sites:
    """Site predicates for one method: ``me`` is its ``self`` (or ``cls``)."""

    def __init__(self, facts: ModuleFacts, function: FunctionFacts, me: str):
        self.facts = facts
        self.function = function
        self.me = me

    def is_me(self, node: cst.CSTNode) -> bool:
        return is_name(node, self.me)

    def builtin_on_me(self, names: Set[str]) -> SitePredicate:
        """``len(self)``, ``repr(self)``...: a builtin called with self first."""
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            return (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Name)
                and node.func.value in names
                and node.func.value not in self.function.scope.bindings
                and bool(node.args)
                and node.args[0].star == ""
                and self.is_me(node.args[0].value)
            )
        return predicate

    def attribute_of_me(self, role: str, attr: Optional[str]) -> SitePredicate:
        """``self.<attr>`` read / stored / deleted (any attribute when attr is None)."""
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            return (
                atom.role == role
                and isinstance(node, cst.Attribute)
                and self.is_me(node.value)
                and (attr is None or node.attr.value == attr)
            )
        return predicate

    def attribute_builtin(self, names: Set[str], attr: Optional[str]) -> SitePredicate:
        """``getattr(self, "x")`` / ``setattr(self, name, v)``: attr None matches any name."""
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            if not self.builtin_on_me(names)(atom, block) or len(node.args) < 2:
                return False
            return attr is None or string_value(node.args[1].value) == attr
        return predicate

    def subscript_of_me(self, role: str) -> SitePredicate:
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            return atom.role == role and isinstance(node, cst.Subscript) and self.is_me(node.value)
        return predicate

    def compares_me(self, operators: tuple, me_on_left: bool) -> SitePredicate:
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            if not isinstance(node, cst.Comparison):
                return False
            if me_on_left:
                first = node.comparisons[0]
                return self.is_me(node.left) and isinstance(first.operator, operators)
            return any(
                isinstance(t.operator, operators) and self.is_me(t.comparator)
                for t in node.comparisons
            )
        return predicate

    def formats_me(self, conversions: Set[Optional[str]]) -> SitePredicate:
        """``f"{self}"`` (conversion None), ``f"{self!r}"`` ('r'), ``f"{self!s}"`` ('s')."""
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            return (
                isinstance(node, cst.FormattedString)
                and any(
                    isinstance(part, cst.FormattedStringExpression)
                    and self.is_me(part.expression)
                    and part.conversion in conversions
                    for part in node.parts
                )
            )
        return predicate

    def percent_formats_me(self, directive: str) -> SitePredicate:
        """``"%r" % self`` / ``"<%s>" % (self,)``."""
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            if not (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo)):
                return False
            template = string_value(node.left)
            if template is None or directive not in template:
                return False
            right = node.right
            if isinstance(right, cst.Tuple):
                return any(self.is_me(e.value) for e in right.elements)
            return self.is_me(right)
        return predicate

    def str_format_of_me(self, conversions: Set[Optional[str]]) -> SitePredicate:
        """``"{}".format(self)`` / ``"{0!r}".format(self)``: a replacement field that formats
        the argument ``self`` itself (``{0.attr}`` / ``{0[k]}`` format something else)."""
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                    and node.func.attr.value == "format"):
                return False
            template = string_value(node.func.value)
            if template is None:
                return False
            positional = [a for a in node.args if a.keyword is None and not a.star]
            mine = {str(i) for i, a in enumerate(positional) if self.is_me(a.value)}
            mine |= {a.keyword.value for a in node.args if a.keyword is not None and self.is_me(a.value)}
            return any(conversion in conversions and field in mine
                       for field, conversion in _format_fields(template))
        return predicate

    def calls_me(self) -> SitePredicate:
        def predicate(atom: Atom, block: Block) -> bool:
            return isinstance(atom.node, cst.Call) and self.is_me(atom.node.func)
        return predicate

    def iterates_me(self) -> SitePredicate:
        def predicate(atom: Atom, block: Block) -> bool:
            return atom.role == ITERATED and self.is_me(atom.node)
        return predicate

    def tests_truth_of_me(self) -> SitePredicate:
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
                return self.is_me(node.expression)
            return atom is block.atoms[-1] and any(self.is_me(d) for d in block.deciders or ())
        return predicate

    def constructs_own_class(self) -> SitePredicate:
        cls = self.function.owner
        constructs = self.constructs(cls)
        if self.function.name != "__init__":
            return constructs
        # a metaclass whose __call__ may return without constructing may never run __init__
        return _only_if(_memo(lambda: _construction_runs_init(self.facts, cls)), constructs)

    def constructs(self, cls: ClassFacts) -> SitePredicate:
        def predicate(atom: Atom, block: Block) -> bool:
            node = atom.node
            if not isinstance(node, cst.Call):
                return False
            func = node.func
            if self.function.name == "__new__" and self.is_me(func):
                return True
            if isinstance(func, cst.Name):
                return self.facts.lookup(func.value, self.function) is cls
            if isinstance(func, cst.Call):  # type(self)(...)
                return is_name(func.func, "type") and len(func.args) == 1 and self.is_me(func.args[0].value)
            return isinstance(func, cst.Attribute) and func.attr.value == "__class__" and self.is_me(func.value)
        return predicate


def _format_fields(template: str):
    """(argument index or name, conversion) of each replacement field that formats an
    argument as a whole; automatic numbering resolved."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return []
    fields, automatic = [], 0
    for _, field, _, conversion in parsed:
        if field is None:
            continue
        if field == "":
            field = str(automatic)
            automatic += 1
        if field.isidentifier() or field.isdigit():
            fields.append((field, conversion))
    return fields


def _any(*predicates: SitePredicate) -> SitePredicate:
    return lambda atom, block: any(p(atom, block) for p in predicates)


def _only_if(condition: Callable[[], bool], predicate: SitePredicate) -> SitePredicate:
    """The predicate, where ``condition`` (asked only once the predicate holds) holds too."""
    return lambda atom, block: predicate(atom, block) and condition()


def _memo(compute: Callable[[], bool]) -> Callable[[], bool]:
    answer: List[bool] = []

    def memoized() -> bool:
        if not answer:
            answer.append(compute())
        return answer[0]
    return memoized


def is_nn_module(facts: ModuleFacts, cls: ClassFacts) -> bool:
    """A subclass of torch.nn.Module (through any chain of classes of this module)."""
    for candidate in facts.mro(cls):
        if candidate is None:
            continue
        for base in candidate.bases:
            if base is not None and _NN_MODULE.match(facts.absolute(base) or ""):
                return True
    return False


def _inherits_nn_module(facts: ModuleFacts, cls: ClassFacts) -> bool:
    """A subclass of torch.nn.Module here, or through classes defined elsewhere."""
    return is_nn_module(facts, cls) or any(
        _NN_MODULE.match(c.qualname) for c in inherited(facts, cls).classes)


def _defines(facts: ModuleFacts, cls: ClassFacts, name: str) -> Optional[bool]:
    """The class or a base binds ``name`` (here or elsewhere); None when a base is unknown
    and none that is known binds it."""
    outside = inherited(facts, cls)
    if facts.class_defines(cls, name) or outside.defines(name):
        return True
    return False if outside.known else None


def _construction_runs_init(facts: ModuleFacts, cls: ClassFacts) -> bool:
    """Calling the class surely runs ``__init__``: every metaclass on its bases is known
    and constructs normally when called."""
    outside = inherited(facts, cls)
    if not outside.known or not metaclass_constructs(outside.classes):
        return False
    for local in facts.mro(cls):
        if local is None or local.node is None:
            continue
        for keyword in local.node.keywords:
            if keyword.keyword is not None and keyword.keyword.value == "metaclass":
                if not _local_metaclass_constructs(facts, local, keyword.value):
                    return False
    return True


def _local_metaclass_constructs(facts: ModuleFacts, cls: ClassFacts, expr: cst.BaseExpression) -> bool:
    meta = facts.resolve_reference(expr, cls.function) if isinstance(expr, cst.Name) else None
    if not isinstance(meta, ClassFacts):
        found = imported_target(facts, dotted_name(expr), cls.function)
        return isinstance(found, ClassInfo) and constructs_when_called(found)
    defines_call = _defines(facts, meta, "__call__")
    if defines_call is None:
        return False
    if not defines_call:
        return True
    call = facts.method(meta, "__call__")
    return call is not None and constructs_on_call(call.as_ast())


def _site_predicate(facts: ModuleFacts, function: FunctionFacts) -> Optional[tuple]:
    """(what re-enters, predicate) for this method, or None if it has no data-model role."""
    cls = function.owner
    me = function.receiver
    if cls is None or me is None:
        return None
    sites = _Sites(facts, function, me)
    name = function.name
    if function.kind == "property":
        attr = name
        return (f"reads self.{attr}, which runs this getter again",
                _any(sites.attribute_of_me(EVAL, attr),
                     sites.attribute_builtin({"getattr", "hasattr"}, attr)))
    if function.kind == "setter":
        return (f"assigns self.{name}, which runs this setter again",
                _any(sites.attribute_of_me(STORE, name), sites.attribute_builtin({"setattr"}, name)))
    if function.kind == "deleter":
        return (f"deletes self.{name}, which runs this deleter again",
                _any(sites.attribute_of_me(DELETE, name), sites.attribute_builtin({"delattr"}, name)))
    if function.kind != "method" and name != "__new__":
        return None
    # what the bases define is asked only once a site needs it: it may read other modules
    str_is_repr = _memo(lambda: _defines(facts, cls, "__str__") is False)
    no_format = _memo(lambda: _defines(facts, cls, "__format__") is False)
    str_forms = _any(
        sites.builtin_on_me({"str", "print"}),
        sites.percent_formats_me("%s"),
        sites.formats_me({"s"}),
        sites.str_format_of_me({"s"}),
        # with no __format__ anywhere, object.__format__ formats with str() too
        _only_if(no_format, _any(sites.formats_me({None}), sites.builtin_on_me({"format"}),
                                 sites.str_format_of_me({None}))),
    )
    table: Dict[str, tuple] = {
        "__setattr__": ("sets an attribute on self normally, which calls __setattr__ again",
                        _any(sites.attribute_of_me(STORE, None), sites.attribute_builtin({"setattr"}, None))),
        "__delattr__": ("deletes an attribute of self normally, which calls __delattr__ again",
                        _any(sites.attribute_of_me(DELETE, None), sites.attribute_builtin({"delattr"}, None))),
        "__getattribute__": ("reads an attribute of self, which calls __getattribute__ again",
                             _any(sites.attribute_of_me(EVAL, None),
                                  sites.attribute_builtin({"getattr", "hasattr"}, None))),
        "__repr__": _repr_entry(sites, _only_if(str_is_repr, str_forms)),
        "__str__": ("formats self as a string, which calls __str__ again", str_forms),
        "__format__": ("formats self, which calls __format__ again",
                       _any(sites.builtin_on_me({"format"}), sites.formats_me({None}),
                            sites.str_format_of_me({None}))),
        "__eq__": ("compares self == ..., which calls __eq__ again",
                   sites.compares_me((cst.Equal,), True)),
        "__ne__": ("compares self != ..., which calls __ne__ again",
                   sites.compares_me((cst.NotEqual,), True)),
        "__len__": ("calls len(self), which calls __len__ again", sites.builtin_on_me({"len"})),
        "__getitem__": ("indexes self[...], which calls __getitem__ again", sites.subscript_of_me(EVAL)),
        "__setitem__": ("assigns self[...], which calls __setitem__ again", sites.subscript_of_me(STORE)),
        "__delitem__": ("deletes self[...], which calls __delitem__ again", sites.subscript_of_me(DELETE)),
        "__hash__": ("calls hash(self), which calls __hash__ again", sites.builtin_on_me({"hash"})),
        "__bool__": ("tests the truth of self, which calls __bool__ again",
                     _any(sites.builtin_on_me({"bool"}), sites.tests_truth_of_me())),
        "__iter__": ("iterates self, which calls __iter__ again",
                     _any(sites.builtin_on_me({"iter"}), sites.iterates_me())),
        "__contains__": ("tests ... in self, which calls __contains__ again",
                         sites.compares_me((cst.In, cst.NotIn), False)),
        "__call__": ("calls self(...), which calls __call__ again", sites.calls_me()),
        "__init__": (f"constructs a new {cls.name}, which calls __init__ again",
                     sites.constructs_own_class()),
        "__new__": (f"constructs a new {cls.name}, which calls __new__ again",
                    sites.constructs_own_class()),
    }
    if name == "__getattr__" and len(function.params) >= 2:
        attr_param = function.params[1].name
        if len(function.scope.bindings.get(attr_param, ())) == 1:
            def same_name(atom: Atom, block: Block) -> bool:
                node = atom.node
                return (sites.attribute_builtin({"getattr", "hasattr"}, None)(atom, block)
                        and is_name(node.args[1].value, attr_param))
            return ("calls getattr(self, name) with its own name, which calls __getattr__ again",
                    same_name)
    if name == "forward" and (is_nn_module(facts, cls) or not facts.bases_known(cls)):
        return ("calls self(...), which nn.Module.__call__ turns into forward again",
                _only_if(_memo(lambda: _inherits_nn_module(facts, cls)), sites.calls_me()))
    return table.get(name)


def _repr_entry(sites: "_Sites", str_forms: SitePredicate) -> tuple:
    """``__repr__``: repr(self) re-enters it; so does formatting self as a string when the
    class has no __str__ (``str_forms`` holds only then: str falls back to __repr__) - said
    as what the code does."""
    as_repr = _any(sites.builtin_on_me({"repr"}), sites.formats_me({"r"}),
                   sites.percent_formats_me("%r"), sites.str_format_of_me({"r"}))
    return (_Described((("formats repr(self), which calls __repr__ again", as_repr),
                        ("formats self as a string, which falls back to __repr__ (the class "
                         "has no __str__) and calls it again", str_forms))),
            _any(as_repr, str_forms))


class _Described:
    """A description that depends on which form the code uses: the first whose predicate
    matches a site of the function."""

    def __init__(self, forms):
        self.forms = forms

    def of(self, function: FunctionFacts) -> str:
        for what, predicate in self.forms:
            if any(predicate(atom, block) for block, atom in function.cfg.atoms()):
                return what
        return self.forms[0][0]


# How to break each kind of re-entry: by method name, then by accessor kind.
_HINTS = {
    "property": "Keep the value under another name (self._x) or in self.__dict__.",
    "setter": "Store the value under another name (self._x) or in self.__dict__.",
    "deleter": "Delete the value stored under another name (self._x) or from self.__dict__.",
    "__setattr__": "Set it with object.__setattr__(self, name, value) or super().__setattr__.",
    "__delattr__": "Delete it with object.__delattr__(self, name) or super().__delattr__.",
    "__getattribute__": "Read it with object.__getattribute__(self, name) or super().",
    "__repr__": "Format the fields, not self: f\"{type(self).__name__}({self.x!r})\".",
    "__str__": "Format the fields, not self, or return repr-like text built from them.",
    "__format__": "Format the fields, or format(str(self), spec) if __str__ does not format.",
    "__eq__": "Compare the fields (self.x == other.x); use 'is' for identity.",
    "__ne__": "Return not (self == other), or compare the fields.",
    "__len__": "Return the length of the underlying data: len(self._items).",
    "__getitem__": "Index the underlying data: self._items[key].",
    "__setitem__": "Assign into the underlying data: self._items[key] = value.",
    "__delitem__": "Delete from the underlying data: del self._items[key].",
    "__hash__": "Hash the fields: hash((self.x, self.y)).",
    "__bool__": "Test the underlying data (bool(self._items)); 'if self' calls __bool__.",
    "__iter__": "Iterate the underlying data: iter(self._items).",
    "__contains__": "Test membership in the underlying data: x in self._items.",
    "__call__": "Call the function or method that does the work, not self(...).",
    "forward": "Call the submodules (self.layer(x)) or compute directly; self(x) runs forward.",
    "__init__": "Create the inner object lazily, pass it in, or make it of another class.",
    "__new__": "Create the instance with super().__new__(cls), not the class itself.",
    "__getattr__": "Look it up in self.__dict__ or the wrapped object, else raise "
                   "AttributeError(name).",
}


def _hint(function: FunctionFacts) -> str:
    key = function.kind if function.is_accessor else function.name
    return _HINTS.get(key, "Go through self.__dict__, object.__...__ or super().")


def check_data_model(modules: Sequence[ModuleFacts], skip: Set[FunctionFacts]) -> List[Finding]:
    findings = []
    for function in (f for module in modules for f in module.functions):
        if function in skip or _replaced_later(function):
            continue
        facts = function.module
        found = _site_predicate(facts, function)
        if (found is None and function.name != "__getattr__") or function.wrapped:
            continue  # (a decorator is judged only for a method with a role)
        if found is not None and not _switches_class(function):
            what, predicate = found
            if _every_path(function.cfg, predicate):
                if isinstance(what, _Described):
                    what = what.of(function)
                findings.append(_report(function, what))
                continue
        if function.name == "__getattr__" and function.owner is not None and not _switches_class(function):
            finding = getattr_reentry(facts, function)
            if finding is not None:
                findings.append(finding)
    return findings


def _replaced_later(function: FunctionFacts) -> bool:
    """A later ``def`` of the same name in the class body replaces this one (property
    accessors aside: they extend one property)."""
    owner = function.owner
    if owner is None or function.is_accessor:
        return False
    return owner.methods.get(function.name, [function])[-1] is not function


def _switches_class(function: FunctionFacts, depth: int = 0) -> bool:
    """``self.__class__ = Other`` (here, or in a method of the class it calls on self):
    from then on another class's methods answer."""
    me = function.receiver
    if me is None or depth > 3:
        return False
    for _, atom in function.cfg.atoms():
        node = atom.node
        if isinstance(node, cst.Attribute) and is_name(node.value, me):
            if atom.role == STORE and node.attr.value == "__class__":
                return True
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and is_name(node.func.value, me):
            callee = function.module.method(function.owner, node.func.attr.value) if function.owner else None
            if callee is not None and callee is not function and _switches_class(callee, depth + 1):
                return True
    return False


def _every_path(cfg: ControlFlowGraph, predicate: SitePredicate) -> bool:
    return every_path_hits(cfg, lambda block: any(predicate(a, block) for a in block.atoms))


def _report(function: FunctionFacts, what: str) -> Finding:
    message = f"implicit self-recursion: '{function.qualname}' {what} on every path. {_hint(function)}"
    return at_def(function, "BPL104", message)
