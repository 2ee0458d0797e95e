"""`archc fmt FILE… [--check]`: format `.arch` files in place (archdsl/fmt.py: spacing,
indentation, long calls one argument per line; comments kept). With `--check` nothing is
written: the files that would change are listed and the exit code is 1 (for CI). A file that
does not parse is reported and left as it is."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ArchError, ArchErrors, raise_all
from ..fmt import format_source
from ..frontend.loader import read_text
from ..frontend.parse import parse
from ..outputs import write_atomic

NAME = "fmt"
HELP = "format .arch files in place (--check: list those that would change, exit 1)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")


def run(args: argparse.Namespace) -> int:
    errors, changed = [], []
    for f in args.files:
        text = read_text(Path(f))
        try:
            parse(text, f)
        except ArchError as err:  # reported with the other files' errors
            errors += err.errors if isinstance(err, ArchErrors) else [err]
            continue
        new = format_source(text)
        if new != text:
            changed.append(f)
            if not args.check:
                write_atomic(Path(f), new)
    for f in changed:
        print(f"{'would reformat' if args.check else 'reformatted'} {f}")
    raise_all(errors)
    return 1 if args.check and changed else 0
