"""`archc check FILE… [--symmetry] [--format text|json]`: parse and shape-check; print
signatures and preconditions, and with `--symmetry` the inferred symmetries of every block and
a verdict for every contract (a refuted contract is error S101, exit 1; an approximate or
unproven one a warning)."""

from __future__ import annotations

import argparse
import json

from ..diagnostics import warn
from ..errors import ArchError, SymmetryError, UsageError, raise_all
from ..program import compile_file

NAME = "check"
HELP = "parse and shape-check files; print signatures, preconditions and (--symmetry) symmetries"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+")
    p.add_argument("--symmetry", action="store_true",
                   help="prove or refute symmetry contracts and print inferred symmetries")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--shard", help="axis=mesh dimension, comma-separated (`H=tp,F=tp`; `B=dp`: the batch): "
                                   "print each block's parallel plan, preconditions and communication")
    p.add_argument("--mesh", help="mesh dimension=size, comma-separated (`tp=4`), with --shard")


def run(args: argparse.Namespace) -> int:
    records: dict[str, list] = {"blocks": [], "contracts": [], "inferred": []}
    errors: list[ArchError] = []  # every file's, reported together (through archdsl.cli)
    if args.shard:
        from ..parallel.report import mapping
        shard, mesh = mapping(args.shard, args.mesh)
    for f in args.files:
        try:
            program = compile_file(f)
            blocks = program.check()
        except UsageError:
            raise
        except ArchError as err:
            errors.append(err)
            continue
        for b in blocks:
            sig = ", ".join(f"{n}: {t}" for n, t in b.inputs)
            outs = ", ".join(str(t) for t in b.outputs)
            records["blocks"].append({"block": b.name, "file": b.file, "signature": f"({sig}) -> {outs}",
                                      "requires": [str(p) for p in b.preconditions]})
            if args.format == "text":
                print(f"{b.name}({sig}) -> {outs}")
                for pre in b.preconditions:
                    print(f"    requires {pre}  ({pre.origin})" if pre.origin else f"    requires {pre}")
            if args.symmetry:
                errors += _symmetry(program, b, records, args.format == "text")
            if args.shard:
                from ..parallel.report import check_block
                errors += check_block(program, b, shard, mesh, records, args.format == "text")
    if args.format == "json":
        if not args.symmetry:
            del records["contracts"], records["inferred"]
        print(json.dumps(records, indent=1))
    raise_all(errors)
    return 0


def _symmetry(program, block, records, text: bool) -> list[ArchError]:
    from ..symmetry import check_contracts, infer_symmetries
    inferred = infer_symmetries(program.table, block)
    verdicts = check_contracts(program.table, block)
    if any(v.verdict == "refuted" for v in verdicts):
        from ..verify import witnessed  # "refuted" only with a numeric counterexample
        verdicts = witnessed(program, block.name, verdicts)
    records["inferred"] += [v.record() for v in inferred]
    records["contracts"] += [v.record() for v in verdicts]
    if text:
        for v in inferred:
            extra = f"; requires {', '.join(v.requires)}" if v.requires else ""
            print(f"    symmetry: {v.contract} ({v.verdict}{extra})")
        for v in verdicts:
            print(f"    contract {v.contract}: {v.verdict}"
                  + (f" (holds: {v.subgroup})" if v.subgroup and v.verdict != "proven" else "")
                  + (f"; counterexample: {v.witness}" if v.witness else "")
                  + (f"; requires {', '.join(v.requires)}" if v.requires and v.verdict == "proven" else ""))
    refuted = []
    for v in verdicts:
        if v.verdict == "refuted":
            refuted.append(diagnostic(v))
        elif v.verdict != "proven":
            d = diagnostic(v)
            warn(program.warnings, d.code, d.message, d.span, d.help)
    return refuted


def diagnostic(v) -> SymmetryError:
    """A contract verdict as a diagnostic: S101 refuted (an error), S201 approximate and S202
    unproven (reported as warnings)."""
    code = {"refuted": "S101", "approximate": "S201", "unproven": "S202"}[v.verdict]
    what = {"refuted": "does not hold", "approximate": "holds only approximately",
            "unproven": "is unproven"}[v.verdict]
    msg = f"{v.block}: `{v.contract}` {what}: {v.reason}"
    if v.site is not None and v.span is not None and v.site != v.span:
        msg += f" (reached through the call at {v.site})"
    if v.subgroup and v.verdict != "approximate":
        msg += f". Proven instead: {v.subgroup}" + (" (approximately)" if v.subgroup_verdict == "approximate" else "")
    if v.witness:
        msg += f". Counterexample: {v.witness}"
    return SymmetryError(msg, v.span, code=code,
                         help=("requires " + ", ".join(v.requires)) if v.requires else None)
