"""Cases for ops that move, relabel, cut, join, index, pad, roll or turn axes: every one an
explicit index computation on the named axis it acts on."""

from __future__ import annotations

import torch

from .base import OpCall, case
from .named import NamedTensor


@case("rename")
def rename(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.rename(c.attrs["map"])


@case("split")
def split(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Cut an axis row-major; the part whose size is neither given nor a parameter takes the rest."""
    for src, parts in c.attrs["pairs"]:
        kw = c.attrs["kw"]
        known = {n: (c.kw(n) if n in kw else c.env.get(n)) for n in parts}
        rest = [n for n, v in known.items() if v is None]
        if rest:
            done = 1
            for v in known.values():
                done *= v if v is not None else 1
            if x.size(src) % done:
                raise c.fail(f"{src} = {x.size(src)} is not divisible into parts of {done}")
            known[rest[0]] = x.size(src) // done
        x = x.split(src, [(n, int(known[n])) for n in parts])
    return x


@case("merge")
def merge(c: OpCall, x: NamedTensor) -> NamedTensor:
    for parts, dst in c.attrs["pairs"]:
        x = x.merge(tuple(parts), dst)
    return x


@case("concat")
def concat(c: OpCall, *xs: NamedTensor) -> NamedTensor:
    """Join along the named axes (one per operand) into `out`; the other axes must match by name,
    and an operand without leading dimensions is repeated over those of the others."""
    parts = c.attrs["parts"] * len(xs) if len(c.attrs["parts"]) == 1 else c.attrs["parts"]
    out = c.attrs["out"]
    joined = [x.rename({p: out}) for x, p in zip(xs, parts)]
    order = list(joined[0].names)
    lead = torch.broadcast_shapes(*(x.lead_shape for x in joined))
    datas = []
    for x in joined:
        d = x.order(order).data
        datas.append(d.expand(*lead, *d.shape[x.lead:]) if x.lead_shape != lead else d)
    return NamedTensor(torch.cat(datas, dim=len(lead) + order.index(out)), tuple(order))


@case("select")
def select(c: OpCall, x: NamedTensor) -> NamedTensor:
    (axis,) = c.attrs["axes"]
    i = c.kw("index")
    n = x.size(axis)
    if not -n <= i < n:
        raise c.fail(f"index {i} out of range for {axis} = {n}")
    y = x.last((axis,))
    return NamedTensor(y.data[..., i % n], y.names[:-1])


@case("slice")
def slice_(c: OpCall, x: NamedTensor) -> NamedTensor:
    (axis,) = c.attrs["axes"]
    start, stop = c.kw("start"), c.kw("stop")
    if not 0 <= start <= stop <= x.size(axis):
        raise c.fail(f"positions {start} to {stop} of {axis} = {x.size(axis)}")
    return x.index(axis, torch.arange(start, stop))


def padded_index(n: int, before: int, after: int, mode: str) -> torch.Tensor:
    """For each position of an axis padded from n to before + n + after: the input position it
    copies (-1 where it is the constant)."""
    i = torch.arange(-before, n + after)
    if mode == "constant" or mode == "zeros":
        return torch.where((i >= 0) & (i < n), i, torch.full_like(i, -1))
    if mode == "circular":
        return i % n
    if mode == "replicate":
        return i.clamp(0, n - 1)
    if mode == "reflect":
        if before >= n or after >= n:
            raise ValueError(f"reflect padding of {max(before, after)} needs more than {n} positions")
        return torch.where(i < 0, -i, torch.where(i >= n, 2 * (n - 1) - i, i))
    raise ValueError(f"unknown padding mode {mode}")


def pad_axis(x: NamedTensor, axis: str, before: int, after: int, mode: str, value: float = 0.0) -> NamedTensor:
    idx = padded_index(x.size(axis), before, after, mode)
    y = x.index(axis, idx.clamp(min=0))
    if (idx < 0).any():
        shape = [1] * y.data.dim()
        shape[y.dim(axis)] = len(idx)
        fill = (idx < 0).view(shape).to(y.data.device)
        y = y.with_data(torch.where(fill, torch.full_like(y.data, value), y.data))
    return y


@case("pad")
def pad(c: OpCall, x: NamedTensor) -> NamedTensor:
    w, mode, value = c.kw("width"), c.kw("mode"), c.kw("value")
    kw = c.attrs["kw"]
    before = c.kw("before") if "before" in kw else w
    after = c.kw("after") if "after" in kw else w
    for axis in c.attrs["axes"]:
        try:
            x = pad_axis(x, axis, before, after, mode, value)
        except ValueError as err:
            raise c.fail(str(err)) from None
    return x


@case("roll")
def roll(c: OpCall, x: NamedTensor) -> NamedTensor:
    """y[i] = x[(i - shift) mod n] along every named axis."""
    s = c.kw("shift")
    for axis in c.attrs["axes"]:
        n = x.size(axis)
        x = x.index(axis, (torch.arange(n) - s) % n)
    return x


def flip_axis(x: NamedTensor, axis: str) -> NamedTensor:
    return x.index(axis, torch.arange(x.size(axis) - 1, -1, -1))


@case("flip")
def flip(c: OpCall, x: NamedTensor) -> NamedTensor:
    for axis in c.attrs["axes"]:
        x = flip_axis(x, axis)
    return x


def quarter_turns(x: NamedTensor, a: str, b: str, k: int) -> NamedTensor:
    """k quarter turns of the (a, b) plane, from a towards b: after one, y[a = i, b = j] is
    x[a = j, b = n_b - 1 - i] (b reversed, then the two axes exchange their names)."""
    for _ in range(k % 4):
        x = flip_axis(x, b).rename({a: b, b: a})
    return x


@case("rot90")
def rot90(c: OpCall, x: NamedTensor) -> NamedTensor:
    a, b = c.attrs["axes"]
    return quarter_turns(x, a, b, c.kw("k"))


def _group_element(c: OpCall, x: NamedTensor, g: int) -> NamedTensor:
    """The image of x under element g of the orbit's group (a power of the generator)."""
    over = c.attrs["over"]
    if c.kw("group") == "rot90":
        return quarter_turns(x, over[0], over[1], g)
    if c.kw("group") == "dihedral":  # element 4 s + k: reflect the first axis s times, then turn k times
        return quarter_turns(flip_axis(x, over[0]) if g >= 4 else x, over[0], over[1], g % 4)
    return flip_axis(x, over[0]) if g % 2 else x


def _inverse_element(c: OpCall, x: NamedTensor, g: int) -> NamedTensor:
    """The image of x under the inverse of element g."""
    over = c.attrs["over"]
    if c.kw("group") == "dihedral":  # (turn^k reflect^s)^-1 = reflect^s turn^-k
        x = quarter_turns(x, over[0], over[1], -g % 4)
        return flip_axis(x, over[0]) if g >= 4 else x
    return _group_element(c, x, -g % _ORDER[c.kw("group")])


_ORDER = {"rot90": 4, "flip": 2, "dihedral": 8}


def _stack(items: list[NamedTensor], axis: str) -> NamedTensor:
    names = items[0].names
    datas = [t.order(names).data for t in items]
    lead = items[0].lead
    return NamedTensor(torch.stack(datas, dim=lead), (axis,) + names)


@case("orbit")
def orbit(c: OpCall, x: NamedTensor) -> NamedTensor:
    n = _ORDER[c.kw("group")]
    return _stack([_group_element(c, x, g) for g in range(n)], c.attrs["group_axis"])


@case("unorbit")
def unorbit(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Entry g turned back by the inverse of g."""
    g_axis, n = c.attrs["group_axis"], _ORDER[c.kw("group")]
    y = x.order((g_axis,) + tuple(m for m in x.names if m != g_axis))
    entries = [NamedTensor(y.data.select(y.lead, g), y.names[1:]) for g in range(n)]
    return _stack([_inverse_element(c, e, g) for g, e in enumerate(entries)], g_axis)
