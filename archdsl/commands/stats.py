"""`archc stats FILE --block NAME [--size AXIS=N …] [--json]`: parameters, FLOPs and shapes."""

from __future__ import annotations

import argparse
import json
import sys

from ..program import compile_file

NAME = "stats"
HELP = "parameter and FLOP counts of a block at concrete sizes"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--block", required=True)
    p.add_argument("--size", action="append", default=[], metavar="AXIS=N")
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


def parse_sizes(pairs: list[str]) -> dict[str, int] | None:
    """`["T=128", "D=64"]` as a dict; None (after a usage message) when one is malformed."""
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not value.strip().lstrip("-").isdigit():
            print(f"archc: error: --size takes AXIS=N, not {pair!r}", file=sys.stderr)
            return None
        out[name.strip()] = int(value)
    return out
