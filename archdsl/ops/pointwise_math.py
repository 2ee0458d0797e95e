"""Pointwise math beyond the basic activations: softplus, log, sqrt/rsqrt, powers, abs, elu,
cos, clamp, the hard activations of mobile networks (emitted as PyTorch's own fused functions)
and the pointwise choices of two or three tensors (`minimum`, `maximum`, `where`).

Every op here is pointwise, so it keeps every symmetry factor (the two- and three-operand ones
combine by axis name, like `+`), owns no parameters and counts no FLOPs (FlopCounterMode counts
none for pointwise kernels)."""

from __future__ import annotations

import math

from ..errors import ArchError, ShapeError
from ..sizes import Size
from ..static import show
from ..types import TensorType
from .base import Op, register
from .elementwise import _InPlace, _Unary, align
from .fourier import Magnitude


def _number(value):
    """A static option as a Python number when it is one (`2` parses as a size), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Size):
        return float(value.const) if value.is_const else None
    return float(value) if isinstance(value, (int, float)) else None


def _unary(name: str, fn: str, summary: str, options=None, base=_Unary) -> type:
    cls = type(name.capitalize(), (base,), {
        "name": name, "fn": fn, "summary": summary, "example": f"h = {name}(x)",
        "options": options or {}, "real_options": frozenset(options or ()), "__doc__": summary})
    return register(cls)


_unary("softplus", "F.softplus", "log(1 + exp(beta x)) / beta (linear above `threshold`)",
       {"beta": 1.0, "threshold": 20.0})
_unary("log", "torch.log", "natural logarithm (-inf at 0, NaN below)")
_unary("sqrt", "torch.sqrt", "square root of a tensor (`sqrt(K)` of a size stays a number)")
_unary("rsqrt", "torch.rsqrt", "1 / sqrt(x)")
_unary("abs", "torch.abs", "absolute value (of a complex tensor: its magnitude, a float tensor)",
       base=Magnitude)
_unary("cos", "torch.cos", "cosine")
_unary("elu", "F.elu", "exponential linear unit: x above 0, alpha (exp(x) - 1) below", {"alpha": 1.0})
_unary("relu6", "F.relu6", "min(max(x, 0), 6) (MobileNetV2)", base=_InPlace)
_unary("hardswish", "F.hardswish", "x relu6(x + 3) / 6 (MobileNetV3)")
_unary("hardsigmoid", "F.hardsigmoid", "relu6(x + 3) / 6 (MobileNetV3's squeeze-excite gate)")


class _Bounded(_Unary):
    """An op with a lower and an upper bound option: the lower must not exceed the upper
    (PyTorch's hardtanh raises; a clamp with crossed bounds is a mistake)."""

    bounds: tuple[str, str]

    def infer(self, node, ins, ctx):
        lo, hi = (_number(node.attrs["kw"][k]) for k in self.bounds)
        if lo is not None and hi is not None and lo > hi:
            raise ArchError(f"`{self.name}`: {self.bounds[0]} = {lo:g} is above {self.bounds[1]} = {hi:g}",
                            node.span, code="E380", help="swap the bounds")
        return ins[0]


@register
class Hardtanh(_Bounded, _InPlace):
    """x clamped to [min_val, max_val], emitted as F.hardtanh."""

    name = "hardtanh"
    fn = "F.hardtanh"
    options = {"min_val": -1.0, "max_val": 1.0}
    real_options = frozenset(options)
    bounds = ("min_val", "max_val")
    summary = "x clamped to [min_val, max_val] (default [-1, 1])"
    example = "h = hardtanh(x, min_val = 0.0, max_val = 6.0)"


@register
class Clamp(_Bounded):
    """x clamped to [min, max]; either bound may be left out (unbounded on that side)."""

    name = "clamp"
    fn = "torch.clamp"
    options = {"min": -math.inf, "max": math.inf}
    real_options = frozenset(options)
    bounds = ("min", "max")
    summary = "x clamped to [min, max]; a bound left out is unbounded"
    example = "h = clamp(x, min = 1e-6)"

    def emit(self, node, e):
        kw = node.attrs["kw"]
        given = "".join(f", {k}={e.value(kw[k])}" for k in self.bounds if kw[k] != self.options[k])
        return f"torch.clamp({e.arg(0)}{given})"


@register
class Pow(_Unary):
    """`x ** p` with a static exponent (a tensor exponent is refused: E326)."""

    name = "pow"
    fn = "torch.pow"
    options = {"exponent": None}
    real_options = frozenset({"exponent"})
    summary = "x ** p for a static exponent p (written `x ** 2` or `pow(x, exponent = 0.5)`)"
    example = "h = x ** 2"

    def emit(self, node, e):
        p = e.value(node.attrs["kw"]["exponent"])
        return f"{e.arg(0)} ** {p if p.replace('.', '').isalnum() else f'({p})'}"

    def label(self, node):
        return f"^{show(node.attrs['kw']['exponent'])}"


class _Choice(Op):
    """Operands combined by axis name, like `+`: missing axes broadcast."""

    symmetry_doc = ("every factor all operands share (pointwise)",
                    "an operand that has the acted axis but does not move along it")

    def symmetry(self, node, rule):
        return rule.align()

    def infer(self, node, ins, ctx):
        out = ins[0]
        for t in ins[1:]:
            out = align(out, t, node.span, ctx)
        return TensorType(out.axes, out.batch, "float")

    def emit(self, node, e):
        return f"{self.fn}({', '.join(e.broadcast(i) for i in range(len(e.ins)))})"


@register
class Minimum(_Choice):
    name = "minimum"
    fn = "torch.minimum"
    arity = 2
    summary = "the smaller of two tensors at each position (matched by axis name)"
    example = "h = minimum(a, b)"


@register
class Maximum(_Choice):
    name = "maximum"
    fn = "torch.maximum"
    arity = 2
    summary = "the larger of two tensors at each position (matched by axis name)"
    example = "h = maximum(a, b)"


@register
class Where(_Choice):
    """`where(mask, a, b)`: a where the bool mask is true, else b."""

    name = "where"
    fn = "torch.where"
    arity = 3
    dtypes = frozenset({"float", "bool"})
    summary = "a where the bool `mask` holds, b elsewhere (matched by axis name)"
    example = "h = where(mask, a, b)"

    def check_dtypes(self, node, ins):
        if ins[0].dtype != "bool":
            raise ShapeError(f"the mask of `where` is a bool tensor, not {ins[0].dtype}", node.span,
                             code="E304", help="declare the mask input `bool`")
        for t in ins[1:]:
            if t.dtype != "float":
                raise ShapeError(f"`where` chooses between float tensors, not {t.dtype}", node.span,
                                 code="E304")
