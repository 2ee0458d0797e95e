"""Cases for adaptive pooling, bin by bin: bin i of an axis of length n averages (or takes the
largest of) positions floor(i n / m) up to ceil((i + 1) n / m), m the pooled size."""

from __future__ import annotations

import torch

from .base import OpCall, case
from .named import NamedTensor


def _bins(x: NamedTensor, axis: str, m: int, reduce) -> NamedTensor:
    n, d = x.size(axis), x.dim(axis)
    parts = [reduce(x.data.narrow(d, i * n // m, -(-(i + 1) * n // m) - i * n // m), d) for i in range(m)]
    return x.with_data(torch.stack(parts, dim=d))


def _adaptive(c: OpCall, x: NamedTensor, reduce) -> NamedTensor:
    m = c.kw("size")
    for axis in c.attrs["axes"]:
        x = _bins(x, axis, m, reduce)
    return x


@case("adaptive_avgpool")
def adaptive_avgpool(c: OpCall, x: NamedTensor) -> NamedTensor:
    return _adaptive(c, x, lambda t, d: t.sum(d) / t.shape[d])


@case("adaptive_maxpool")
def adaptive_maxpool(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Pooling each axis in turn by its maximum is the maximum over the box of bins."""
    return _adaptive(c, x, lambda t, d: t.amax(d))
