"""Cases for the scans, as loops over the positions of the scanned axis: the running sum adds
one position at a time, the recurrence applies `h = a[t] h + b[t]` one step at a time."""

from __future__ import annotations

import torch

from .base import OpCall, case
from .named import NamedTensor, broadcast


@case("cumsum")
def cumsum(c: OpCall, x: NamedTensor) -> NamedTensor:
    (axis,) = c.attrs["axes"]
    v = x.last([axis]).data
    total, out = torch.zeros_like(v[..., 0]), []
    for t in range(v.shape[-1]):
        total = total + v[..., t]
        out.append(total)
    return NamedTensor(torch.stack(out, -1), x.last([axis]).names)


@case("scan")
def scan(c: OpCall, a: NamedTensor, b: NamedTensor) -> NamedTensor:
    """h[t] = a[t] h[t - 1] + b[t], h[-1] = 0; `a` without the axis is the same at every step."""
    (axis,) = c.attrs["axes"]
    (av, bv), names = broadcast(a, b)
    av, bv = torch.broadcast_tensors(av, bv)
    at = names.index(axis) - len(names)
    h, out = torch.zeros_like(bv.select(at, 0)), []
    for t in range(bv.shape[at]):
        h = av.select(at, t) * h + bv.select(at, t)
        out.append(h)
    return NamedTensor(torch.stack(out, at), names)
