"""Cases for pure ops that act pointwise, along one axis or by contraction: arithmetic by axis
name, activations, dropout, softmax, the causal mask, reductions, dot, and fused attention."""

from __future__ import annotations

import math

import torch

from .base import OpCall, case, named_einsum
from .named import NamedTensor, broadcast, union


@case("binary")
def binary(c: OpCall, *xs: NamedTensor) -> NamedTensor:
    """`a op b` matched by axis name (the union of the axes), or a tensor with a number."""
    fn = c.attrs["fn"]
    datas, names = broadcast(*xs)
    if c.attrs.get("scalar") is not None:
        s = c.kw_value(c.attrs["scalar"])
        datas.insert(0 if c.attrs.get("scalar_left") else 1, s)
    a, b = datas
    result = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[fn]()
    return NamedTensor(torch.as_tensor(result), names)


@case("neg")
def neg(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(-x.data)


@case("relu")
def relu(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(torch.where(x.data > 0, x.data, torch.zeros_like(x.data)))


@case("gelu")
def gelu(c: OpCall, x: NamedTensor) -> NamedTensor:
    v = x.data
    if c.kw("approximate") == "tanh":
        return x.with_data(0.5 * v * (1 + torch.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))))
    return x.with_data(0.5 * v * (1 + torch.erf(v / math.sqrt(2))))


@case("sigmoid")
def sigmoid(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(1 / (1 + torch.exp(-x.data)))


@case("silu")
def silu(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(x.data / (1 + torch.exp(-x.data)))


@case("tanh")
def tanh(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(torch.tanh(x.data))


@case("exp")
def exp(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(torch.exp(x.data))


@case("sin")
def sin(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(torch.sin(x.data))


@case("dropout")
def dropout(c: OpCall, x: NamedTensor) -> NamedTensor:
    """The identity in eval mode; a random mask in training mode cannot be compared."""
    if c.training and c.kw("p") > 0:
        raise c.fail("dropout is random in training mode; interpret in eval mode")
    return x


def softmax_along(x: NamedTensor, axis: str) -> NamedTensor:
    d = x.dim(axis)
    e = torch.exp(x.data - x.data.amax(dim=d, keepdim=True))
    return x.with_data(e / e.sum(dim=d, keepdim=True))


@case("softmax")
def softmax(c: OpCall, x: NamedTensor) -> NamedTensor:
    return softmax_along(x, c.attrs["axes"][0])


@case("causal_mask")
def causal_mask(c: OpCall, x: NamedTensor) -> NamedTensor:
    """-inf where the key position s is after the query position t."""
    t, s = c.attrs["axes"]
    if not c.kw("enabled"):
        return x
    later = torch.arange(x.size(s))[None, :] > torch.arange(x.size(t))[:, None]
    mask = NamedTensor(later, (t, s)).aligned(x.names).to(x.data.device)
    return x.with_data(x.data.masked_fill(mask, float("-inf")))


def _reduce(x: NamedTensor, axes: tuple[str, ...], fn) -> NamedTensor:
    y = x.last(axes)
    data = y.data.flatten(y.data.dim() - len(axes)) if axes else y.data.unsqueeze(-1)
    return NamedTensor(fn(data), y.names[:len(y.names) - len(axes)])


@case("sum")
def sum_(c: OpCall, x: NamedTensor) -> NamedTensor:
    return _reduce(x, c.attrs["axes"], lambda d: d.sum(-1))


@case("mean")
def mean(c: OpCall, x: NamedTensor) -> NamedTensor:
    return _reduce(x, c.attrs["axes"], lambda d: d.sum(-1) / d.shape[-1])


@case("max")
def max_(c: OpCall, x: NamedTensor) -> NamedTensor:
    return _reduce(x, c.attrs["axes"], lambda d: d.max(-1).values)


@case("dot")
def dot(c: OpCall, a: NamedTensor, b: NamedTensor) -> NamedTensor:
    """Multiply by name and sum over the contracted axes; every other axis is kept."""
    k = c.attrs["axes"]
    return named_einsum(tuple(n for n in union(a, b) if n not in k), a, b)


@case("attention")
def attention(c: OpCall, q: NamedTensor, k: NamedTensor, v: NamedTensor, *masks: NamedTensor) -> NamedTensor:
    """The fused kernel, written as the ops it replaces: softmax[S](q.k * scale + masks).v."""
    t, s, f = c.attrs["t"], c.attrs["s"], c.attrs["k"]
    scores = named_einsum(tuple(n for n in union(q, k) if n != f), q, k)
    scale = c.attrs.get("scale")
    scores = scores.with_data(scores.data * (c.kw_value(scale) if scale is not None else q.size(f) ** -0.5))
    for m in masks:
        datas, names = broadcast(scores, m)
        scores = NamedTensor(datas[0] + datas[1], names)
    causal = c.attrs.get("causal")
    if causal is not None and c.kw_value(causal):
        later = torch.arange(scores.size(s))[None, :] > torch.arange(scores.size(t))[:, None]
        mask = NamedTensor(later, (t, s)).aligned(scores.names).to(scores.data.device)
        scores = scores.with_data(scores.data.masked_fill(mask, float("-inf")))
    w = softmax_along(scores, s)
    return named_einsum(tuple(n for n in union(w, v) if n != s), w, v)
