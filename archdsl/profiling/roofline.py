"""This machine's peak matmul throughput and memory bandwidth, measured once and cached.

A roofline bound is only as good as its peaks: they are measured here with the same torch build
and thread count that runs the module (a float32 GEMM large enough to be compute-bound, a copy
large enough to miss every cache), best of several runs, and cached per (machine, torch version,
threads) in `$ARCHDSL_CACHE` or `~/.cache/archdsl/roofline.json`."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

GEMM_N = 1024  # 2·N³ = 2.1 GFLOP per product
COPY_BYTES = 64 * 2**20  # four times the largest last-level cache one is likely to meet
RUNS = 5


@dataclass(frozen=True)
class Peaks:
    flops_per_s: float  # float32 matmul FLOP/s
    bytes_per_s: float  # bytes read plus written per second by a large copy
    key: str  # what they were measured on

    def bound_s(self, flops: float, traffic: float) -> float:
        """The least time `flops` and `traffic` bytes can take here."""
        return max(flops / self.flops_per_s, traffic / self.bytes_per_s)

    def limiter(self, flops: float, traffic: float) -> str:
        """Which peak bounds the time: "compute", "memory", or "none" (no FLOPs, nothing moved)."""
        if not flops and not traffic:
            return "none"
        return "compute" if flops / self.flops_per_s >= traffic / self.bytes_per_s else "memory"


def peaks(refresh: bool = False) -> Peaks:
    """The cached peaks of this machine, measured first when missing (or with `refresh`)."""
    key = f"{platform.machine()} {platform.processor() or platform.node()} | torch {torch.__version__} | " \
          f"{torch.get_num_threads()} threads"
    path = _cache_file()
    cache = _read(path)
    if not refresh and key in cache:
        return Peaks(**cache[key])
    found = Peaks(_gemm_flops(), _copy_bandwidth(), key)
    cache[key] = asdict(found)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home still gets its numbers, just not cached
    return found


def _cache_file() -> Path:
    if os.environ.get("ARCHDSL_CACHE"):
        return Path(os.environ["ARCHDSL_CACHE"]) / "roofline.json"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archdsl" / "roofline.json"


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _best(fn) -> float:
    fn()  # warm up (allocation, thread pool)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _gemm_flops() -> float:
    a, b = torch.randn(GEMM_N, GEMM_N), torch.randn(GEMM_N, GEMM_N)
    out = torch.empty(GEMM_N, GEMM_N)
    return 2 * GEMM_N**3 / _best(lambda: torch.mm(a, b, out=out))


def _copy_bandwidth() -> float:
    n = COPY_BYTES // 4
    src, dst = torch.randn(n), torch.empty(n)
    return 2 * COPY_BYTES / _best(lambda: dst.copy_(src))
