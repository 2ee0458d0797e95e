"""`archc check FILE…`: parse and shape-check; print signatures and preconditions."""

from __future__ import annotations

import argparse

from ..errors import ArchError, UsageError, raise_all
from ..program import compile_file

NAME = "check"
HELP = "parse and shape-check files; print signatures and preconditions"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+")


def run(args: argparse.Namespace) -> int:
    errors: list[ArchError] = []
    for f in args.files:
        try:
            blocks = compile_file(f).check()
        except UsageError:
            raise
        except ArchError as err:  # report it with the other files' errors
            errors.append(err)
            continue
        for b in blocks:
            sig = ", ".join(f"{n}: {t}" for n, t in b.inputs)
            outs = ", ".join(str(t) for t in b.outputs)
            print(f"{b.name}({sig}) -> {outs}")
            for pre in b.preconditions:
                print(f"    requires {pre}  ({pre.origin})" if pre.origin else f"    requires {pre}")
    raise_all(errors)
    return 0
