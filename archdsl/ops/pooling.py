"""Adaptive pooling: `adaptive_avgpool[Y X](h, size = 7)` pools every named axis to `size`
positions whatever its input length (torchvision's VGG and AlexNet heads), bin i of an axis of
length n covering positions floor(i n / size) to ceil((i + 1) n / size)."""

from __future__ import annotations

from ..errors import ArchError
from ..types import Axis
from .base import Op, at_least, need_axes, register, without


class _Adaptive(Op):
    spec = "axes"
    options = {"size": None}
    symmetry_doc = ("everything on other axes",
                    "any action on a pooled axis (bins of unequal width do not commute with "
                    "shifts; use `mean` for a global average)")

    def symmetry(self, node, rule):
        why = f"`{self.name}` resamples {' '.join(node.attrs['axes'])} into fixed bins"
        return rule.mix(node.attrs["axes"], why, certain=False) or rule.keep()

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = node.attrs["axes"]
        need_axes(x, axes, node.span, self.name)
        if not 1 <= len(axes) <= 3:
            raise ArchError(f"`{self.name}` pools over 1 to 3 axes", node.span, code="E204")
        at_least(ctx, node, self.name, {"size": 1})
        size = node.attrs["kw"]["size"]  # bins are never empty: a shorter axis repeats positions
        return x.replace(without(x, axes) + [Axis(n, size) for n in axes])  # as emitted: pooled axes last

    def emit(self, node, e):
        axes = node.attrs["axes"]
        x = e.arg(0, [a.name for a in without(e.ins[0], axes)] + list(axes))
        fn = f"F.{self.fn}{len(axes)}d({{}}, {e.value(node.attrs['kw']['size'])})"
        return e.batched(fn, x, e.ins[0], axes, 1)

    def label(self, node):
        return f"{self.name} {' '.join(node.attrs['axes'])} → {node.attrs['kw']['size']}"


@register
class AdaptiveAvgPool(_Adaptive):
    name = "adaptive_avgpool"
    fn = "adaptive_avg_pool"
    summary = "average pooling of each named axis to `size` positions, whatever its length"
    example = "h = adaptive_avgpool[Y X](h, size = 7)"


@register
class AdaptiveMaxPool(_Adaptive):
    name = "adaptive_maxpool"
    fn = "adaptive_max_pool"
    summary = "max pooling of each named axis to `size` positions, whatever its length"
    example = "h = adaptive_maxpool[Y X](h, size = 1)"
