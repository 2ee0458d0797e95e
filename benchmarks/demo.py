"""`make demo`: compile an example block, draw a diagram of it, run it on a random batch."""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import archdsl
from archdsl.backends.diagram import INSTALL_HINT, diagram, render
from archdsl.outputs import write_atomic


def main(path: str, block: str, out: str) -> None:
    # torch warns at import when numpy is absent; archdsl never needs numpy.
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch

    prog = archdsl.compile_file(path)
    ir = prog.block(block)
    picture = diagram(prog.table, ir)
    fmt = "svg" if shutil.which("dot") else "dot"
    out_path = Path(out) / f"{block}.{fmt}"
    write_atomic(out_path, render(picture, fmt))
    hint = "" if fmt == "svg" else f" (for SVG, {INSTALL_HINT})"
    print(f"diagram: {out_path}{hint}")
    stats = prog.stats(block)
    module = prog.module(block).eval()
    x = torch.randn(2, *stats["inputs"][ir.inputs[0][0]])
    with torch.no_grad():
        y = module(x)
    n_params = sum(p.numel() for p in module.parameters())
    print(f"{block}: input {tuple(x.shape)} -> output {tuple(y.shape)}; {n_params:,} parameters; "
          f"{stats['flops']:,} FLOPs per example")


if __name__ == "__main__":
    main(*sys.argv[1:4])
