"""`archc docs FILE_OR_DIR… -o SITE/`: a static documentation site (index and one page per block)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..outputs import write_atomic
from ..program import compile_file

NAME = "docs"
HELP = "write a static HTML site documenting every block (diagram, sizes, costs, source, code)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("-o", "--output", required=True, metavar="SITE", help="directory to write the site into")


def run(args: argparse.Namespace) -> int:
    from ..backends.site import build_site  # the site needs Graphviz and the backend; load them only here
    pages = build_site([Path(p) for p in args.paths], lambda path: compile_file(path).table)
    out = Path(args.output)
    for rel, text in pages.items():
        write_atomic(out / rel, text)
    print(f"wrote {len(pages) - 2} block pages and {out / 'index.html'}")
    return 0
