"""The command's side of the fixes: which reported findings have one (``[*]``, the JSON
``fix`` object, SARIF ``fixes``), and ``--fix`` / ``--diff``: apply them, analyse the fixed
files again, repeat while a pass fixes something (a fix may make room for another).

Imported by the command only when a finding has a fix module (:data:`fixes.FIXERS`) or
``--fix`` / ``--diff`` is given; libcst's codemod machinery only when a fix adds an import.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import Callable, Counter, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .findings import Finding
from .reporters import FixInfo
from .fixes import FIXERS, fixer
from .fixes.apply import apply, disjoint, line_edits
from .fixes.plan import FilePlan, plan_file

MAX_PASSES = 4  # a fix may expose another: stop after this many rounds in any case


def fix_infos(texts: Mapping[str, str], findings: Mapping[str, Sequence[Finding]],
              with_edits: bool) -> Dict[Tuple[str, Finding], FixInfo]:
    """(path, finding) -> its fix, for every finding that has one. ``with_edits``: work
    out the text each fix writes (the JSON and SARIF reports)."""
    infos: Dict[Tuple[str, Finding], FixInfo] = {}
    for path, found in findings.items():
        if path in texts:
            infos.update(((path, f), info) for f, info in _file_fix_infos(texts[path], found, with_edits).items())
    return infos


def decided_fixes(text: str, findings: Sequence[Finding]) -> Dict[Tuple[int, int, str], Optional[FixInfo]]:
    """(line, column, code) -> the fix (without its edits), or None, for each finding of a
    code that has fixes (the processes of project mode decide this)."""
    infos = _file_fix_infos(text, findings, with_edits=False)
    return {(f.line, f.column, f.code): infos.get(f) for f in findings if f.code in FIXERS}


def _file_fix_infos(text: str, found: Sequence[Finding], with_edits: bool) -> Dict[Finding, FixInfo]:
    if not any(f.code in FIXERS for f in found):
        return {}
    infos: Dict[Finding, FixInfo] = {}
    plan = plan_file(text, found, deciding=not with_edits)
    for finding, rewrite in plan.rewrites.items():
        edits: Tuple[Tuple[int, int, str], ...] = ()
        if with_edits and plan.index is not None:
            try:
                fixed = apply(plan.index.module, [rewrite])
            except Exception:  # a fix never stops the report: that finding has none
                continue
            edits = tuple(line_edits(text, fixed))
        infos[finding] = FixInfo(rewrite.applicability, fixer(finding.code).TITLE, edits)
    return infos


@dataclasses.dataclass
class FixRun:
    texts: Dict[str, str]  # every file, as fixed
    findings: Dict[str, List[Finding]]  # what is left
    changed: Dict[str, str]  # path -> its text before the fixes, for the files changed
    fixed: Counter[str] = dataclasses.field(default_factory=collections.Counter)
    # the findings whose fix was applied once: a finding a fix did not remove is not fixed
    # again (a second seen set would not help either), it is reported as left
    tried: Set[Tuple[str, str, str]] = dataclasses.field(default_factory=set)


def _identity(path: str, finding: Finding) -> Tuple[str, str, str]:
    """The same finding in the file before and after a fix moved its lines."""
    where = finding.chain[0].function if finding.chain else re.sub(r"\d+", "", finding.message)
    return path, finding.code, where


def fix_files(texts: Mapping[str, str], findings: Mapping[str, List[Finding]],
              analyse: Callable[[Mapping[str, str]], Dict[str, List[Finding]]],
              unsafe: bool, selected: Callable[[str, str], bool]) -> FixRun:
    """Apply the fixes of the selected findings until none is left to apply."""
    run = FixRun(dict(texts), dict(findings), {})
    for _ in range(MAX_PASSES):
        applied = _one_pass(run, unsafe, selected)
        if not applied:
            break
        run.findings = analyse(run.texts)
    return run


def _one_pass(run: FixRun, unsafe: bool, selected: Callable[[str, str], bool]) -> int:
    applied = 0
    for path, found in sorted(run.findings.items()):
        wanted = [f for f in found if selected(path, f.code) and _identity(path, f) not in run.tried]
        if path not in run.texts or not any(f.code in FIXERS for f in wanted):
            continue
        plan = plan_file(run.texts[path], wanted)
        fixed_text, count = _fixed_text(plan, unsafe)
        if fixed_text is None:
            continue
        run.changed.setdefault(path, run.texts[path])
        run.texts[path] = fixed_text
        run.fixed.update(r.finding.code for r in count)
        run.tried.update(_identity(path, r.finding) for r in count)
        applied += len(count)
    return applied


def _fixed_text(plan: FilePlan, unsafe: bool):
    """The file with the chosen fixes; a fix whose file would not compile is left out (a fix
    must never leave a file that does not run)."""
    chosen = disjoint(plan.chosen(unsafe))
    if not chosen or plan.index is None:
        return None, []
    text = _compiled(plan, chosen)
    if text is None:
        chosen = [r for r in chosen if _compiled(plan, [r]) is not None]
        text = _compiled(plan, chosen) if chosen else None
    return (text, chosen) if text is not None and text != plan.text else (None, [])


def _compiled(plan: FilePlan, rewrites) -> "str | None":
    try:
        text = apply(plan.index.module, rewrites)  # type: ignore[union-attr]
        compile(text, "<fixed>", "exec", dont_inherit=True)
    except Exception:
        return None
    return text


def refusals(texts: Mapping[str, str], findings: Mapping[str, Sequence[Finding]]
             ) -> Dict[Tuple[str, Finding], str]:
    """Why each finding of a fixable code has no fix (the sweep's numbers)."""
    reasons: Dict[Tuple[str, Finding], str] = {}
    for path, found in findings.items():
        if path in texts:
            reasons.update(((path, f), why) for f, why in plan_file(texts[path], found, deciding=True).refused.items())
    return reasons
