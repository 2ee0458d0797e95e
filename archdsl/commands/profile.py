"""`archc profile FILE --block NAME [--batch N] [--train] [--depth D]`: measured time per `.arch`
statement of the generated module, next to the least time this machine could take for its FLOPs
and memory traffic (a roofline bound from peaks measured once and cached)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from rich.console import Console
from rich.table import Table

from ..errors import UsageError
from ..optional import require_for_command
from ..program import compile_file
from .stats import parse_sizes

NAME = "profile"
HELP = "time each statement of the generated module and compare it with its roofline bound"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--block", required=True)
    p.add_argument("--size", "--sizes", nargs="+", action="extend", default=[], metavar="AXIS=N")
    p.add_argument("--batch", type=int, default=1, help="examples per step (default 1)")
    p.add_argument("--train", action="store_true", help="time forward and backward (default: forward)")
    p.add_argument("--depth", type=int, default=1, help="open called blocks to this many levels")
    p.add_argument("--iters", type=int, default=5, help="profiled steps, after two warm-up steps")
    p.add_argument("--no-fuse", action="store_true", help="profile the unfused module")
    p.add_argument("--refresh-peaks", action="store_true", help="measure this machine's peaks again")


def run(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.size)
    if sizes is None:
        return 2
    if min(args.batch, args.depth, args.iters) < 1:
        raise UsageError("--batch, --depth and --iters take a whole number of at least 1", code="E606")
    require_for_command("torch", feature="`archc profile`", extra="torch")
    from ..profiling import peaks, profile  # torch: optional for the front end
    program = compile_file(args.file)
    program.block(args.block)  # an unknown block is a diagnostic before anything is measured
    machine = peaks(refresh=args.refresh_peaks)
    rows, totals = profile(program, args.block, sizes, machine, batch=args.batch, train=args.train,
                           depth=args.depth, iters=args.iters, fuse=not args.no_fuse)
    result = {"block": args.block, "batch": args.batch, "train": args.train, "iters": args.iters,
              "peaks": {"flops_per_s": machine.flops_per_s, "bytes_per_s": machine.bytes_per_s,
                        "machine": machine.key},
              **totals, "rows": [r.as_json() for r in rows]}
    if getattr(args, "format", "text") == "json":
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print(result)
    return 0


def _print(result: dict) -> None:
    p = result["peaks"]
    title = (f"{result['block']}: {'training step' if result['train'] else 'forward'}, batch {result['batch']}, "
             f"{result['iters']} steps; roofline {p['flops_per_s'] / 1e9:.0f} GFLOP/s, "
             f"{p['bytes_per_s'] / 1e9:.1f} GB/s ({p['machine']})")
    table = Table(title=title, title_justify="left")
    for name, justify in (("statement", "left"), ("FLOPs", "right"), ("traffic", "right"),
                          ("measured", "right"), ("bound", "right"), ("bound/measured", "right"),
                          ("limit", "left")):
        table.add_column(name, justify=justify)
    for r in result["rows"]:
        where = f"{r['block']} {r['where'].rsplit(':', 1)[1]}"
        table.add_row("  " * (r["depth"] - 1) + f"{where}: {_clip(r['statement'])}", _si(r["flops"], ""),
                      _si(r["traffic_bytes"], "B"), _ms(r["measured_s"]), _ms(r["bound_s"]),
                      f"{100 * r['of_bound']:.0f} %", r["limiter"])
    width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 200
    console = Console(width=width, highlight=False)
    console.print(table)
    console.print(f"per step: {_ms(result['wall_s'])} measured without the profiler, "
                  f"{_ms(result['attributed_s'])} attributed to statements under it. bound: the least "
                  "time for the statement's FLOPs at peak GEMM speed or its traffic at peak bandwidth"
                  + ("; backward counted as 2 × forward" if result["train"] else "") + ".")


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _si(n: float, unit: str) -> str:
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {prefix}{unit}"
    return f"{n:.0f} {unit}".strip()


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"
