"""`archc init [DIR]`: write a starter spec (`model.arch`: a small transformer classifier with
symmetry contracts) and its tests (`test_model.py`: shapes drawn by Hypothesis, contracts
checked numerically) into DIR (default: here). It never overwrites a file (E623)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ArchIOError
from ..outputs import write_atomic
from ..resources import data_dir

NAME = "init"
HELP = "write a starter spec (model.arch) and its tests (test_model.py) into a directory"
FILES = ("model.arch", "test_model.py")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", nargs="?", default=".")


def run(args: argparse.Namespace) -> int:
    out = Path(args.directory)
    taken = [name for name in FILES if (out / name).exists() or (out / name).is_symlink()]
    if taken:
        raise ArchIOError(f"{', '.join(str(out / n) for n in taken)} already exist{'s' if len(taken) == 1 else ''}",
                          code="E623", help="choose another directory, or move the files away")
    for name in FILES:
        write_atomic(out / name, (data_dir("starter") / name).read_text(encoding="utf-8"))
        print(f"wrote {out / name}")
    print(f"next: archc check {out / 'model.arch'}")
    return 0
