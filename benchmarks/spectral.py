"""GFNet's global filter (the generated `GlobalFilter`, O(n log n) through the FFT) against the
equivalent circular depthwise convolution with an n x n kernel (O(n^2) per position), the way
the filter had to be written before the FFT ops, for grids 14^2 ... 64^2, one run.

    python benchmarks/spectral.py                       # C = 64, batch 4, median of 5
    python benchmarks/spectral.py --channels 32 --batch 1 --repeat 3

Both compute the same function (checked before timing): the convolution's kernel is the
inverse FFT of the filter's spectrum. Times are medians of `--repeat` forward passes under
`torch.inference_mode()` after one warm-up, the two alternating; ratio = convolution / filter
(above 1: the FFT filter is faster)."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archdsl  # noqa: E402

SPEC = "block B[C, Y, X](x: [C, Y, X]) -> [C, Y, X] {\n    return GlobalFilter[C over Y X](x)\n}\n"


class CircularConv(torch.nn.Module):
    """y = x circularly convolved with k per channel: a depthwise n x n convolution after
    n - 1 positions of circular padding before each axis, with the kernel flipped."""

    def __init__(self, kernel: torch.Tensor) -> None:  # (C, Y, X)
        super().__init__()
        self.weight = torch.nn.Parameter(kernel.flip(-2, -1).unsqueeze(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, w = x.shape[-2:]
        x = F.pad(x, (w - 1, 0, y - 1, 0), mode="circular")
        return F.conv2d(x, self.weight, groups=x.shape[1])


def _times(models, x, repeat: int) -> list[float]:
    out = [[] for _ in models]
    with torch.inference_mode():
        for m in models:
            m(x)
        for i in range(repeat):
            for j in (range(len(models)) if i % 2 == 0 else reversed(range(len(models)))):
                start = time.perf_counter()
                models[j](x)
                out[j].append(time.perf_counter() - start)
    return [statistics.median(t) for t in out]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--grids", default="14,24,32,48,64")
    args = p.parse_args(argv)
    prog = archdsl.compile_source(SPEC, "bench.arch")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, C = {args.channels}, "
          f"batch {args.batch}, median of {args.repeat}\n")
    print("| grid | FFT filter (ms) | circular conv (ms) | conv / FFT |")
    print("|---|---:|---:|---:|")
    for n in (int(g) for g in args.grids.split(",")):
        torch.manual_seed(0)
        filt = prog.module("B", C=args.channels, Y=n, X=n).eval()
        spectrum = torch.view_as_complex(filt.out).permute(2, 0, 1)  # (C, Y, X // 2 + 1)
        conv = CircularConv(torch.fft.irfft2(spectrum, s=(n, n))).eval()
        x = torch.randn(args.batch, args.channels, n, n)
        with torch.inference_mode():
            torch.testing.assert_close(conv(x), filt(x), atol=1e-4, rtol=1e-4)
        t_fft, t_conv = _times([filt, conv], x, args.repeat)
        print(f"| {n}x{n} | {t_fft * 1e3:.2f} | {t_conv * 1e3:.2f} | {t_conv / t_fft:.1f} |")


if __name__ == "__main__":
    main()
