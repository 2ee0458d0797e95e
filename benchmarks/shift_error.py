"""Shift invariance of the CNN variants in examples/symmetry/cnn.arch, measured.

    python benchmarks/shift_error.py                # Y = X = 32, 16 random shifts per claim
    python benchmarks/shift_error.py --size 64 --trials 32

For each block: the static verdict of `invariant shift(Y, X)` and of `... by 4`, and the largest
relative error ||f(g x) - f(x)|| / ||f(x) - mean f|| over random inputs and shifts (float64, eval mode, random weights),
as `archc verify` measures it. The last column compares each block's full-shift error with the
circular CNN's (the aliasing that blur-pooling reduces, "Making Convolutional Networks
Shift-Invariant Again", and adaptive polyphase sampling removes, "Truly Shift-Invariant CNNs").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archdsl import compile_file  # noqa: E402
from archdsl.sizes import Size  # noqa: E402
from archdsl.symmetry import Action, Contract  # noqa: E402
from archdsl.symmetry.verdicts import judge  # noqa: E402
from archdsl.verify import verify_claims  # noqa: E402

BLOCKS = ("CircularCNN", "ZeroPadCNN", "BlurPoolCNN", "APSCNN")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=32, help="Y = X (a multiple of 4)")
    p.add_argument("--trials", type=int, default=16)
    args = p.parse_args()
    prog = compile_file(ROOT / "examples/symmetry/cnn.arch")
    rows = []
    for name in BLOCKS:
        block = prog.block(name)
        row = [name]
        for by in (1, 4):
            v = judge(prog.table, block, Contract("invariant", Action("shift", ("Y", "X"), by=Size.of(by))))
            (check,) = verify_claims(prog, name, [v], args.trials, dict(Y=args.size, X=args.size))
            row += [v.verdict, check.error]
        rows.append(row)
    base = rows[0][2]
    print(f"{'block':<12} {'shift(Y, X)':>12} {'error':>9} {'by 4':>12} {'error':>9} {'vs circular':>12}")
    for name, v1, e1, v4, e4 in rows:
        print(f"{name:<12} {v1:>12} {e1:>9.2e} {v4:>12} {e4:>9.2e} {e1 / base:>12.3f}")


if __name__ == "__main__":
    main()
