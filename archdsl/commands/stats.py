"""`archc stats FILE --block NAME [--size AXIS=N …] [--json]`: parameters, FLOPs and shapes."""

from __future__ import annotations

import argparse
import json
import re
import sys

from ..program import compile_file

NAME = "stats"
HELP = "parameter and FLOP counts of a block at concrete sizes"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--block", required=True)
    p.add_argument("--size", "--sizes", nargs="+", action="extend", default=[], metavar="AXIS=N")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.size)
    if sizes is None:
        return 2
    result = compile_file(args.file).stats(args.block, **sizes)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for k, v in result.items():
            print(f"{k:>8}: {v}")
    return 0


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
