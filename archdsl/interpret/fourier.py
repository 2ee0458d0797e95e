"""Cases for the bare Fourier ops, by explicit DFT matrices (the sums that define them, not
torch.fft): `fft` sums x[t] exp(-2 pi i k t / n) over t, `ifft` sums back with the opposite sign
and 1 / n, `rfft`/`irfft` as the spectral ops' forward and inverse (interpret/spectral.py);
`lowmodes` picks frequencies by their indices, `fillmodes` writes them into zeros."""

from __future__ import annotations

import torch

from .base import OpCall, case
from .named import NamedTensor, broadcast
from .spectral import _along, _forward, _inverse, _phases


def _dft(x: NamedTensor, axes, sign: float) -> NamedTensor:
    z = x.with_data(x.data.to(torch.complex128))
    for a in axes:
        n = z.size(a)
        z = _along(z, a, _phases(n, n, sign, z.data.dtype) / (n if sign > 0 else 1))
    return z


@case("fft")
def fft(c: OpCall, x: NamedTensor) -> NamedTensor:
    return _dft(x, c.attrs["axes"], -1.0)


@case("ifft")
def ifft(c: OpCall, z: NamedTensor) -> NamedTensor:
    return _dft(z, c.attrs["axes"], 1.0)


@case("rfft")
def rfft(c: OpCall, x: NamedTensor) -> NamedTensor:
    a = c.attrs
    return _forward(x, (*a["axes"], a["inp"])).rename({a["inp"]: a["out"]})


@case("irfft")
def irfft(c: OpCall, z: NamedTensor) -> NamedTensor:
    a = c.attrs
    over = (*a["axes"], a["inp"])
    lengths = {n: z.size(n) for n in a["axes"]} | {a["inp"]: c.kw("n")}
    real = torch.float64 if z.data.dtype == torch.complex128 else torch.float32
    return _inverse(z, over, lengths, real).rename({a["inp"]: a["out"]})


def _kept(c: OpCall, m: int, n: int) -> torch.Tensor:
    """The frequency indices `lowmodes` keeps of an axis of n: 0 .. m - 1 (then n - m .. n - 1)."""
    low = torch.arange(m)
    return torch.cat([low, torch.arange(n - m, n)]) if c.attrs["kw"]["signed"] else low


@case("lowmodes")
def lowmodes(c: OpCall, z: NamedTensor) -> NamedTensor:
    a = c.attrs
    return z.index(a["inp"], _kept(c, c.kw("modes"), z.size(a["inp"]))).rename({a["inp"]: a["out"]})


@case("fillmodes")
def fillmodes(c: OpCall, z: NamedTensor) -> NamedTensor:
    a, n = c.attrs, c.kw("n")
    y = z.last((a["inp"],))
    k = y.data.shape[-1]
    where = _kept(c, k // 2 if a["kw"]["signed"] else k, n)
    out = torch.zeros(*y.data.shape[:-1], n, dtype=y.data.dtype, device=y.data.device)
    out[..., where] = y.data
    return NamedTensor(out, y.names[:-1] + (a["out"],))


@case("complex")
def complex_(c: OpCall, re: NamedTensor, im: NamedTensor) -> NamedTensor:
    datas, names = broadcast(re, im)
    return NamedTensor(datas[0] + 1j * datas[1], names)


@case("real")
def real(c: OpCall, z: NamedTensor) -> NamedTensor:
    return z.with_data(z.data.real)


@case("imag")
def imag(c: OpCall, z: NamedTensor) -> NamedTensor:
    return z.with_data(z.data.imag)
