"""`archc verify FILE [--block NAME] [--trials N] [--size AXIS=N …] [--format text|json]`:
check every symmetry contract and inferred symmetry numerically (eval mode, float64)."""

from __future__ import annotations

import argparse
import json
import re
from typing import Callable

from ..errors import ShapeError
from ..optional import require_for_command
from ..program import compile_file
from ..progress import progress
from .stats import parse_sizes

NAME = "verify"
HELP = "measure the equivariance error of every symmetry claim on the generated module"


MAX_TRIALS = 1000  # each trial runs the module twice per claim: more is a typo, not a check
MAX_SEED = 2**63 - 1  # what torch.manual_seed takes


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a decimal integer in [low, high], else a usage error (exit 2)."""
    def parse(text: str) -> int:
        if not re.fullmatch(r"\s*-?[0-9]{1,30}\s*", text, re.ASCII) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected an integer from {low} to {high}, not {text!r}")
        return int(text)
    return parse


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--block", help="only this block (default: every block of the file)")
    p.add_argument("--trials", type=bounded_int(1, MAX_TRIALS), default=4,
                   help=f"random group elements per claim (1 to {MAX_TRIALS})")
    p.add_argument("--size", "--sizes", nargs="+", action="extend", default=[], metavar="AXIS=N")
    p.add_argument("--seed", type=bounded_int(0, MAX_SEED), default=0,
                   help="seeds the weights, inputs and group elements (0 to 2**63 - 1)")
    p.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    require_for_command("torch", "hypothesis", feature="`archc verify`", extra="verify")
    from ..symmetry.arith import condition_text
    from ..verify import PROVEN_TOL, REFUTED_TOL, verify_block
    sizes = parse_sizes(args.size)
    if sizes is None:
        return 2
    program = compile_file(args.file)
    names = [args.block] if args.block else program.block_names()
    checks, unsized = [], []
    with progress("verifying symmetries", len(names)) as advance:
        for name in names:
            block = program.block(name)
            given = {k: v for k, v in sizes.items() if k in block.params or k in block.free}
            try:
                checks += verify_block(program, name, args.trials, given, args.seed)
            except ShapeError as err:
                if args.block or err.code != "E333":
                    raise
                unsized.append(f"{name}: not checked ({err.message}; {err.help})")
            advance()
    if args.format == "json":
        print(json.dumps([c.record() for c in checks], indent=1))
    else:
        for c in checks:
            v = c.verdict
            where = "contract" if v.declared else "inferred"
            if c.failed:
                print(f"{v.block}: {where} {v.contract} [{v.verdict}]: FAILED to run ({c.failed})")
                continue
            if c.skipped:
                print(f"{v.block}: {where} {v.contract} [{v.verdict}]: not checked ({c.skipped})")
                continue
            status = "ok" if c.ok else "MISMATCH"
            extra = f"; counterexample: {c.element}" if v.verdict == "refuted" and c.error > REFUTED_TOL \
                else f"; worst: {c.element}"
            conditions = ", ".join(condition_text(n, m) for n, m in v.conditions)
            chosen = f" (chosen so that {conditions})" if c.chosen and conditions else ""
            at = f" at {c.sizes}{chosen}" if c.sizes else ""
            print(f"{v.block}: {where} {v.contract} [{v.verdict}]: error {c.error:.2e}{at} {status}{extra}")
        for line in unsized:
            print(line)
        print(f"(proven claims must stay below {PROVEN_TOL:g}; refuted ones need an error above "
              f"{REFUTED_TOL:g}; every parameter and buffer drawn at random with seed {args.seed})")
    return 0 if all(c.ok for c in checks) else 1
