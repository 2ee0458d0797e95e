"""Forward time and peak memory of the generated EncoderLayer against nn.TransformerEncoderLayer.

    python benchmarks/attention.py                 # CPU, sequence lengths 256, 1024, 4096
    python benchmarks/attention.py --device cuda   # on a GPU

Three variants of the same pre-norm layer (D=512, 8 heads, GELU MLP of 2048), in eval mode
without gradients: `fused` (archc's default output, scaled_dot_product_attention), `no-fuse`
(the literal dot/softmax/dot form) and `torch` (nn.TransformerEncoderLayer, which takes
PyTorch's fast path). Every (variant, length) runs in a fresh process so peak memory is its own:
on CPU the growth of the resident-set high-water mark over the forward pass, on CUDA
`max_memory_allocated` over the forward pass. Ratios are against `torch`, measured in this run.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("fused", "no-fuse", "torch")
D, H, FF = 512, 8, 2048
TOKENS = 4096  # batch * length, kept constant so every row does comparable linear work


def build(variant: str):
    import torch

    if variant == "torch":
        return torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation="gelu",
                                                batch_first=True, norm_first=True)
    sys.path.insert(0, str(ROOT))
    import archdsl

    program = archdsl.compile_file(ROOT / "examples/transformer.arch")
    return program.module("EncoderLayer", fuse=variant == "fused", D=D, H=H, F=FF)


def measure_one(variant: str, length: int, device: str, reps: int) -> dict:
    """Median forward time (ms) and peak extra memory (MiB) of one variant at one length."""
    import torch

    torch.manual_seed(0)
    layer = build(variant).to(device).eval()
    x = torch.randn(max(1, TOKENS // length), length, D, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.no_grad():
        layer(x)  # warm up (allocator, kernels)
        sync()
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            layer(x)
            sync()
            times.append(time.perf_counter() - start)
        if device == "cuda":
            peak = torch.cuda.max_memory_allocated() - base
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"ms": sorted(times)[len(times) // 2] * 1000, "mib": max(peak, 0) / 2**20}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--one", nargs=2, metavar=("VARIANT", "LENGTH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]), args.device, args.reps)))
        return

    import torch

    if args.device == "cuda":
        machine = torch.cuda.get_device_name()
    else:
        machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"EncoderLayer D={D} H={H} F={FF}, {TOKENS} tokens per batch, eval, no grad; "
          f"torch {torch.__version__} on {args.device} ({machine})")
    print(f"{'T':>5} {'batch':>5} | {'torch ms':>9} {'fused/torch':>11} {'no-fuse/torch':>13} | "
          f"{'torch MiB':>9} {'fused/torch':>11} {'no-fuse/torch':>13}")
    for length in args.lengths:
        r = {}
        for variant in VARIANTS:
            out = subprocess.run([sys.executable, __file__, "--device", args.device, "--reps", str(args.reps),
                                  "--one", variant, str(length)], capture_output=True, text=True, check=True)
            r[variant] = json.loads(out.stdout.strip().splitlines()[-1])
        t, m = r["torch"], r["torch"]["mib"] or 1e-9
        print(f"{length:>5} {max(1, TOKENS // length):>5} | {t['ms']:>9.1f} {r['fused']['ms'] / t['ms']:>11.2f} "
              f"{r['no-fuse']['ms'] / t['ms']:>13.2f} | {t['mib']:>9.1f} {r['fused']['mib'] / m:>11.2f} "
              f"{r['no-fuse']['mib'] / m:>13.2f}")


if __name__ == "__main__":
    main()
