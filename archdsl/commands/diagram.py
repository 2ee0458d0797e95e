"""`archc diagram FILE --block NAME [-o OUT.{svg,png,pdf,dot}] [--depth N] [--sizes A=N …] [--axes]
[--unfold] [--fused]`: draw a block as a neural circuit diagram (DOT on standard output without `-o`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..backends.diagram import FORMATS, diagram, render
from ..outputs import write_atomic
from ..passes.stats import resolve_sizes
from ..program import compile_file
from .stats import parse_sizes

NAME = "diagram"
HELP = "draw a block as a neural circuit diagram (DOT, SVG, PNG, PDF)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--block", required=True)
    p.add_argument("-o", "--output", help="output file; its suffix picks the format: "
                                          f"{', '.join('.' + f for f in FORMATS)} (default: DOT on stdout)")
    p.add_argument("--depth", type=int, default=1, help="levels of called blocks drawn open (0: one box per call)")
    p.add_argument("--size", "--sizes", dest="sizes", nargs="+", action="extend", default=[], metavar="A=N",
                   help="concrete sizes (the others at their defaults); wires show the defaults without it")
    p.add_argument("--axes", action="store_true", help="label wires with axis names only (T×D), not sizes")
    p.add_argument("--unfold", action="store_true",
                   help="draw every iteration of a repeat and every call of a run of equal calls")
    p.add_argument("--fused", action="store_true", help="draw the fused IR, marking fused kernels")


def run(args: argparse.Namespace) -> int:
    fmt = Path(args.output).suffix.lstrip(".").lower() if args.output else "dot"
    if fmt not in FORMATS:
        print(f"archc: error: cannot write {args.output!r}: the suffix must be one of "
              f"{', '.join('.' + f for f in FORMATS)}", file=sys.stderr)
        return 2
    if args.depth < 0:
        print("archc: error: --depth must be 0 or more", file=sys.stderr)
        return 2
    given = parse_sizes(args.sizes)
    if given is None:
        return 2
    program = compile_file(args.file)
    block = program.block(args.block)
    env = resolve_sizes(program.table, block, given) if args.sizes else None
    graph = diagram(program.table, block, depth=args.depth, env=env, fused=args.fused, unfold=args.unfold,
                    sizes=not args.axes)
    data = render(graph, fmt)
    if args.output:
        write_atomic(Path(args.output), data)
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0
