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
