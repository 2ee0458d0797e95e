"""`make demo`: compile an example block, draw a diagram of it, run it on a random batch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import torch

import archdsl


def _dot(block) -> str:
    """A simple dataflow diagram of a block's IR (one box per op, wires labelled by axes)."""
    g = block.body
    lines = ["digraph G {", "  rankdir=LR; node [shape=box, fontname=Helvetica];"]
    for n in g.order():
        label = n.op or n.name
        style = ", style=bold" if n.kind == "call" or (n.op and n.op[0].isupper()) else ""
        lines.append(f'  n{n.id} [label="{label}"{style}];')
        for u, _, d in g.g.in_edges(n.id, data=True):
            t = g.node(u).types[d["out"]]
            lines.append(f'  n{u} -> n{n.id} [label="{" ".join(t.names)}"];')
    lines.append("}")
    return "\n".join(lines)


def main(path: str, block: str, out: str) -> None:
    prog = archdsl.compile_file(path)
    ir = prog.block(block)
    dot_path = Path(out) / f"{block}.dot"
    dot_path.write_text(_dot(ir))
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg", str(dot_path), "-o", str(dot_path.with_suffix(".svg"))], check=True)
        print(f"diagram: {dot_path.with_suffix('.svg')}")
    else:
        print(f"diagram: {dot_path} (install Graphviz for SVG: apt-get install graphviz)")
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
