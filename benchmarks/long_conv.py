"""Forward time of the Hyena operator with its long convolution through the FFT (archc's default
output, `fused`) against the direct convolution (`--no-fuse`), over sequence lengths.

    python benchmarks/long_conv.py                  # CPU, D = 64, L = 64 .. 4096
    python benchmarks/long_conv.py --device cuda --width 512

The direct form costs O(L^2) per channel, the FFT O(L log L): the ratio column (direct / FFT,
from this run) shows where `fft_threshold` pays off on this machine. Eval mode, no gradients,
median of `--reps` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from timing import median_ms  # benchmarks/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 1024, 4096])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    import archdsl

    program = archdsl.compile_file(ROOT / "examples/hyena.arch")
    fft = program.module("HyenaOperator", D=args.width).to(args.device).eval()
    direct = program.module("HyenaOperator", fuse=False, D=args.width).to(args.device).eval()
    direct.load_state_dict(fft.state_dict())
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    print(f"HyenaOperator D={args.width} on {args.device}, batch 1, forward ms (median of {args.reps})")
    print(f"{'L':>6} {'fft':>10} {'direct':>10} {'direct/fft':>11}")
    for length in args.lengths:
        x = torch.randn(1, length, args.width, device=args.device)
        a, b = median_ms(fft, x, reps=args.reps, sync=sync), median_ms(direct, x, reps=args.reps, sync=sync)
        print(f"{length:>6} {a:>10.2f} {b:>10.2f} {b / a:>11.2f}")


if __name__ == "__main__":
    main()
