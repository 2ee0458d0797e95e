"""`archc docs FILE_OR_DIR… -o SITE/`: a static documentation site (index and one page per block)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..program import compile_file
from ..progress import progress

NAME = "docs"
HELP = "write a static HTML site documenting every block (diagram, sizes, costs, source, code)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("-o", "--output", required=True, metavar="SITE", help="directory to write the site into")


def run(args: argparse.Namespace) -> int:
    from ..backends.site import build_site  # the site needs Graphviz and the backend; load them only here
    from ..backends.sitefiles import write_site
    with progress("building the docs site (pages)") as advance:
        pages = build_site([Path(p) for p in args.paths], lambda path: compile_file(path).table,
                           lambda page: advance())
    out = Path(args.output)
    write_site(out, pages)
    blocks = sum(1 for rel in pages if "/" in rel)
    print(f"wrote {blocks} block pages and {out / 'index.html'}")
    return 0
