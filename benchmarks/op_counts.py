"""Noise-free evidence for benchmarks/models.py: what one forward pass (or training step) asks of
PyTorch, counted with `torch.profiler` rather than timed. On a machine shared with other jobs a
5 % timing gap is within the noise; an extra copy per block is not.

Counted over every level of the profiler's event tree (an op and the ops it calls), so a copy
hidden inside `reshape` or `contiguous` is seen:
- `ops`: every aten operator call, views included;
- `copies`: `aten::copy_`, where every materialising copy ends (`contiguous`, `clone`, a `reshape`
  that cannot view, `addmm` writing its bias into the output);
- `layout`: `aten::permute` and `aten::transpose`, views that make the next op read strided memory;
- `allocs` and `MB`: the tensors allocated and their megabytes (the profiler's memory events): an
  out-of-place activation where the reference works in place shows here, not in the op counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import torch
from torch.profiler import ProfilerActivity, profile

KINDS = {
    "copies": ("aten::copy_",),
    "layout": ("aten::permute", "aten::transpose"),
}


def aten_counts(step: Callable[[], object], grad: bool = False) -> Counter:
    """How often each aten operator runs during one call of `step` (after one warm-up call, so
    that lazily built state is not counted), without autograd unless `grad`; with the keys
    `<allocs>` and `<bytes>` for the memory allocated."""
    with torch.inference_mode(not grad):
        step()
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            step()
    events = prof.events()
    counts = Counter(e.name for e in events if e.name.startswith("aten::"))
    allocated = [e.self_cpu_memory_usage for e in events if e.self_cpu_memory_usage > 0]
    counts["<allocs>"], counts["<bytes>"] = len(allocated), sum(allocated)
    return counts


def summary(counts: Counter) -> dict[str, float]:
    """`ops`, the counts of KINDS, `allocs` and `MB`, from `aten_counts`."""
    out: dict[str, float] = {"ops": sum(v for k, v in counts.items() if k.startswith("aten::"))}
    out.update({kind: sum(counts[n] for n in names) for kind, names in KINDS.items()})
    out.update(allocs=counts["<allocs>"], MB=round(counts["<bytes>"] / 1e6, 1))
    return out


def differences(ref: Counter, ours: Counter) -> list[tuple[str, int, int]]:
    """(operator, reference count, generated count) for each operator whose counts differ."""
    return [(n, ref[n], ours[n]) for n in sorted(set(ref) | set(ours)) if ref[n] != ours[n]]
