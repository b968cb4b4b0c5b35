"""Which findings of a file have a fix, and what it is (libcst's parser only).

:func:`plan_file` parses the file once, finds each fixable finding's function (the one
whose ``def`` is on the finding's line; for BPL402, reported on the ``pop(0)`` line, the
innermost function around it) and asks the code's fix module for the rewrite.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence

from ..findings import Finding
from . import FIXERS, fixer
from .skeleton import Skeleton
from .target import ModuleIndex, NoFix, Rewrite

# codes reported on a line inside the function rather than on its `def`
REPORTED_INSIDE = {"BPL401", "BPL402"}


@dataclasses.dataclass
class FilePlan:
    text: str
    index: Optional[ModuleIndex]
    rewrites: Dict[Finding, Rewrite]
    refused: Dict[Finding, str]  # finding -> why it has no fix

    def chosen(self, unsafe: bool) -> List[Rewrite]:
        return [r for r in self.rewrites.values()
                if r.applicability == "safe" or unsafe]


def fixable(findings: Sequence[Finding]) -> bool:
    return any(f.code in FIXERS for f in findings)


def plan_file(text: str, findings: Sequence[Finding], deciding: bool = False) -> FilePlan:
    """The fixes of ``findings``. ``deciding``: only which findings have one and of what
    kind, worked out on the file's skeleton (:mod:`.skeleton`): the rewrites cannot be
    applied to the file."""
    wanted = [f for f in findings if f.code in FIXERS]
    plan = FilePlan(text, None, {}, {})
    if not wanted:
        return plan
    try:
        if deciding:
            whole_module = any(getattr(fixer(f.code), "READS_MODULE", True) for f in wanted)
            skeleton = Skeleton(text, {f.line for f in wanted}, whole_module)
            plan.index = ModuleIndex(skeleton.text, skeleton.function_lines)
        else:
            plan.index = ModuleIndex(text)
    except Exception as exc:  # libcst cannot parse it: no fix (the finding says BPL900)
        plan.refused.update((f, f"cannot parse: {type(exc).__name__}") for f in wanted)
        return plan
    for finding in wanted:
        target = plan.index.target(finding, at_def=finding.code not in REPORTED_INSIDE)
        if target is None:
            plan.refused[finding] = "no function at the finding's line"
            continue
        try:
            plan.rewrites[finding] = fixer(finding.code).rewrite(target)
        except NoFix as reason:
            plan.refused[finding] = str(reason)
        except RecursionError:
            plan.refused[finding] = "too deeply nested to rewrite"
        except Exception as exc:  # a fix never stops the report: that finding has none
            plan.refused[finding] = f"the fix failed ({type(exc).__name__}: {exc})"
    return plan
