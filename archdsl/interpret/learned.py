"""Cases for ops with weights: Linear, Embedding, Param and the normalisations.

Each knows how the generated module stores its weights (`nn.Linear.weight` is (out, in) with
the named axes flattened row-major, norms keep one weight per normalised position) and uses
them through names and einsum."""

from __future__ import annotations

import torch

from .base import OpCall, case, named_einsum
from .named import NamedTensor, broadcast


def _tensor(t: torch.Tensor, names: tuple[str, ...], sizes: list[int]) -> NamedTensor:
    """A stored weight viewed with one named axis per entry of `sizes`."""
    return NamedTensor(t.reshape(sizes), names)


@case("Linear")
def linear(c: OpCall, x: NamedTensor) -> NamedTensor:
    """y[out] = sum over the input axes of W[out, in] x[in] (+ b[out])."""
    inp, out = c.attrs["inp"], c.attrs["out"]
    mod = c.weight()
    tmp = {n: f"#in{i}" for i, n in enumerate(inp)}
    xin = x.rename(tmp)
    sized = set(c.attrs["kw"]) - {"bias"}  # an output axis sized by keyword: `Linear[D -> R H K](x, R = 3)`
    out_sizes = [c.kw(n) if n in sized else c.axis(n) for n in out]
    w = _tensor(mod.weight, tuple(out) + tuple(tmp.values()), out_sizes + [x.size(n) for n in inp])
    rest = tuple(n for n in xin.names if n not in tmp.values())
    y = named_einsum(rest + tuple(out), xin, w)
    if getattr(mod, "bias", None) is not None:  # a Linear tied to an Embedding has none
        y = y.with_data(y.data + mod.bias.reshape(out_sizes))
    return y


@case("Embedding")
def embedding(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Row x of the table, for every index."""
    table = c.weight().weight
    if x.data.dtype.is_floating_point or (x.data.numel() and not 0 <= int(x.data.min()) <= int(x.data.max())
                                          < table.shape[0]):
        raise c.fail(f"indices must be whole numbers in 0 .. {table.shape[0] - 1}")
    return NamedTensor(table[x.data.long()], x.names + (c.attrs["out"],))


@case("Param")
def param(c: OpCall) -> NamedTensor:
    """The learned tensor itself: its axes, no leading dimensions."""
    w = c.weight()
    if c.attrs["kw"]["dtype"] == "complex":  # stored as (..., 2): real and imaginary parts
        w = torch.complex(w[..., 0], w[..., 1])
    return NamedTensor(w, tuple(c.attrs["axes"]))


def _normalise(x: NamedTensor, axes: tuple[str, ...], eps: float, center: bool) -> NamedTensor:
    """(x - mean) / sqrt(var + eps) over `axes` (biased variance), or x / sqrt(mean(x^2) + eps)
    without centring."""
    y = x.last(axes)
    flat = y.data.flatten(y.data.dim() - len(axes)).unsqueeze(-1) if axes else y.data[..., None, None]
    n = flat.shape[-2]
    mu = flat.sum(-2, keepdim=True) / n if center else torch.zeros_like(flat[..., :1, :])
    var = ((flat - mu) ** 2).sum(-2, keepdim=True) / n
    out = ((flat - mu) / torch.sqrt(var + eps)).reshape(y.data.shape)
    return y.with_data(out)


def _affine(y: NamedTensor, axes: tuple[str, ...], weight, bias) -> NamedTensor:
    sizes = [y.size(n) for n in axes]
    parts = [y] + [_tensor(t, axes, sizes) for t in (weight, bias) if t is not None]
    datas, names = broadcast(*parts)
    out = datas[0] * datas[1] if weight is not None else datas[0]
    if bias is not None:
        out = out + datas[-1]
    return NamedTensor(out, names)


@case("LayerNorm")
def layer_norm(c: OpCall, x: NamedTensor) -> NamedTensor:
    axes = tuple(c.attrs["axes"])
    mod = c.weight()
    return _affine(_normalise(x, axes, c.kw("eps"), True), axes, mod.weight, mod.bias)


@case("RMSNorm")
def rms_norm(c: OpCall, x: NamedTensor) -> NamedTensor:
    axes = tuple(c.attrs["axes"])
    mod = c.weight()
    return _affine(_normalise(x, axes, c.kw("eps"), False), axes, mod.weight, None)


@case("BatchNorm")
def batch_norm(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Per channel: the running statistics (eval), or the statistics over the batch and every
    other axis (training)."""
    (ch,) = c.attrs["axes"]
    mod = c.weight()
    y = x.last((ch,))
    if c.training:
        flat = y.data.reshape(-1, y.size(ch))
        mean = flat.sum(0) / flat.shape[0]
        var = ((flat - mean) ** 2).sum(0) / flat.shape[0]
    else:
        mean, var = mod.running_mean, mod.running_var
    z = y.with_data((y.data - mean) / torch.sqrt(var + c.kw("eps")))
    return _affine(z, (ch,), mod.weight, mod.bias)


@case("GroupNorm")
def group_norm(c: OpCall, x: NamedTensor) -> NamedTensor:
    """Channels split into `groups`; statistics per group of channels jointly with the `over`
    axes (none unless the spec names them), separately at every other position."""
    (ch,) = c.attrs["axes"]
    over = tuple(c.attrs.get("over", ()))
    groups = c.kw("groups")
    mod = c.weight()
    n = x.size(ch)
    if n % groups:
        raise c.fail(f"{n} channels in {groups} groups")
    y = x.split(ch, [("#group", groups), ("#member", n // groups)])
    z = _normalise(y, ("#member",) + over, c.kw("eps"), True).merge(("#group", "#member"), ch)
    return _affine(z, (ch,), mod.weight, mod.bias)
