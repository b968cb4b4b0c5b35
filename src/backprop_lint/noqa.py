"""``# noqa`` comments, honoured exactly as flake8 (7.x) honours them.

* ``# noqa`` anywhere in the reported *logical* line (a statement spread over several
  lines, a multi-line string) silences every finding on it; ``# noqa: BPL101,BPL2``
  silences the codes listed and the codes they are prefixes of. The comment is matched
  case-insensitively, the codes are not (flake8's ``# noqa: bpl101`` silences nothing).
* a line that is only ``# flake8: noqa`` (or ``# flake8=noqa``) skips the whole file.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, List, Optional, Sequence

from .findings import Finding

# flake8.defaults.NOQA_INLINE_REGEXP and NOQA_FILE
NOQA_INLINE = re.compile(
    r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE
)
NOQA_FILE = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,\s]")


def file_is_skipped(lines: Sequence[str]) -> bool:
    return any(NOQA_FILE.match(line) for line in lines)


def logical_lines(text: str) -> Dict[int, str]:
    """Each physical line number -> the text of the logical line it belongs to (flake8's
    ``_noqa_line_mapping``); empty if the file does not tokenize."""
    lines = text.splitlines(keepends=True)
    mapping: Dict[int, str] = {}
    first, last = len(lines) + 2, -1
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return {}
    for token in tokens:
        if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
            continue
        first = min(first, token.start[0])
        last = max(last, token.end[0])
        if token.type in (tokenize.NL, tokenize.NEWLINE):
            joined = "".join(lines[first - 1:last])
            mapping.update(dict.fromkeys(range(first, last + 1), joined))
            first, last = len(lines) + 2, -1
    return mapping


def is_silenced(code: str, line_text: Optional[str]) -> bool:
    """flake8's ``Violation.is_inline_ignored``."""
    if not line_text:
        return False
    match = NOQA_INLINE.search(line_text)
    if match is None:
        return False
    codes_text = match.group("codes")
    if codes_text is None:
        return True
    codes = tuple(c.strip() for c in _SEPARATORS.split(codes_text) if c.strip())
    return code in codes or code.startswith(codes)


class NoqaFilter:
    """The ``noqa`` verdicts for one file's text (tokenized only if it mentions noqa)."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)
        self._mentions_noqa = "noqa" in text.lower()
        self._logical: Optional[Dict[int, str]] = None
        self.skips_file = self._mentions_noqa and file_is_skipped(self._lines)

    def line_for(self, line: int) -> Optional[str]:
        if self._logical is None:
            self._logical = logical_lines("".join(self._lines))
        if line in self._logical:
            return self._logical[line]
        if 0 < line <= len(self._lines):  # flake8 falls back to the physical line
            return self._lines[line - 1]
        return None

    def silences(self, code: str, line: int) -> bool:
        if not self._mentions_noqa:
            return False
        return self.skips_file or is_silenced(code, self.line_for(line))

    def keep(self, findings: Sequence[Finding]) -> List[Finding]:
        return [f for f in findings if not self.silences(f.code, f.line)]
