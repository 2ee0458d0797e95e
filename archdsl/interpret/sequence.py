"""Cases for sequence and window ops: the causal long convolution (a loop over filter taps),
positional features, evenly spaced values, B-spline bases, the relative position bias and the
shifted-window mask. Constants are built from positions with explicit formulas."""

from __future__ import annotations

import itertools
import math

import torch

from .axes import pad_axis
from .base import OpCall, case
from .named import NamedTensor, broadcast


@case("longconv")
def longconv(c: OpCall, u: NamedTensor, h: NamedTensor) -> NamedTensor:
    """y[t] = sum over j <= t of h[j] u[t - j], along L; h's other axes are channels of u.
    Circular: y[t] = sum over every offset j of h[j] u[(t - j) mod n], on each named axis."""
    if c.attrs["kw"]["mode"] == "circular":
        return _circular(c.attrs["axes"], u, h)
    (axis,) = c.attrs["axes"]
    n = u.size(axis)
    y = None
    for j in range(min(h.size(axis), n)):
        past = pad_axis(u, axis, j, 0, "constant").index(axis, torch.arange(n))  # u[t - j], 0 before 0
        tap = NamedTensor(h.data.select(h.dim(axis), j), tuple(m for m in h.names if m != axis))
        datas, names = broadcast(past, tap)
        term = NamedTensor(datas[0] * datas[1], names)
        y = term if y is None else y.with_data(y.data + term.order(y.names).data)
    if y is None:
        return u.with_data(torch.zeros_like(u.data))
    return y


def _circular(axes, u: NamedTensor, h: NamedTensor) -> NamedTensor:
    y = None
    for offsets in itertools.product(*(range(u.size(a)) for a in axes)):
        moved = u.with_data(torch.roll(u.data, offsets, tuple(u.dim(a) for a in axes)))  # u[t - j]
        tap = h.data[tuple(offsets[axes.index(n)] if n in axes else slice(None) for n in h.names)]
        datas, names = broadcast(moved, NamedTensor(tap, tuple(n for n in h.names if n not in axes)))
        term = NamedTensor(datas[0] * datas[1], names)
        y = term if y is None else y.with_data(y.data + term.order(y.names).data)
    return y


def _positions(n: int, dtype) -> torch.Tensor:
    return torch.arange(n, dtype=dtype)


def evenly_spaced(start: float, stop: float, n: int, dtype=torch.float64) -> torch.Tensor:
    """n values from start to stop, both included (one value: start)."""
    if n == 1:
        return torch.tensor([start], dtype=dtype)
    return start + (stop - start) * _positions(n, dtype) / (n - 1)


@case("fourier_features")
def fourier_features(c: OpCall, x: NamedTensor) -> NamedTensor:
    """[L, F]: t = l / (L - 1), then cos(f w) and -sin(f w) with w = 2 pi l / L and `bands`
    frequencies f evenly spaced from 1e-4 to bands - 1."""
    axis, bands = c.attrs["axis"], c.kw("bands")
    n = x.size(axis)
    dtype = x.data.dtype
    t = evenly_spaced(0.0, 1.0, n, dtype)[:, None]
    w = 2 * math.pi * _positions(n, dtype)[:, None] / n
    f = evenly_spaced(1e-4, bands - 1, bands, dtype)[None, :]
    data = torch.cat([t, torch.cos(f * w), -torch.sin(f * w)], dim=1).to(x.data.device)
    return NamedTensor(data, (axis, c.attrs["out"]))


@case("linspace")
def linspace(c: OpCall, x: NamedTensor) -> NamedTensor:
    (axis,) = c.attrs["axes"]
    data = evenly_spaced(float(c.kw("start")), float(c.kw("stop")), x.size(axis), x.data.dtype)
    return NamedTensor(data.to(x.data.device), (axis,))


@case("bspline")
def bspline(c: OpCall, x: NamedTensor) -> NamedTensor:
    """B_i of degree `order` on the uniform knots lo + m (hi - lo) / grid, m = -order .. grid + order:
    degree 0 is the indicator of [knot_i, knot_i+1), and the Cox-de Boor recursion
    B_i,k = (x - t_i) / (t_i+k - t_i) B_i,k-1 + (t_i+k+1 - x) / (t_i+k+1 - t_i+1) B_i+1,k-1."""
    grid, order, lo, hi = c.kw("grid"), c.kw("order"), float(c.kw("lo")), float(c.kw("hi"))
    step = (hi - lo) / grid
    knots = [lo + m * step for m in range(-order, grid + order + 1)]
    v = x.data
    basis = [((v >= knots[i]) & (v < knots[i + 1])).to(v.dtype) for i in range(len(knots) - 1)]
    for k in range(1, order + 1):
        basis = [(v - knots[i]) / (knots[i + k] - knots[i]) * basis[i]
                 + (knots[i + k + 1] - v) / (knots[i + k + 1] - knots[i + 1]) * basis[i + 1]
                 for i in range(len(basis) - 1)]
    return NamedTensor(torch.stack(basis, dim=-1), x.names + tuple(c.attrs["axes"]))


def _window_coords(window: list[int]) -> torch.Tensor:
    """(N, k): the coordinates of the N positions of a window, row-major."""
    grids = torch.meshgrid(*(torch.arange(m) for m in window), indexing="ij")
    return torch.stack([g.reshape(-1) for g in grids], dim=1)


@case("RelPosBias")
def rel_pos_bias(c: OpCall, x: NamedTensor) -> NamedTensor:
    """b[extra, t, s] = table[row of the offset t - s, extra]; rows number the offsets row-major,
    each coordinate from -(m - 1) to m - 1."""
    a = c.attrs
    window = [c.n(m) for m in a["window"]]
    table = c.weight()
    coords = _window_coords(window)
    offset = coords[:, None, :] - coords[None, :, :]  # (N, N, k)
    row = torch.zeros(offset.shape[:2], dtype=torch.long)
    for d, m in enumerate(window):
        row = row * (2 * m - 1) + offset[..., d] + (m - 1)
    looked = table[row.to(table.device)]  # (T, S, *extra)
    names = (a["t"], a["s"]) + tuple(a["extra"])
    return NamedTensor(looked, names).order(tuple(a["extra"]) + (a["t"], a["s"]))


@case("window_mask")
def window_mask(c: OpCall, x: NamedTensor) -> NamedTensor:
    """[W..., T, S]: `value` where tokens t and s of one window come from different regions of the
    grid before it was rolled by -shift, else 0. Along an axis of W windows of M, positions
    [0, WM - M), [WM - M, WM - shift) and [WM - shift, WM) are the three regions."""
    shift, value = c.kw("shift"), float(c.kw("value"))
    grid = [(x.size(w), x.size(m)) for w, m in c.attrs["grid"]]
    region = None
    for w, m in grid:  # a region id per grid position, axis by axis
        p = torch.arange(w * m)
        r = (p >= w * m - m).long() + (p >= w * m - shift).long()
        r = r.reshape(w, m)
        region = r if region is None else region[..., None, None] * 3 + r
    k = len(grid)
    ids = region.permute(*range(0, 2 * k, 2), *range(1, 2 * k, 2)).reshape(*(w for w, _ in grid), -1)
    mask = torch.where(ids[..., :, None] != ids[..., None, :], value, 0.0).to(x.data.dtype)
    names = tuple(w for w, _ in c.attrs["grid"]) + (c.attrs["t"], c.attrs["s"])
    return NamedTensor(mask.to(x.data.device), names)
