"""Cases for the index ops and the sparse mixture of experts, written from their definitions:
ranks by pairwise comparison, reads and writes as a loop over the positions of the indexed axis,
and the mixture as a dense sum over every expert masked by whether it was chosen."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import OpCall, case
from .named import NamedTensor, broadcast


def _ranks(x: NamedTensor, axis: str) -> torch.Tensor:
    """rank[i] = #{j : x[j] > x[i]} + #{j < i : x[j] = x[i]} along `axis`, moved last: the
    position of i when sorted largest first, the lower position first among equals."""
    v = x.last([axis]).data
    n = v.shape[-1]
    greater = (v.unsqueeze(-2) > v.unsqueeze(-1)).sum(-1)  # [..., i]: j with v[j] > v[i]
    before = torch.ones(n, n, dtype=torch.bool).tril(-1)  # [i, j]: j < i
    ties = ((v.unsqueeze(-2) == v.unsqueeze(-1)) & before).sum(-1)
    return greater + ties


@case("argmax")
def argmax(c: OpCall, x: NamedTensor) -> NamedTensor:
    (axis,) = c.attrs["axes"]
    first = (_ranks(x, axis) == 0).to(torch.int64).argmax(-1)  # the one position of rank 0
    return NamedTensor(first, tuple(n for n in x.names if n != axis))


@case("topk")
def topk(c: OpCall, x: NamedTensor) -> NamedTensor:
    """out[r] = the position whose rank is r, for r < K."""
    (src,), (dst,) = c.attrs["inp"], c.attrs["out"]
    rank = _ranks(x, src)
    k = c.n(c.node.types[0].size(dst))
    positions = torch.arange(rank.shape[-1])
    out = torch.stack([((rank == r) * positions).sum(-1) for r in range(k)], -1)
    names = tuple(n for n in x.names if n != src) + (dst,)
    return NamedTensor(out, names).order([dst if n == src else n for n in x.names])


def _along(x: NamedTensor, axis: str, i: int) -> NamedTensor:
    return NamedTensor(x.data.select(x.dim(axis), i), tuple(n for n in x.names if n != axis))


@case("gather")
def gather(c: OpCall, x: NamedTensor, idx: NamedTensor) -> NamedTensor:
    """y = x[A = a] wherever idx = a, for every a."""
    (a,) = c.attrs["inp"]
    out = None
    for i in range(x.size(a)):
        (value, index), names = broadcast(_along(x, a, i), idx)
        out = torch.where(index == i, value, torch.zeros_like(value) if out is None else out)
    return NamedTensor(out, names)


@case("scatter_add")
def scatter_add(c: OpCall, src: NamedTensor, idx: NamedTensor) -> NamedTensor:
    """y[A = a] = sum over K of src where idx = a."""
    (k,), (a,) = c.attrs["inp"], c.attrs["out"]
    size = c.n(c.node.types[0].size(a))
    (value, index), names = broadcast(src, idx)
    at = names.index(k) - len(names)
    parts = [torch.where(index == i, value, torch.zeros_like(value)).sum(at) for i in range(size)]
    return NamedTensor(torch.stack(parts, -1), tuple(n for n in names if n != k) + (a,))


@case("onehot")
def onehot(c: OpCall, idx: NamedTensor) -> NamedTensor:
    (a,) = c.attrs["axes"]
    size = c.n(c.node.types[0].size(a))
    return NamedTensor(torch.stack([(idx.data == i).to(torch.int64) for i in range(size)], -1), idx.names + (a,))


@case("MoE")
def moe(c: OpCall, x: NamedTensor, idx: NamedTensor, gate: NamedTensor) -> NamedTensor:
    """sum over experts e and choices k of gate[k] [idx[k] = e] Expert_e(x): every expert on
    every token, kept where chosen (the dense definition). Expert_e is W2_e (silu(W1_e x) *
    W3_e x) for SwiGLU, W2_e act(W1_e x + b1_e) + b2_e for the MLP experts."""
    (d,), (o,), k = c.attrs["inp"], c.attrs["out"], c.attrs["k"]
    kind = c.attrs["kw"]["expert"]
    xs = x.last([d])
    (g, i), names = broadcast(gate, idx)
    at = names.index(k) - len(names)
    y = None
    for e in range(c.weight(0).shape[0]):
        if kind == "swiglu":
            w1, w3, w2 = c.weight(0), c.weight(1), c.weight(2)
            out = (F.silu(xs.data @ w1[e].T) * (xs.data @ w3[e].T)) @ w2[e].T
        else:
            w1, b1, w2, b2 = (c.weight(j) for j in range(4))
            h = xs.data @ w1[e].T + b1[e]
            out = (torch.relu(h) if kind == "relu" else F.gelu(h)) @ w2[e].T + b2[e]
        expert = NamedTensor(out, xs.names[:-1] + (o,))
        weight = NamedTensor((g * (i == e)).sum(at), tuple(n for n in names if n != k))  # gate where e was chosen
        (ex, w), both = broadcast(expert, weight)
        term = NamedTensor(ex * w, both)
        y = term if y is None else y.with_data(y.data + term.order(y.names).data)
    return y.order([o if n == d else n for n in x.names])
