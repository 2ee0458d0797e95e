"""GFNet's global filter through the FFT, as examples/gfnet.arch writes it with the bare
transforms (`irfft[Y, F -> X](rfft[Y, X -> F](x) * w, n = X)`, O(n log n)), against the same
function as a circular depthwise convolution with an n x n kernel (O(n^2) per position, the
way the filter had to be written before the FFT ops), and the fused `GlobalFilter` op and
`longconv[Y X](x, k, mode = circular)` for reference, for grids 14^2 ... 64^2, in one run.

    python benchmarks/spectral.py                       # C = 64, batch 4, median of 5
    python benchmarks/spectral.py --channels 32 --batch 1 --repeat 3
    python benchmarks/spectral.py --fno                 # FNO2d against the paper's code

All compute the same function (checked before timing): the convolution's kernel is the inverse
FFT of the filter's spectrum. Times are medians of `--repeat` forward passes under
`torch.inference_mode()` after one warm-up, the models alternating (benchmarks/timing.py);
ratio = convolution / bare-op filter (above 1: the FFT filter is faster). `--fno` times
examples/fno.arch's FNO2d (85 x 85, width 32, 12 modes) against the paper's FNO2d code (as
tests/test_spectral.py writes it) with the same weights: ratio = generated / paper."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archdsl  # noqa: E402
from benchmarks.timing import alternating_median_ms  # noqa: E402

FUSED = """block Fused[C, Y, X](x: [Y, X, C]) -> [Y, X, C] {
    return GlobalFilter[C over Y X](x)
}
block Long[C, Y, X](x: [Y, X, C]) -> [Y, X, C] {
    return longconv[Y X](x, Param[Y, X, C](), mode = circular)
}
"""


class CircularConv(torch.nn.Module):
    """y = x circularly convolved with k per channel: a depthwise n x n convolution after
    n - 1 positions of circular padding before each axis, with the kernel flipped; x laid out
    (B, Y, X, C) as the generated modules take it."""

    def __init__(self, kernel: torch.Tensor) -> None:  # (C, Y, X)
        super().__init__()
        self.weight = torch.nn.Parameter(kernel.flip(-2, -1).unsqueeze(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2)
        y, w = x.shape[-2:]
        x = F.pad(x, (w - 1, 0, y - 1, 0), mode="circular")
        return F.conv2d(x, self.weight, groups=x.shape[1]).permute(0, 2, 3, 1)


def fno(batch: int, repeat: int) -> None:
    """The generated FNO2d against the paper's hand-written one, same weights, one run."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_spectral import PaperFNO2d, load_paper_fno

    ours = archdsl.compile_file(ROOT / "examples" / "fno.arch").module("FNO2d").eval()
    ref = PaperFNO2d(12, 32).eval()
    load_paper_fno(ours, ref)
    x = torch.randn(batch, 85, 85, 3)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-4, rtol=1e-4)
    t = alternating_median_ms([ours, ref], x, reps=repeat)
    print(f"| FNO2d, batch {batch}, 85x85 | {t[0]:.1f} | {t[1]:.1f} | {t[0] / t[1]:.2f} |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--grids", default="14,24,32,48,64")
    p.add_argument("--fno", action="store_true", help="time FNO2d against the paper's code instead")
    args = p.parse_args(argv)
    if args.fno:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeat}\n")
        print("| model | generated (ms) | paper (ms) | generated / paper |\n|---|---:|---:|---:|")
        return fno(args.batch, args.repeat)
    gfnet = archdsl.compile_file(ROOT / "examples" / "gfnet.arch")
    fused = archdsl.compile_source(FUSED, "bench.arch")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, C = {args.channels}, "
          f"batch {args.batch}, median of {args.repeat}\n")
    print("| grid | bare ops (ms) | GlobalFilter (ms) | longconv circular (ms) | circular conv (ms) | conv / bare ops |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in (int(g) for g in args.grids.split(",")):
        torch.manual_seed(0)
        sizes = dict(D=args.channels, Y=n, X=n)
        bare = gfnet.module("GlobalFilterLayer", **sizes).eval()
        spectrum = torch.view_as_complex(bare.complex_weight)  # (Y, X // 2 + 1, C)
        kernel = torch.fft.irfft2(spectrum, s=(n, n), dim=(0, 1))  # (Y, X, C)
        one = fused.module("Fused", C=args.channels, Y=n, X=n).eval()
        long = fused.module("Long", C=args.channels, Y=n, X=n).eval()
        with torch.no_grad():
            one.out.copy_(bare.complex_weight)
            long.out.copy_(kernel)
        conv = CircularConv(kernel.permute(2, 0, 1)).eval()
        x = torch.randn(args.batch, n, n, args.channels)
        models = [bare, one, long, conv]
        with torch.inference_mode():
            for m in models[1:]:
                torch.testing.assert_close(m(x), bare(x), atol=1e-4, rtol=1e-4)
        t = alternating_median_ms(models, x, reps=args.repeat)
        print(f"| {n}x{n} | {t[0]:.2f} | {t[1]:.2f} | {t[2]:.2f} | {t[3]:.2f} | {t[3] / t[0]:.1f} |")


if __name__ == "__main__":
    main()
