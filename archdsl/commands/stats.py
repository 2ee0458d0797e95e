"""`archc stats FILE --block NAME [--size AXIS=N …] [--depth D] [--batch N] [--json]`: a per-layer
table of shapes, parameters, FLOPs and MACs, activation memory and arithmetic intensity."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys

from rich.console import Console
from rich.table import Table

from ..passes.report import report
from ..program import compile_file

NAME = "stats"
HELP = "a per-layer table of parameters, FLOPs, MACs and memory at concrete sizes"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--block", required=True)
    p.add_argument("--size", "--sizes", nargs="+", action="extend", default=[], metavar="AXIS=N")
    p.add_argument("--depth", type=int, default=1,
                   help="open calls and repeats to this many levels (default 1: the block's own operations)")
    p.add_argument("--batch", type=int, default=1, help="examples per forward (default 1)")
    p.add_argument("--json", action="store_true", help="the same as --format json")


def run(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.size)
    if sizes is None:
        return 2
    if args.depth < 1 or args.batch < 1:
        print("archc: error: --depth and --batch take a whole number of at least 1", file=sys.stderr)
        return 2
    program = compile_file(args.file)
    result = report(program.table, program.block(args.block), sizes, args.depth, args.batch)
    if args.json or getattr(args, "format", "text") == "json":
        print(json.dumps(result, sort_keys=True, ensure_ascii=False))
    else:
        print_table(result)
    return 0


def print_table(result: dict) -> None:
    """The report as a terminal table (rich), then its totals and conventions."""
    table = Table(title=f"{result['block']}  (batch {result['batch']}; "
                        f"{', '.join(f'{k}={v}' for k, v in result['sizes'].items())})",
                  title_justify="left", show_footer=True)
    table.add_column("#", footer="")
    table.add_column("layer", footer="total")
    table.add_column("output", footer="")
    for key, title, unit in COLUMNS:
        table.add_column(title, justify="right", footer=unit(result[key]) if key in result else "")
    table.add_column("FLOP/B", justify="right", footer="")
    for r in result["rows"]:
        table.add_row(r["path"], "  " * (r["depth"] - 1) + r["layer"], r["output"],
                      *(unit(r[key]) for key, _, unit in COLUMNS), f"{r['intensity']:.1f}")
    width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 200
    console = Console(width=width, highlight=False)
    console.print(table)
    console.print("FLOPs count 2 per multiply-add (as FlopCounterMode); MACs = FLOPs / 2 (as fvcore, "
                  "ptflops); memory in float32 bytes; FLOP/B = FLOPs per byte read and written.")


def _count(n: int) -> str:
    return f"{n:,}"


def _big(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def _bytes(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


COLUMNS = (("params", "params", _count), ("flops", "FLOPs", _big), ("macs", "MACs", _big),
           ("activation_bytes", "activations", _bytes))


MAX_SIZE_DIGITS = 18  # every size fits a 64-bit integer, as PyTorch needs
_SIZE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(-?[0-9]{1,%d})\s*\Z" % MAX_SIZE_DIGITS, re.ASCII)


def parse_sizes(pairs: list[str]) -> dict[str, int] | None:
    """`["T=128", "D=64"]` as a dict; None (after a usage message) when one is malformed.

    Only ASCII digits count (`int` would take `٣` as 3), and at most 18 of them: a
    30-digit size is a typo, and no tensor can have it."""
    out = {}
    for pair in pairs:
        m = _SIZE.match(pair)
        if m is None:
            print(f"archc: error: --size takes NAME=N with N at most {MAX_SIZE_DIGITS} ASCII digits, "
                  f"not {pair!r}", file=sys.stderr)
            return None
        out[m.group(1)] = int(m.group(2))
    return out
