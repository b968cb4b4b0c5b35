"""``# noqa`` comments, honoured exactly as flake8 (7.x) honours them.

* ``# noqa`` anywhere in the reported *logical* line (a statement spread over several
  lines, a multi-line string) silences every finding on it; ``# noqa: BPL101,BPL2``
  silences the codes listed and the codes they are prefixes of. The comment is matched
  case-insensitively, the codes are not (flake8's ``# noqa: bpl101`` silences nothing).
* a line that is only ``# flake8: noqa`` (or ``# flake8=noqa``) skips the whole file.
"""

from __future__ import annotations

import dataclasses
import io
import re
import sys
import tokenize
from typing import Dict, Mapping, Optional, Sequence, Tuple

# flake8.defaults.NOQA_INLINE_REGEXP and NOQA_FILE
NOQA_INLINE = re.compile(
    r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE
)
NOQA_FILE = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,\s]")


def file_is_skipped(lines: Sequence[str]) -> bool:
    return any(NOQA_FILE.match(line) for line in lines)


def logical_spans(text: str) -> Dict[int, Tuple[int, int]]:
    """Each physical line number -> (first, last) line of the logical line it belongs to
    (flake8's ``_noqa_line_mapping``: from a token to the next NEWLINE or NL); empty if
    the file does not tokenize."""
    spans: Dict[int, Tuple[int, int]] = {}
    first, last = sys.maxsize, -1
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
            spans.update(dict.fromkeys(range(first, last + 1), (first, last)))
            first, last = sys.maxsize, -1
    return spans


def logical_lines(text: str) -> Dict[int, str]:
    """Each physical line number -> the text of the logical line it belongs to (flake8's
    ``_noqa_line_mapping``); empty if the file does not tokenize."""
    lines = text.splitlines(keepends=True)
    joined: Dict[Tuple[int, int], str] = {}
    mapping: Dict[int, str] = {}
    for number, span in logical_spans(text).items():
        if span not in joined:  # one string object per logical line (NoqaComments relies on it)
            joined[span] = "".join(lines[span[0] - 1:span[1]])
        mapping[number] = joined[span]
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


@dataclasses.dataclass(frozen=True)
class NoqaComments:
    """What flake8 reads of one file's ``# noqa`` comments: whether one skips the whole
    file, and the text each silencing comment is matched in (its logical line), by the
    number of every line that text spans. Reading them means tokenizing the file, which
    costs more than reading it: the process that analysed a file with findings reads them
    and sends them back with its result (and the cache keeps them with it)."""

    skips_file: bool = False
    lines: Mapping[int, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, text: str) -> "NoqaComments":
        if "noqa" not in text.lower():
            return cls()
        physical = text.splitlines(keepends=True)
        logical = logical_lines(text)
        holding: Dict[int, str] = {}
        matched: Dict[int, bool] = {}  # by the logical line (one object for all its lines)
        for number, line in enumerate(physical, 1):
            line_text = logical.get(number, line)  # flake8 falls back to the physical line
            if id(line_text) not in matched:
                matched[id(line_text)] = NOQA_INLINE.search(line_text) is not None
            if matched[id(line_text)]:
                holding[number] = line_text
        return cls(file_is_skipped(physical), holding)

    def silences(self, code: str, line: int) -> bool:
        return self.skips_file or is_silenced(code, self.lines.get(line))
