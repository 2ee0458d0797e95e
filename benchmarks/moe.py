"""Sparse top-2-of-8 mixture of experts (examples/moe.arch `SparseMoE`, the generated module)
against dense evaluation of the same layer: every expert on every token (batched matrix
products over the 8 experts), then the top-2 outputs weighted by the gate, as a model is written
without sparse dispatch.

    python benchmarks/moe.py                         # CPU, D = 256, F = 512, T = 256 .. 4096
    python benchmarks/moe.py --device cuda --width 1024 --hidden 3584

The sparse layer computes 2/8 of the experts' FLOPs, plus sorting tokens by expert and adding
the outputs back. Forward ms, median of `--reps` after a warm-up, eval, no gradients, float32,
batch 1; the outputs of both are checked equal first. Ratios from this run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from timing import median_ms  # benchmarks/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent


def dense(m):
    """The same layer as `m` (a generated SparseMoE), evaluating all experts on all tokens."""
    import torch
    import torch.nn.functional as F

    def run(x):
        logits = m.logits_proj(x)
        weights, idx = torch.topk(logits, 2, dim=-1)
        gate = F.softmax(weights, dim=-1)
        h = F.silu(torch.einsum("td,efd->etf", x, m.w1)) * torch.einsum("td,efd->etf", x, m.w3)
        y = torch.einsum("etf,eof->teo", h, m.w2)  # [T, E, O]: every expert's output
        return torch.einsum("tko,tk->to", y.gather(1, idx[..., None].expand(-1, -1, y.shape[-1])), gate)

    return run



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--tokens", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    import archdsl

    if args.device == "cpu":
        torch.set_num_threads(1)  # the machine is shared: one thread is steadier than many
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    program = archdsl.compile_file(ROOT / "examples/moe.arch")
    sparse = program.module("SparseMoE", D=args.width, E=8, K=2, F=args.hidden).to(args.device).eval()
    full = dense(sparse)
    with torch.no_grad():
        x = torch.randn(64, args.width, device=args.device)
        diff = (sparse(x) - full(x)).abs().max().item()
    print(f"SparseMoE top-2 of 8, D={args.width}, F={args.hidden} on {args.device}, float32; forward ms "
          f"(median of {args.reps}); max |sparse - dense| = {diff:.1e}")
    print(f"{'T':>6} {'sparse':>9} {'dense':>9} {'sparse/dense':>13}")
    for t in args.tokens:
        x = torch.randn(t, args.width, device=args.device)
        s, d = median_ms(sparse, x, reps=args.reps, sync=sync), median_ms(full, x, reps=args.reps, sync=sync)
        print(f"{t:>6} {s:>9.2f} {d:>9.2f} {s / d:>13.2f}")


if __name__ == "__main__":
    main()
