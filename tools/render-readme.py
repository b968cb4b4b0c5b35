#!/usr/bin/env python3
"""Render the README's per-code sections from the code table (src/backprop_lint/findings.py).

    python3 tools/render-readme.py          # rewrite README.md in place
    python3 tools/render-readme.py --check  # exit 1 if README.md is not up to date

The sections lie between two marker comments in README.md; tests/test_readme.py fails
while they differ from the table.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from backprop_lint.findings import CODES  # noqa: E402 - after the path is set
from backprop_lint.reporters import with_code_sections  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is up to date")
    args = parser.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    rendered = with_code_sections(text, CODES)
    if args.check:
        if rendered != text:
            print("README.md: the code sections differ from findings.CODES; "
                  "run python3 tools/render-readme.py", file=sys.stderr)
            return 1
        return 0
    if rendered != text:
        readme.write_text(rendered, encoding="utf-8")
        print("README.md: code sections rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
