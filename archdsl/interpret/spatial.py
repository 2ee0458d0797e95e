"""Cases for ops over spatial axes: convolutions (windows cut with `unfold`, then einsum),
transposed convolutions (each kernel tap scattered with a Python loop), pooling, resizing,
pixel shuffle, blur pooling, adaptive polyphase sampling and the p4 group convolution."""

from __future__ import annotations

import itertools
import math

import torch

from .axes import pad_axis, quarter_turns
from .base import OpCall, case, named_einsum
from .named import NamedTensor


def windows(x: NamedTensor, axis: str, k: int, stride: int, dilation: int, tap: str) -> NamedTensor:
    """Every window of `k` taps (`dilation` apart, windows `stride` apart) along `axis`: `axis`
    now counts windows, the new axis `tap` the positions inside one."""
    span = dilation * (k - 1) + 1
    if x.size(axis) < span:
        raise ValueError(f"a window of {span} does not fit in {axis} = {x.size(axis)}")
    data = x.data.unfold(x.dim(axis), span, stride)[..., ::dilation]
    return NamedTensor(data, x.names + (tap,))


def _kernel_names(over) -> tuple[str, ...]:
    return tuple(f"#k{a}" for a in over)


@case("Conv")
def conv(c: OpCall, x: NamedTensor) -> NamedTensor:
    """y[f, o] = sum over the group's channels and the taps of W[f, c, t] x[c, o s + t d - p] + b[f]."""
    cin, cout, over = c.attrs["cin"], c.attrs["cout"], c.attrs["over"]
    k, s, p, d, g = (c.kw(n) for n in ("kernel", "stride", "padding", "dilation", "groups"))
    mod = c.weight()
    taps = _kernel_names(over)
    try:
        for a, t in zip(over, taps):
            x = windows(pad_axis(x, a, *_conv_sides(c, x.size(a)), c.kw("mode")), a, k, s, d, t)
    except ValueError as err:
        raise c.fail(str(err)) from None
    x = x.split(cin, [("#g", g), ("#c", x.size(cin) // g)])
    f = mod.weight.shape[0]
    w = NamedTensor(mod.weight.reshape(g, f // g, *mod.weight.shape[1:]), ("#g", "#f", "#c") + taps)
    rest = tuple(n for n in x.names if n not in ("#g", "#c") + taps + tuple(over))
    y = named_einsum(rest + ("#g", "#f") + tuple(over), x, w).merge(("#g", "#f"), cout)
    return _bias(y, cout, mod.bias)


def _conv_sides(c: OpCall, n: int) -> tuple[int, int]:
    """Padding before and after an axis of length n: `causal` puts the whole receptive field
    before; `same` gives ceil(n / stride) outputs, the odd padding position after."""
    k, s, p, d = (c.kw(name) for name in ("kernel", "stride", "padding", "dilation"))
    if c.kw("causal"):
        return d * (k - 1), 0
    if c.kw("same"):
        total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)
        return total // 2, total - total // 2
    return p, p


def _bias(y: NamedTensor, axis: str, bias) -> NamedTensor:
    if bias is None:
        return y
    z = y.last((axis,))
    return z.with_data(z.data + bias)


@case("ConvTranspose")
def conv_transpose(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Each input position i adds W[c, f, t] x[c, i] at output position i s + t d - p."""
    cin, cout, over = c.attrs["cin"], c.attrs["cout"], c.attrs["over"]
    k, s, p, op, d, g = (c.kw(n) for n in ("kernel", "stride", "padding", "output_padding", "dilation", "groups"))
    mod = c.weight()
    wt = mod.weight  # (C, F / g, k...)
    x = x.split(cin, [("#g", g), ("#c", x.size(cin) // g)])
    w = NamedTensor(wt.reshape(g, wt.shape[0] // g, *wt.shape[1:]), ("#g", "#c", "#f") + _kernel_names(over))
    rest = tuple(n for n in x.names if n not in ("#g", "#c") + tuple(over))
    order = rest + ("#g", "#f") + tuple(over)
    sizes = [x.size(a) for a in over]
    full = [(n - 1) * s + d * (k - 1) + 1 + op for n in sizes]
    out = None
    for tap in itertools.product(range(k), repeat=len(over)):
        wk = w
        for t, name in zip(tap, _kernel_names(over)):
            wk = NamedTensor(wk.data.select(wk.dim(name), t), tuple(m for m in wk.names if m != name))
        part = named_einsum(order, x, wk).data
        if out is None:
            out = torch.zeros(*part.shape[:part.dim() - len(over)], *full, dtype=part.dtype, device=part.device)
        index = [slice(None)] * (out.dim() - len(over))
        index += [slice(t * d, t * d + (n - 1) * s + 1, s) for t, n in zip(tap, sizes)]
        out[tuple(index)] += part
    crop = [slice(None)] * (out.dim() - len(over)) + [slice(p, n - p) for n in full]
    y = NamedTensor(out[tuple(crop)], order).merge(("#g", "#f"), cout)
    return _bias(y, cout, mod.bias)


def _pool(c: OpCall, x: NamedTensor, fill: float, reduce) -> NamedTensor:
    k, p = c.kw("kernel"), c.kw("padding")
    s = c.kw("stride") if c.attrs["kw"]["stride"] is not None else k
    taps = _kernel_names(c.attrs["axes"])
    try:
        for a, t in zip(c.attrs["axes"], taps):
            x = windows(pad_axis(x, a, p, p, "constant", fill), a, k, s, 1, t)
    except ValueError as err:
        raise c.fail(str(err)) from None
    y = x.last(taps)
    return NamedTensor(reduce(y.data.flatten(y.data.dim() - len(taps))), y.names[:len(y.names) - len(taps)])


@case("maxpool")
def maxpool(c: OpCall, x: NamedTensor) -> NamedTensor:
    """The largest value of each window (padding never wins)."""
    return _pool(c, x, float("-inf"), lambda d: d.max(-1).values)


@case("avgpool")
def avgpool(c: OpCall, x: NamedTensor) -> NamedTensor:
    """The mean of each window of kernel ** n values, padding zeros included; with
    `count_include_pad = false`, the sum divided by the window's positions inside the input."""
    total = _pool(c, x, 0.0, lambda d: d.sum(-1))
    if c.kw("count_include_pad"):
        return total.with_data(total.data / c.kw("kernel") ** len(c.attrs["axes"]))
    ones = NamedTensor(torch.ones(tuple(x.size(a) for a in c.attrs["axes"]), dtype=x.data.dtype), c.attrs["axes"])
    count = _pool(c, ones, 0.0, lambda d: d.sum(-1))
    return total.with_data(total.data / count.aligned(total.names).to(total.data.device))


def _cubic(t: torch.Tensor) -> list[torch.Tensor]:
    """Keys' cubic convolution weights (a = -0.75) of the taps at -1, 0, 1, 2 for offset t."""
    a = -0.75

    def near(z):
        return ((a + 2) * z - (a + 3)) * z * z + 1

    def far(z):
        return ((a * z - 5 * a) * z + 8 * a) * z - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _resize_axis(x: NamedTensor, axis: str, scale: int, mode: str) -> NamedTensor:
    n = x.size(axis)
    i = torch.arange(n * scale, dtype=torch.float64)
    if mode == "nearest":
        return x.index(axis, torch.div(torch.arange(n * scale), scale, rounding_mode="floor"))
    src = (i + 0.5) / scale - 0.5  # the centre of output position i, in input positions
    if mode == "bicubic":
        base = torch.floor(src)
        taps = [x.index(axis, (base + j).long().clamp(0, n - 1)) for j in (-1, 0, 1, 2)]
        weights = _cubic(src - base)
    else:
        src = src.clamp(min=0)
        base = torch.floor(src)
        taps = [x.index(axis, base.long().clamp(max=n - 1)), x.index(axis, (base.long() + 1).clamp(max=n - 1))]
        weights = [1 - (src - base), src - base]
    shape = [1] * x.data.dim()
    shape[x.dim(axis)] = n * scale
    total = sum(t.data * w.to(t.data.dtype).view(shape).to(t.data.device) for t, w in zip(taps, weights))
    return x.with_data(total)


@case("upsample")
def upsample(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Each axis resized by `scale`, one axis after the other (every mode is separable):
    nearest repeats, linear modes interpolate between the two nearest centres, bicubic uses
    four taps."""
    for axis in c.attrs["axes"]:
        x = _resize_axis(x, axis, c.kw("scale"), c.kw("mode"))
    return x


@case("pixel_shuffle")
def pixel_shuffle(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Channel f r r + i r + j goes to output channel f at position (y r + i, x r + j)."""
    r = c.kw("factor")
    cin, cout, (ya, xa) = c.attrs["cin"], c.attrs["cout"], c.attrs["over"]
    y = x.split(cin, [(cout, x.size(cin) // (r * r)), ("#i", r), ("#j", r)])
    return y.merge((ya, "#i"), ya).merge((xa, "#j"), xa)


@case("blurpool")
def blurpool(c: OpCall, x: NamedTensor) -> NamedTensor:
    """A binomial filter of width `kernel` (weights C(k - 1, j) / 2^(k - 1)), centred, then every
    `stride`-th position from the first."""
    k, s, mode = c.kw("kernel"), c.kw("stride"), c.kw("mode")
    taps = torch.tensor([math.comb(k - 1, j) for j in range(k)], dtype=x.data.dtype) / 2 ** (k - 1)
    for axis in c.attrs["axes"]:
        w = windows(pad_axis(x, axis, (k - 1) // 2, (k - 1) // 2, mode), axis, k, 1, 1, "#t")
        x = named_einsum(x.names, w, NamedTensor(taps.to(x.data.device), ("#t",)))
        x = x.index(axis, torch.arange(0, x.size(axis), s))
    return x


@case("aps")
def aps(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Of the stride ** n phases (offsets (i, j) of the subsampled grid), keep at every position
    of the other axes the one with the largest norm over the named and sampled axes."""
    named, over, s = tuple(c.attrs["axes"]), tuple(c.attrs["over"]), c.kw("stride")
    others = tuple(n for n in x.names if n not in named + over)
    phases = []
    for offset in itertools.product(range(s), repeat=len(over)):
        p = x
        for a, o in zip(over, offset):
            p = p.index(a, torch.arange(o, x.size(a), s))
        phases.append(p.order(others + named + over).data)
    stack = torch.stack(phases, dim=x.lead)
    norms = stack.flatten(x.lead + 1 + len(others)).norm(dim=-1)
    best = norms.argmax(dim=x.lead, keepdim=True)
    pick = best.reshape(*best.shape, *[1] * (len(named) + len(over))).expand(
        *best.shape, *stack.shape[stack.dim() - len(named) - len(over):])
    return NamedTensor(stack.gather(x.lead, pick).squeeze(x.lead), others + named + over)


@case("P4Conv")
def p4conv(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Output rotation r uses the filter turned by r quarter turns (and, for p4 inputs, its own
    rotation axis rolled by r): a stride-1 correlation with each of the four filters."""
    a = c.attrs
    k, p = c.kw("kernel"), c.kw("padding")
    ky, kx = "#ky", "#kx"
    held = iter(c.held)
    weight = next(held)
    bias = next(held) if c.kw("bias") else None
    names = ("#f", "#c") + (() if a["lifting"] else ("#s",)) + (ky, kx)
    w = NamedTensor(weight, names)
    x = x.rename({a["cin"]: "#c"} if a["lifting"] else {a["cin"]: "#c", a["rot"]: "#s"})
    try:
        for axis, tap in zip(a["over"], (ky, kx)):
            x = windows(pad_axis(x, axis, p, p, c.kw("mode")), axis, k, 1, 1, tap)
    except ValueError as err:
        raise c.fail(str(err)) from None
    rest = tuple(n for n in x.names if n not in names)
    turns = []
    for r in range(4):
        wr = w if a["lifting"] else w.index("#s", (torch.arange(4) - r) % 4)
        wr = quarter_turns(wr, ky, kx, r)
        turns.append(named_einsum(rest + ("#f",), x, wr).order(rest + ("#f",)).data)
    y = NamedTensor(torch.stack(turns, dim=x.lead + len(rest)), rest + (a["rot"], "#f")).rename({"#f": a["cout"]})
    return _bias(y, a["cout"], bias)
