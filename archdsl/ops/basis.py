"""Basis expansions: an element becomes a vector of basis-function values along a new axis
(Kolmogorov-Arnold networks learn a weight per edge and basis function)."""

from __future__ import annotations

from ..errors import ArchError, ShapeError
from ..sizes import Size
from ..types import Axis
from .base import Op, fresh_axes, register


@register
class BSpline(Op):
    """B-spline basis expansion (Liu et al., "KAN: Kolmogorov-Arnold Networks", and the
    efficient-KAN implementation): element x -> [B_0(x), ..., B_{grid+order-1}(x)]."""

    name = "bspline"
    spec = "axes"
    options = {"grid": 5, "order": 3, "lo": -1.0, "hi": 1.0}
    summary = ("B-spline basis values of every element along a new axis B (size grid + order), on a "
               "uniform grid of `grid` intervals over [lo, hi]")
    example = "b = bspline[B](x, grid = 5, order = 3)"
    helpers = ("_bspline_basis",)
    symmetry_doc = ("everything (a function of each element; the basis axis B is new)", "—")

    def symmetry(self, node, rule):
        return rule.keep()

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = node.attrs["axes"]
        if len(axes) != 1:
            raise ArchError("`bspline` adds one axis, the basis", node.span, code="E204",
                            help=f"for example `{self.example}`")
        fresh_axes(x, axes, node.span, self.name)
        kw = node.attrs["kw"]
        for key, least in (("grid", 1), ("order", 0)):
            if not isinstance(kw[key], Size) or (kw[key].is_const and kw[key].const < least):
                raise ShapeError(f"`bspline` needs a whole-number {key} >= {least}, not {kw[key]}",
                                 node.span, code="E306")
        if isinstance(kw["lo"], float) and isinstance(kw["hi"], float) and not kw["lo"] < kw["hi"]:
            raise ShapeError(f"`bspline` needs lo < hi, not [{kw['lo']}, {kw['hi']}]", node.span, code="E306")
        if not kw["grid"].is_const:  # a grid bound at a call (`G = 0`) divides by zero
            ctx.at_least(kw["grid"], Size.of(1), node.span, "bspline: at least one grid interval")
        size = kw["grid"] + kw["order"]
        declared = ctx.maybe_size(axes[0])
        if declared is not None:
            ctx.equal(declared, size, node.span, f"{axes[0]} = grid + order basis functions")
        return x.replace([*x.axes, Axis(axes[0], size)])

    def emit(self, node, e):
        kw = node.attrs["kw"]
        args = ", ".join(e.value(kw[k]) for k in ("grid", "order", "lo", "hi"))
        return f"{e.helper('_bspline_basis')}({e.arg(0)}, {args})"
