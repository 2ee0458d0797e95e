"""Cases for the pointwise math of `archdsl.ops.pointwise_math`, each written from its
definition with elementary torch math (exp, log, comparisons), not with the fused PyTorch
function the code generator emits."""

from __future__ import annotations

import torch

from .base import OpCall, case
from .named import NamedTensor, broadcast


def _clip(v: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    v = torch.where(v < lo, torch.full_like(v, lo), v)
    return torch.where(v > hi, torch.full_like(v, hi), v)


@case("softplus")
def softplus(c: OpCall, x: NamedTensor) -> NamedTensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x exceeds the threshold."""
    beta, v = c.kw("beta"), x.data
    smooth = torch.log(1 + torch.exp(beta * v)) / beta
    return x.with_data(torch.where(beta * v > c.kw("threshold"), v, smooth))


@case("log")
def log(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(torch.log(x.data))


@case("sqrt")
def sqrt(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(x.data ** 0.5)


@case("rsqrt")
def rsqrt(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(1 / x.data ** 0.5)


@case("pow")
def pow_(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(torch.pow(x.data, float(c.kw("exponent"))))


@case("abs")
def abs_(c: OpCall, x: NamedTensor) -> NamedTensor:
    if x.data.is_complex():
        return x.with_data(torch.sqrt(x.data.real ** 2 + x.data.imag ** 2))
    return x.with_data(torch.where(x.data < 0, -x.data, x.data))


@case("cos")
def cos(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(torch.cos(x.data))


@case("elu")
def elu(c: OpCall, x: NamedTensor) -> NamedTensor:
    v = x.data
    return x.with_data(torch.where(v > 0, v, c.kw("alpha") * (torch.exp(v) - 1)))


@case("relu6")
def relu6(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(_clip(x.data, 0.0, 6.0))


@case("hardswish")
def hardswish(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(x.data * _clip(x.data + 3, 0.0, 6.0) / 6)


@case("hardsigmoid")
def hardsigmoid(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(_clip(x.data + 3, 0.0, 6.0) / 6)


@case("hardtanh")
def hardtanh(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(_clip(x.data, float(c.kw("min_val")), float(c.kw("max_val"))))


@case("clamp")
def clamp(c: OpCall, x: NamedTensor) -> NamedTensor:
    return x.with_data(_clip(x.data, float(c.kw("min")), float(c.kw("max"))))


@case("minimum")
def minimum(c: OpCall, a: NamedTensor, b: NamedTensor) -> NamedTensor:
    (u, v), names = broadcast(a, b)
    return NamedTensor(torch.where(u <= v, u, v), names)


@case("maximum")
def maximum(c: OpCall, a: NamedTensor, b: NamedTensor) -> NamedTensor:
    (u, v), names = broadcast(a, b)
    return NamedTensor(torch.where(u >= v, u, v), names)


@case("where")
def where(c: OpCall, mask: NamedTensor, a: NamedTensor, b: NamedTensor) -> NamedTensor:
    (m, u, v), names = broadcast(mask, a, b)
    return NamedTensor(torch.where(m, u, v), names)
