"""Reductions over named axes: sum, mean, max."""

from __future__ import annotations

from .base import Op, need_axes, register, without


class _Reduce(Op):
    spec = "axes"
    symmetry_doc = ("makes the output invariant under every permutation of the reduced axes "
                    "(perm, shift, flip; rot90 when both axes are reduced)",
                    "a factor coupling a reduced axis with a kept one")

    def symmetry(self, node, rule):
        return rule.reduce(node.attrs["axes"])

    def infer(self, node, ins, ctx):
        need_axes(ins[0], node.attrs["axes"], node.span, self.name)
        return ins[0].replace(without(ins[0], node.attrs["axes"]))

    def emit(self, node, e):
        dims = [e.ins[0].dim(n) for n in node.attrs["axes"]]
        dim = str(dims[0]) if len(dims) == 1 else f"({', '.join(map(str, dims))})"
        return f"{e.arg(0)}.{self.method}(dim={dim})"


@register
class Sum(_Reduce):
    name = "sum"
    dtypes = frozenset({"float", "int"})
    method = "sum"
    summary = "sum over the named axes (they disappear from the type)"
    example = "s = sum[N](h)"


@register
class Mean(_Reduce):
    name = "mean"
    method = "mean"
    summary = "mean over the named axes"
    example = "g = mean[Y X](h)"


@register
class Max(_Reduce):
    name = "max"
    dtypes = frozenset({"float", "int"})
    method = "amax"
    summary = "maximum over the named axes"
    example = "g = max[N](h)"
