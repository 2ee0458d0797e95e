"""`archc compile FILE [-o OUT.py] [--no-fuse]`: write the generated PyTorch module."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..outputs import write_atomic
from ..program import compile_file

NAME = "compile"
HELP = "write the generated PyTorch module"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("-o", "--output", help="output .py file (default: standard output)")
    p.add_argument("--no-fuse", action="store_true", help="emit the literal, unfused operations")


def run(args: argparse.Namespace) -> int:
    src = compile_file(args.file).source(fuse=not args.no_fuse)
    if args.output:
        write_atomic(Path(args.output), src)
    else:
        sys.stdout.write(src)
    return 0
