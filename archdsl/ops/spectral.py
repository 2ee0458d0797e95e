"""Learned filters in the frequency domain, fused with their Fourier transforms: GFNet's global
filter and FNO's spectral convolution. Complex weights are stored as real tensors with a last
axis of 2 (real, imaginary), as GFNet stores its `complex_weight`; the generated code views them
as complex (`torch.view_as_complex`). Both use the real FFT of the named axes (the last one
keeps n // 2 + 1 frequencies) and its inverse back to the same lengths.

A pointwise product in the frequency domain is a circular convolution in space, so both commute
exactly with cyclic shifts of their axes (a shift is a phase); they mix channels or weight each
channel and position with learned numbers, so they break every other action on those axes."""

from __future__ import annotations

from ..errors import ArchError
from ..sizes import Size
from ..types import Axis
from .base import Op, flat, fresh_axes, need_axes, prod, register, without


def _half(n: Size) -> Size:
    """Frequencies the real FFT keeps of an axis of length n."""
    return n.floordiv(2) + 1


class _Spectral(Op):
    learned = True
    spec = "map"
    symmetry_doc = ("shift of its axes, exactly (a shift is a phase in the frequency domain); "
                    "everything on the axes it broadcasts over",
                    "flip, rot90 and perm of its axes; any action on the channel axis")

    def symmetry(self, node, rule):
        over, channels = node.attrs["over"], (node.attrs["cin"],)
        kept = []
        for f in rule.states[0].factors:
            if set(f.axes) & set(channels):
                return rule.broken(f"`{self.name}` weights each channel of {channels[0]} with learned "
                                   f"numbers, which does not commute with {f.describe()}")
            if set(f.axes) & set(over) and not (f.kind == "shift" and set(f.axes) <= set(over)):
                return rule.broken(f"`{self.name}` filters {' '.join(over)} with a learned spectrum, "
                                   f"which commutes with cyclic shifts only, not with {f.describe()}")
            kept.append(f)
        return rule.state(kept)

    def _axes(self, clauses, span, mapped: bool):
        c = clauses[0]
        if (len(clauses) != 1 or not c.over or not 1 <= len(flat(c.over)) <= 3 or len(flat(c.lhs)) != 1
                or bool(c.rhs) != mapped or (mapped and len(flat(c.rhs)) != 1)):
            raise ArchError(f"`{self.name}` takes `{self.example.split('[')[1].split(']')[0]}` "
                            "(1 to 3 axes after `over`)", span, code="E204", help=f"for example `{self.example}`")
        return {"cin": flat(c.lhs)[0], "cout": flat(c.rhs)[0] if mapped else flat(c.lhs)[0],
                "over": flat(c.over)}

    def _static(self, node, x, ctx, names):
        for n in names:
            ctx.static(x.size(n), node.span, f"the size of {n} in {self.name} (its weight has that shape)")


@register
class GlobalFilter(_Spectral):
    """GFNet: y = irfft(rfft(x) * W) over the `over` axes, a learned complex W per channel and
    frequency (a circular convolution with a kernel as large as the input, in O(n log n))."""

    name = "GlobalFilter"
    summary = "GFNet's global filter: real FFT over the named axes, times a learned complex spectrum per channel, inverse FFT"
    example = "h = GlobalFilter[C over Y X](x)"

    def configure_map(self, clauses, span):
        return self._axes(clauses, span, mapped=False)

    def infer(self, node, ins, ctx):
        (x,) = ins
        c, over = node.attrs["cin"], node.attrs["over"]
        need_axes(x, (c, *over), node.span, self.name)
        self._static(node, x, ctx, (c, *over))  # the weight has a frequency per position
        return x.replace(without(x, (c, *over)) + [x.axis(n) for n in over] + [x.axis(c)])  # as emitted

    def parameters(self, node, ins, out):
        x, over = ins[0], node.attrs["over"]
        grid = tuple(x.size(n) for n in over[:-1]) + (_half(x.size(over[-1])),)
        return {"": grid + (x.size(node.attrs["cin"]), Size.of(2))}

    def emit(self, node, e):
        c, over = node.attrs["cin"], node.attrs["over"]
        x = e.arg(0, [a.name for a in without(e.ins[0], (c, *over))] + list(over) + [c])
        shape = ", ".join(e.isize(s) for s in self.parameters(node, e.ins, e.out)[""])
        w = e.parameter(f"nn.Parameter(torch.randn({shape}) * 0.02)")
        dims = tuple(range(-len(over) - 1, -1))
        lengths = ", ".join(e.size(e.ins[0].size(n)) for n in over)
        return (f"torch.fft.irfftn(torch.fft.rfftn({x}, dim={dims}) * torch.view_as_complex({w}), "
                f"s=({lengths},), dim={dims})")

    def label(self, node):
        return f"GlobalFilter {node.attrs['cin']} over {' '.join(node.attrs['over'])} (FFT)"


@register
class SpectralConv(_Spectral):
    """FNO: the lowest `modes` frequencies of each axis, mixed from C to F channels by learned
    complex matrices (one per corner of the kept box: both signs on all but the last axis)."""

    name = "SpectralConv"
    options = {"modes": None}
    helpers = ("_spectral_conv",)
    summary = ("FNO's spectral convolution: real FFT over the named axes, the lowest `modes` frequencies "
               "mixed C -> F by learned complex weights, the rest zero, inverse FFT")
    example = "h = SpectralConv[C -> F over Y X](x, modes = 12)"

    def configure_map(self, clauses, span):
        return self._axes(clauses, span, mapped=True)

    def infer(self, node, ins, ctx):
        (x,) = ins
        c, f, over = node.attrs["cin"], node.attrs["cout"], node.attrs["over"]
        need_axes(x, (c, *over), node.span, self.name)
        if f != c:
            fresh_axes(x, (f,), node.span, self.name)
        self._static(node, x, ctx, (c,))  # the grid may have any size: the weight holds `modes` per axis
        m = node.attrs["kw"]["modes"]
        ctx.static(m, node.span, f"`modes` of {self.name}")
        ctx.at_least(m, Size.of(1), node.span, f"{self.name}: modes at least 1")
        for n in over[:-1]:  # the two corners along this axis must not overlap
            ctx.at_least(x.size(n), 2 * m, node.span, f"{self.name}: {n} at least 2 modes")
        ctx.at_least(_half(x.size(over[-1])), m, node.span, f"{self.name}: {over[-1]} // 2 + 1 at least modes")
        size = x.size(c) if f == c else ctx.axis_size(f, node.span)
        ctx.static(size, node.span, f"the output channels of {self.name}")
        return x.replace(without(x, (c, *over)) + [Axis(f, size)] + [x.axis(n) for n in over])

    def parameters(self, node, ins, out):
        m, over = node.attrs["kw"]["modes"], node.attrs["over"]
        corners = Size.of(2 ** (len(over) - 1))
        return {"": (corners, ins[0].size(node.attrs["cin"]), out.size(node.attrs["cout"]))
                + (m,) * len(over) + (Size.of(2),)}

    def flops(self, node, ins, out):
        """The channel mixing as FlopCounterMode counts it: one complex matrix product per kept
        frequency, counted as the real one (2 C F per frequency); the FFTs count nothing."""
        w = self.parameters(node, ins, out)[""]
        rest = without(ins[0], (node.attrs["cin"], *node.attrs["over"]))
        return 2 * prod(w[:-1]) * prod(a.size for a in rest)

    def emit(self, node, e):
        c, over = node.attrs["cin"], node.attrs["over"]
        x = e.arg(0, [a.name for a in without(e.ins[0], (c, *over))] + [c] + list(over))
        shape = ", ".join(e.isize(s) for s in self.parameters(node, e.ins, e.out)[""])
        cin, cout = e.ins[0].size(c), e.out.size(node.attrs["cout"])
        scale = f"1 / ({e.isize(cin)} * {e.isize(cout)})"
        w = e.parameter(f"nn.Parameter(torch.rand({shape}) * {scale})")
        return f"{e.helper('_spectral_conv')}({x}, torch.view_as_complex({w}), {e.value(node.attrs['kw']['modes'])})"

    def label(self, node):
        a = node.attrs
        return f"SpectralConv {a['cin']}→{a['cout']} over {' '.join(a['over'])}, {a['kw']['modes']} modes (FFT)"
