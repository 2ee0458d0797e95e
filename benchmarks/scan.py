"""The linear recurrence h[t] = a[t] h[t-1] + b[t] three ways, over sequence lengths: archc's
`scan` (the generated module: parallel, O(T log T) work, O(T) memory), a sequential Python loop
over positions, and the O(T^2) masked form (h = L b with L[t, s] = a[s+1] ... a[t] for s <= t,
built from cumulative log-decays: memory T^2 C), as Mamba-style models are written without a scan.

    python benchmarks/scan.py                       # CPU, C = 8 channels, T = 256 .. 8192
    python benchmarks/scan.py --device cuda --channels 64

Time: forward ms, median of `--reps` after a warm-up, no gradients, float32, batch 1. Peak
memory: the most bytes of tensor storage alive at once beyond the inputs, counted in a separate
run by a dispatch mode that adds each new storage an op returns and subtracts it when it is
freed (exact on any device; the allocator's own caching is not counted). The masked form is
skipped above `--masked-max` (its T^2 C memory). Ratios are taken from this run.
"""

from __future__ import annotations

import argparse
import sys
import weakref
from pathlib import Path

from timing import median_ms  # benchmarks/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent
SPEC = "block Scan(a: [T, C], b: [T, C]) -> [T, C] {\n    return scan[T](a, b)\n}\n"


def methods(device: str) -> dict:
    """name -> function (a, b) -> h, each (T, C)."""
    import torch

    sys.path.insert(0, str(ROOT))
    import archdsl

    scan = archdsl.compile_source(SPEC).module("Scan").to(device).eval()

    def loop(a, b):
        h, out = torch.zeros_like(b[0]), []
        for t in range(b.shape[0]):
            h = a[t] * h + b[t]
            out.append(h)
        return torch.stack(out)

    def masked(a, b):
        n = b.shape[0]
        cum = torch.cumsum(torch.log(a), 0).T  # [C, T]: log of a[0] ... a[t]
        keep = torch.ones(n, n, dtype=torch.bool, device=a.device).tril()
        decay = torch.exp(torch.where(keep, cum[:, :, None] - cum[:, None, :], float("-inf")))  # [C, t, s]
        return torch.bmm(decay, b.T[:, :, None])[:, :, 0].T  # one matrix product per channel

    return {"scan": scan, "loop": loop, "masked": masked}


def inputs(t: int, c: int, device: str):
    import torch

    gen = torch.Generator().manual_seed(0)
    a = (torch.rand(t, c, generator=gen) * 0.5 + 0.5).to(device)  # decays in (0.5, 1)
    return a, torch.randn(t, c, generator=gen).to(device)


def peak_bytes(fn, *args) -> int:
    """The most bytes of tensor storage alive at once while `fn(*args)` runs, beyond `args`'."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.live = self.peak = 0
            self.known = {id(a.untyped_storage()) for a in args}

        def _free(self, key: int, n: int) -> None:
            self.live -= n
            self.known.discard(key)

        def __torch_dispatch__(self, func, types, fargs=(), kwargs=None):
            out = func(*fargs, **(kwargs or {}))
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor) and id(t.untyped_storage()) not in self.known:
                    s = t.untyped_storage()
                    self.known.add(id(s))
                    self.live += s.nbytes()
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(s, self._free, id(s), s.nbytes())
            return out

    with torch.no_grad(), Count() as count:
        fn(*args)
    return count.peak



def check(c: int, device: str) -> float:
    """The largest difference between the three methods at T = 300 (they compute one thing)."""
    a, b = inputs(300, c, device)
    got = [fn(a, b) for fn in methods(device).values()]
    return max((g - got[1]).abs().max().item() for g in got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096, 8192])
    parser.add_argument("--masked-max", type=int, default=4096)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    import torch

    if args.device == "cpu":
        torch.set_num_threads(1)  # the machine is shared: one thread is steadier than many
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    fns = methods(args.device)
    print(f"scan of C={args.channels} channels on {args.device}, batch 1, float32; forward ms (median of "
          f"{args.reps}) and peak MiB; max difference between methods at T=300: {check(args.channels, args.device):.1e}")
    print(f"{'T':>6} {'scan ms':>9} {'loop ms':>9} {'masked ms':>10} {'loop/scan':>10} {'masked/scan':>12} "
          f"{'scan MiB':>9} {'masked MiB':>11}")
    for t in args.lengths:
        a, b = inputs(t, args.channels, args.device)
        row = {name: (median_ms(fn, a, b, reps=args.reps, sync=sync), peak_bytes(fn, a, b) / 2**20)
               for name, fn in fns.items() if name != "masked" or t <= args.masked_max}
        (s, sm), (lp, _) = row["scan"], row["loop"]
        mk, mm = row.get("masked", (float("nan"), float("nan")))
        print(f"{t:>6} {s:>9.2f} {lp:>9.2f} {mk:>10.2f} {lp / s:>10.1f} {mk / s:>12.1f} {sm:>9.2f} {mm:>11.1f}")


if __name__ == "__main__":
    main()
