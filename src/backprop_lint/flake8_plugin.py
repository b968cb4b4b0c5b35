"""The flake8 front end: ``flake8 --select=BPL``.

flake8 builds one plugin instance per file, in worker processes, and hands it the ``ast``
tree it already parsed and the file's lines (editors send the buffer on stdin, so the file
on disk may be stale: it is never read). Columns are yielded 0-based; flake8 adds one.
``# noqa`` is applied by flake8 itself.
"""

from __future__ import annotations

import ast
import gc
from typing import Iterator, Sequence, Tuple, Type

from . import __version__
from .analysis import DEFAULT_BACKWARD_GLOBS, Options, analyse_source
from .imported import forget_parsed

# flake8 imports its plugins in its main process, then forks the workers. This import
# (libcst, networkx) leaves some 35,000 objects that live as long as the process; every
# full collection in every worker would walk them again, whether this plugin runs or not
# (measured: a few per cent of flake8's time). Moved to the permanent generation, as the
# gc module's documentation advises before a fork, they are not walked at all.
gc.freeze()


class BackpropLintPlugin:
    name = "backprop-lint"
    version = __version__
    options = Options()

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str = "") -> None:
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @staticmethod
    def add_options(option_manager) -> None:
        option_manager.add_option(
            "--backward-functions",
            default=",".join(DEFAULT_BACKWARD_GLOBS),
            parse_from_config=True,
            comma_separated_list=True,
            help="Globs (case-insensitive; a leading * matches at the start of a word of the "
            "name) naming backward-pass functions for BPL2xx-4xx "
            "(default: %(default)s).",
        )

    @classmethod
    def parse_options(cls, options) -> None:
        globs = tuple(g.strip() for g in options.backward_functions if g.strip())
        cls.options = Options(backward_functions=globs or DEFAULT_BACKWARD_GLOBS)

    def run(self) -> Iterator[Tuple[int, int, str, Type["BackpropLintPlugin"]]]:
        source = "".join(self.lines)
        findings = analyse_source(source, self.options, self.tree, self.filename)
        forget_parsed()  # (imported code is cached per file here: see forget_parsed)
        for finding in findings:
            yield finding.line, _char_column(self.lines, finding), finding.text(), type(self)


def _char_column(lines: Sequence[str], finding) -> int:
    """libcst columns count characters already; clamp to the line for safety."""
    if 0 < finding.line <= len(lines):
        return min(finding.column, max(len(lines[finding.line - 1]) - 1, 0))
    return 0
