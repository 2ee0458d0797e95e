"""Anti-aliased downsampling (Zhang, "Making Convolutional Networks Shift-Invariant Again"):
a binomial low-pass filter, then subsampling. The filter is (k - 1) box filters of width 2,
so the generated code needs no weights: `avg_pool(·, 2, 1)` applied k - 1 times."""

from __future__ import annotations

from ..errors import ArchError
from ..sizes import Size
from ..types import Axis
from .base import Op, at_least, need_axes, padding_fits, register, without


@register
class BlurPool(Op):
    name = "blurpool"
    spec = "axes"
    options = {"stride": 2, "kernel": 3, "mode": "reflect"}
    enums = {"mode": ("reflect", "circular", "zeros")}
    summary = ("anti-aliased downsampling: binomial blur of odd width `kernel`, then keep every "
               "`stride`-th position (`mode` = reflect | circular | zeros padding)")
    example = "h = blurpool[Y X](h, stride = 2, mode = circular)"
    symmetry_doc = ("shifts by multiples of the stride exactly (circular padding; else up to boundary "
                    "effects), other shifts approximately (the blur suppresses aliasing); flip and "
                    "rot90 at stride 1", "other permutations of its axes")

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes, kw = node.attrs["axes"], node.attrs["kw"]
        if len(axes) not in (1, 2):
            raise ArchError("`blurpool` works over one or two axes", node.span, code="E204")
        k = kw["kernel"]
        if not (isinstance(k, Size) and k.is_const and k.const % 2 == 1 and 1 <= k.const <= 9):
            raise ArchError("`kernel` of `blurpool` is an odd number from 1 to 9", node.span, code="E204")
        need_axes(x, axes, node.span, self.name)
        at_least(ctx, node, self.name, {"stride": 1})
        padding_fits(ctx, node, x, kw["mode"], (k - 1).floordiv(Size.of(2)), axes, self.name)
        s = kw["stride"]  # layout as emitted: the pooled axes last
        return x.replace(without(x, axes) + [Axis(n, (x.size(n) + s - 1).floordiv(s)) for n in axes])

    def symmetry(self, node, rule):
        kw = node.attrs["kw"]
        mode = "zeros" if kw["mode"] == "zeros" else kw["mode"]
        return rule.grid(node.attrs["axes"], kw["kernel"], kw["stride"], (kw["kernel"] - 1) / 2, 1,
                         mode, what="blurpool", aliasing="approximate", symmetric=True)

    def emit(self, node, e):
        axes, kw = node.attrs["axes"], node.attrs["kw"]
        n, k = len(axes), int(kw["kernel"].const)
        p = (k - 1) // 2
        x = e.arg(0, [a.name for a in without(e.ins[0], axes)] + list(axes))
        mode = "constant" if kw["mode"] == "zeros" else kw["mode"]
        y = f"F.pad({{}}, ({', '.join([str(p)] * (2 * n))}), mode={mode!r})" if p else "{}"
        for _ in range(k - 1):
            y = f"F.avg_pool{n}d({y}, 2, 1)"
        s = e.value(kw["stride"])
        y += "[" + ", ".join(["..."] + [f"::{s}"] * n) + "]"
        return e.batched(y, x, e.ins[0], axes, 1)
