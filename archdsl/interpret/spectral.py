"""Cases for the spectral ops, written with explicit DFT matrices instead of torch.fft: the
forward transform sums x[t] exp(-2 pi i k t / n) (all k on every axis but the last, k up to
n // 2 on the last); the inverse sums back with exp(+2 pi i k t / n) / n, and on the last axis
counts each frequency 0 < k < n / 2 twice (its conjugate twin) and keeps the real part, which is
what a real inverse FFT of a half spectrum means."""

from __future__ import annotations

import itertools
import math

import torch

from .base import OpCall, case, named_einsum
from .named import NamedTensor


def _phases(rows: int, n: int, sign: float, dtype) -> torch.Tensor:
    """exp(sign 2 pi i k t / n) for k < rows (first index) and t < n."""
    k, t = torch.arange(rows, dtype=torch.float64)[:, None], torch.arange(n, dtype=torch.float64)[None, :]
    return torch.polar(torch.ones(rows, n, dtype=torch.float64), sign * 2 * math.pi * k * t / n).to(dtype)


def _along(x: NamedTensor, axis: str, m: torch.Tensor) -> NamedTensor:
    """Axis `axis` (last after the move) multiplied by the matrix m[new, old]."""
    y = x.last((axis,))
    return y.with_data(y.data @ m.T.to(y.data.device))


def _forward(x: NamedTensor, over) -> NamedTensor:
    z = x.with_data(x.data.to(torch.complex128))
    for i, a in enumerate(over):
        n = z.size(a)
        z = _along(z, a, _phases(n if i < len(over) - 1 else n // 2 + 1, n, -1.0, z.data.dtype))
    return z


def _inverse(z: NamedTensor, over, lengths: dict[str, int], dtype) -> NamedTensor:
    for a in over[:-1]:
        n = lengths[a]
        z = _along(z, a, _phases(n, n, 1.0, z.data.dtype).T / n)
    a, n = over[-1], lengths[over[-1]]
    twice = torch.tensor([1.0 if k == 0 or 2 * k == n else 2.0 for k in range(n // 2 + 1)], dtype=torch.float64)
    z = _along(z, a, (_phases(n // 2 + 1, n, 1.0, z.data.dtype) * twice[:, None]).T / n)
    return z.with_data(z.data.real.to(dtype))


def _complex(w: torch.Tensor) -> torch.Tensor:
    return (w[..., 0] + 1j * w[..., 1]).to(torch.complex128)


@case("GlobalFilter")
def global_filter(c: OpCall, x: NamedTensor) -> NamedTensor:
    """y = inverse(forward(x) * W): W[*frequencies, C] learned per channel and frequency."""
    ch, over = c.attrs["cin"], c.attrs["over"]
    lengths = {a: x.size(a) for a in over}
    z = _forward(x, over)
    w = NamedTensor(_complex(c.weight()), tuple(over) + (ch,))
    z = z.with_data(z.data * w.aligned(z.names).to(z.data.device))
    return _inverse(z, over, lengths, x.data.dtype)


@case("SpectralConv")
def spectral_conv(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Frequencies in the kept box (the lowest `modes` of each sign on all axes but the last,
    the lowest `modes` on the last) mixed C -> F per frequency; every other frequency is zero."""
    cin, cout, over, m = c.attrs["cin"], c.attrs["cout"], c.attrs["over"], c.kw("modes")
    lengths = {a: x.size(a) for a in over}
    z = _forward(x, over)
    w = _complex(c.weight())  # (corners, C, F, modes...)
    fin, fout = "#cin", "#cout"
    z = z.rename({cin: fin})
    rest = tuple(n for n in z.names if n not in (fin, *over))
    out = torch.zeros(*z.data.shape[:z.data.dim() - len(z.names)], *(z.size(n) for n in rest), w.shape[2],
                      *(z.size(a) for a in over), dtype=z.data.dtype, device=z.data.device)
    for corner, signs in enumerate(itertools.product((0, 1), repeat=len(over) - 1)):
        signs = tuple(reversed(signs)) + (0,)  # corner bit j: the high half of axis j
        rows = [torch.arange(lengths[a] - m, lengths[a]) if s else torch.arange(m) for a, s in zip(over, signs)]
        box = z
        for a, r in zip(over, rows):
            box = box.index(a, r)
        weight = NamedTensor(w[corner], (fin, fout) + tuple(over))
        part = named_einsum(rest + (fout,) + tuple(over), box, weight).data
        lead = (slice(None),) * (out.dim() - len(over))
        out[lead + torch.meshgrid(*rows, indexing="ij")] = part
    y = NamedTensor(out, rest + (fout,) + tuple(over))
    return _inverse(y, over, lengths, x.data.dtype).rename({fout: cout})
