"""BPL301: a backward pass started from inside a backward pass.

In a ``torch.autograd.Function``'s ``backward`` and in a registered backward hook, any
``.backward()``, ``torch.autograd.backward`` or ``torch.autograd.grad`` starts the engine
again; in other backward-pass code only the explicit engine calls count (``loss.backward()``
there is usually the training step itself).
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from ..facts import ClassFacts, FunctionFacts, ModuleFacts
from ..findings import Scoped
from ..names import dotted_name, own_nodes
from .backward import hook_argument, hook_registrations
from .render import source_of
from .report import at_node

_AUTOGRAD_FUNCTION = re.compile(
    r"^torch\.autograd(\.function)?\.(Function|InplaceFunction|NestedIOFunction)$"
)
_ENGINE_CALLS = frozenset({"torch.autograd.backward", "torch.autograd.grad"})


def is_autograd_function(facts: ModuleFacts, cls: ClassFacts) -> bool:
    for candidate in facts.mro(cls):
        if candidate is None:
            continue
        for base in candidate.bases:
            if _AUTOGRAD_FUNCTION.match(facts.absolute(base) or ""):
                return True
    return False


def check_reentrant_backward(modules: Sequence[ModuleFacts], walks) -> List[Scoped]:
    """Any ``.backward()`` in autograd Functions and hooks; explicit engine calls in the
    functions they call (transitively): code that runs while the engine runs.

    CODES.md also names explicit engine calls anywhere in backward-pass code; but a
    function named ``*backward*`` that calls ``torch.autograd.backward`` is most often the
    entry point that starts the pass (``Tensor.backward``, a pipeline's
    ``stage_backward``), not a pass inside a pass, so only code the engine itself runs
    counts."""
    findings: Dict[Tuple[str, int, int], Scoped] = {}
    strict = [entry for facts in modules for entry in engine_run_bodies(facts)]
    for facts, body, where, within in strict:
        imported = local_imports(within.node if within is not None else body)
        for call in _calls_in(body):
            name = _engine_call(facts, call, any_backward=True, local_imports=imported)
            if name:
                _add(findings, facts, call, name, where, within)
    strict_ids = {id(body) for _, body, _, _ in strict}
    for function in _run_by_the_engine(walks, strict_ids):
        if id(function.node) in strict_ids:
            continue
        imported = local_imports(function.node)
        for call in _calls_in(function.node.body):
            name = _engine_call(function.module, call, any_backward=False, local_imports=imported)
            if name:
                _add(findings, function.module, call, name,
                     f"'{function.qualname}', which a backward pass runs,", function)
    return list(findings.values())


def _run_by_the_engine(walks, strict_ids) -> List[FunctionFacts]:
    """Functions called (by resolved calls, transitively) from autograd Function.backward
    methods and named hooks, in file order."""
    reached = [f for f in walks.functions if id(f.node) in strict_ids]
    seen = set(reached)
    queue = list(reached)
    while queue:
        function = queue.pop()
        for hop in walks.hops.get(function, []):
            if not hop.by_name and hop.callee not in seen:
                seen.add(hop.callee)
                queue.append(hop.callee)
                reached.append(hop.callee)
    return sorted(reached, key=lambda f: f.order)


def engine_run_bodies(facts: ModuleFacts) -> List[Tuple[ModuleFacts, cst.CSTNode, str, Optional[FunctionFacts]]]:
    """autograd Function.backward methods and hooks (module, body, description, the
    function that holds the body): any ``.backward()`` there starts the engine again."""
    strict = []
    for function in facts.functions:
        if function.name == "backward" and function.owner and is_autograd_function(facts, function.owner):
            strict.append((facts, function.node, f"the autograd Function '{function.qualname}'", function))
    for call, caller in hook_registrations(facts):
        hook = hook_argument(call)
        if isinstance(hook, cst.Lambda):
            strict.append((facts, hook.body, "a backward hook (lambda)", caller))
            continue
        target = facts.resolve_reference(hook, caller)
        if isinstance(target, FunctionFacts):
            strict.append((target.module, target.node, f"the backward hook '{target.qualname}'", target))
    return strict


def _calls_in(root: cst.CSTNode) -> List[cst.Call]:
    """Calls that run in this body: not in nested functions, classes or lambdas."""
    return [node for node in own_nodes(root) if isinstance(node, cst.Call)]


def _add(findings, facts: ModuleFacts, call: cst.Call, name: str, where: str,
         within: Optional[FunctionFacts]) -> None:
    if name == "torch.autograd.grad":  # returns the gradients: nothing is accumulated
        effect = "each level nests another pass, as deep as the graph"
    else:
        effect = "each level nests another pass, and gradients accumulate into .grad again"
    message = (
        f"re-entrant backward: {where} starts another backward pass with {name} "
        f"('{source_of(call)}'). The engine re-enters itself: {effect}. Compute the "
        "gradient directly, or call it outside the backward pass."
    )
    finding = at_node(facts, call, "BPL301", message, within)
    findings.setdefault((finding.path, finding.line, finding.column), (finding, None))


def _engine_call(facts: ModuleFacts, call: cst.Call, any_backward: bool,
                 local_imports: Optional[Dict[str, str]] = None) -> Optional[str]:
    absolute = _absolute(facts, dotted_name(call.func), local_imports or {})
    if absolute in _ENGINE_CALLS:
        return absolute
    func = call.func
    if any_backward and isinstance(func, cst.Attribute) and func.attr.value == "backward":
        if not _delegates(facts, func.value):
            return ".backward()"
    return None


def _absolute(facts: ModuleFacts, dotted: Optional[str], local_imports: Dict[str, str]) -> Optional[str]:
    """The dotted name with its first part resolved by the function's own imports
    (``from torch.autograd import grad as g`` inside it), else the module's."""
    head, _, rest = (dotted or "").partition(".")
    if head in local_imports:
        return local_imports[head] + ("." + rest if rest else "")
    return facts.absolute(dotted)


def local_imports(body: cst.CSTNode) -> Dict[str, str]:
    """Local name -> dotted origin for the imports a function body makes itself."""
    found: Dict[str, str] = {}
    for node in own_nodes(body):
        if isinstance(node, cst.ImportFrom) and not node.relative and not isinstance(node.names, cst.ImportStar):
            module = dotted_name(node.module) if node.module is not None else None
            for alias in node.names if module else ():
                name = dotted_name(alias.name) or ""
                local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
                found[local] = f"{module}.{name}"
        elif isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    found[alias.asname.name.value] = full
    return found


def _delegates(facts: ModuleFacts, receiver: cst.BaseExpression) -> bool:
    """``OtherFunction.backward(ctx, g)`` / ``super().backward(...)`` delegate: they run
    a backward function body, not the engine."""
    if isinstance(receiver, cst.Call):
        return dotted_name(receiver.func) == "super"
    name = dotted_name(receiver)
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1]
    if facts.lookup(name, None) is not None and isinstance(facts.lookup(name, None), ClassFacts):
        return True
    return last[:1].isupper() and last not in ("Tensor",)
