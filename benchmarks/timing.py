"""The timing every micro-benchmark here shares: the median of `reps` calls after one warm-up,
without gradients, synchronised after each call (a no-op on the CPU)."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_ms(fn: Callable, *args, reps: int, sync: Callable[[], None]) -> float:
    """Median milliseconds of `fn(*args)`."""
    import torch

    with torch.no_grad():
        fn(*args)
        sync()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            fn(*args)
            sync()
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def alternating_median_ms(fns: list[Callable], *args, reps: int) -> list[float]:
    """Median milliseconds of each of `fns(*args)`, called in turn (forwards, then backwards on
    the next round) after one warm-up each, so that a load that comes and goes on a shared
    machine falls on all of them alike: ratios measured this way are comparable in one run."""
    import torch

    times: list[list[float]] = [[] for _ in fns]
    with torch.inference_mode():
        for fn in fns:
            fn(*args)
        for i in range(reps):
            for j in (range(len(fns)) if i % 2 == 0 else reversed(range(len(fns)))):
                start = time.perf_counter()
                fns[j](*args)
                times[j].append(time.perf_counter() - start)
    return [1000 * statistics.median(t) for t in times]
