"""`archc docs FILE_OR_DIR… -o SITE/`: a static documentation site (index and one page per block)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..program import compile_file

NAME = "docs"
HELP = "write a static HTML site documenting every block (diagram, sizes, costs, source, code)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("-o", "--output", required=True, metavar="SITE", help="directory to write the site into")


def run(args: argparse.Namespace) -> int:
    from ..backends.site import build_site  # the site needs Graphviz and the backend; load them only here
    from ..backends.sitefiles import write_site
    progress = _progress if sys.stderr.isatty() else None
    pages = build_site([Path(p) for p in args.paths], lambda path: compile_file(path).table, progress)
    out = Path(args.output)
    write_site(out, pages)
    blocks = sum(1 for rel in pages if "/" in rel)
    print(f"wrote {blocks} block pages and {out / 'index.html'}")
    return 0


def _progress(page: str) -> None:
    """One plain line per page on a terminal (a progress bar can take this callback's place)."""
    print(f"archc docs: {page}", file=sys.stderr, flush=True)
