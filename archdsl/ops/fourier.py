"""The bare Fourier transforms and what working in the frequency domain needs: `fft`/`ifft`
and `rfft`/`irfft` over named axes, keeping or zero-filling the lowest modes of an axis, and
the real and imaginary parts of a complex tensor.

Representation: a spectrum is a tensor of element type `complex` (torch's complex64/128), so
`*`, `dot` and learned complex weights (`Param[...](dtype = complex)`) work on it natively.
`rfft[Y, X -> F]` transforms every named axis, the last one to its n // 2 + 1 non-negative
frequencies under a new name (its size is exact: `X // 2 + 1`); `irfft[Y, F -> X](z, n = X)`
inverts it to the stated length. A complex tensor cannot leave a block (E382): take `real`,
`imag`, `abs` or an inverse transform first.

FLOPs: FlopCounterMode has no formula for torch's FFT kernels and counts 0 for them, and so do
these ops (`archc stats` agrees with the counter; the O(n log n) work is not in the total).

Symmetry: a cyclic shift of an axis is a phase in the frequency domain (`phase` factors,
archdsl/ops/phase.py): the forward transforms turn a shift into a phase, per-frequency
products and mode truncation keep it, the inverse transforms turn it back into the shift."""

from __future__ import annotations

from ..errors import ArchError
from ..sizes import Size
from ..types import Axis
from . import phase
from .base import Op, flat, fresh_axes, need_axes, register
from .elementwise import _Unary, align

_COMPLEX = frozenset({"complex"})
_ANY_NUMBER = frozenset({"float", "complex"})


def half(n: Size) -> Size:
    """Frequencies the real FFT keeps of an axis of length n."""
    return n.floordiv(2) + 1


def _dims(e, axes) -> tuple[int, ...]:
    """Negative dimension indices of `axes` in the output layout (batch dims lead)."""
    names = list(e.out.names)
    return tuple(names.index(a) - len(names) for a in axes)


class _Transform(Op):
    """fft/ifft: complex transforms over the named axes, in place (sizes unchanged)."""

    spec = "axes"
    dtypes = _ANY_NUMBER
    inverse = False

    def infer(self, node, ins, ctx):
        (x,) = ins
        need_axes(x, node.attrs["axes"], node.span, self.name)
        return x.replace(x.axes, dtype="complex")

    def symmetry(self, node, rule):
        axes = tuple(node.attrs["axes"])
        if self.inverse:
            return phase.inverse(rule, {a: a for a in axes}, None, {})
        return phase.forward(rule, {a: a for a in axes}, None)

    def emit(self, node, e):
        return f"torch.fft.{self.name}n({e.arg(0)}, dim={_dims(e, node.attrs['axes'])})"

    def label(self, node):
        return f"{self.name} {' '.join(node.attrs['axes'])}"


@register
class Fft(_Transform):
    name = "fft"
    summary = "discrete Fourier transform over the named axes (complex result, sizes unchanged)"
    example = "z = fft[Y X](x)"
    symmetry_doc = ("a shift of a transformed axis becomes a phase (kept by per-frequency products, "
                    "undone by `ifft`); everything on the other axes", "flip, perm and rot90 of a transformed axis")


@register
class Ifft(_Transform):
    name = "ifft"
    inverse = True
    dtypes = _COMPLEX
    summary = "inverse discrete Fourier transform over the named axes (complex result)"
    example = "x = ifft[Y X](z)"
    symmetry_doc = ("the phase `fft` made of a shift becomes the shift again", "any other motion of "
                    "a transformed axis")


def _real_spec(op: Op, clauses, span):
    """`[Y, X -> F]`: axes transformed in place, then the last axis renamed (its size changes)."""
    *full, last = clauses
    if any(c.rhs or c.over for c in full) or not last.rhs or last.over \
            or len(flat(last.lhs)) != 1 or len(flat(last.rhs)) != 1:
        raise ArchError(f"`{op.name}` takes the axes it transforms, the last one renamed", span,
                        code="E204", help=f"for example `{op.example}`")
    return {"axes": tuple(n for c in full for n in flat(c.lhs)), "inp": flat(last.lhs)[0],
            "out": flat(last.rhs)[0]}


@register
class Rfft(Op):
    name = "rfft"
    spec = "map"
    summary = ("real FFT: `rfft[Y, X -> F](x)` transforms Y and X; X becomes F, its X // 2 + 1 "
               "non-negative frequencies (complex result)")
    example = "z = rfft[Y, X -> F](x)"
    symmetry_doc = Fft.symmetry_doc

    def configure_map(self, clauses, span):
        return _real_spec(self, clauses, span)

    def infer(self, node, ins, ctx):
        (x,) = ins
        a = node.attrs
        need_axes(x, (*a["axes"], a["inp"]), node.span, self.name)
        fresh_axes(x, (a["out"],), node.span, self.name)
        axes = [Axis(a["out"], half(x.size(a["inp"]))) if ax.name == a["inp"] else ax for ax in x.axes]
        return x.replace(axes, dtype="complex")

    def symmetry(self, node, rule):
        a = node.attrs
        return phase.forward(rule, {n: n for n in a["axes"]}, (a["inp"], a["out"]))

    def emit(self, node, e):
        a = node.attrs
        return f"torch.fft.rfftn({e.arg(0)}, dim={_dims(e, (*a['axes'], a['out']))})"

    def label(self, node):
        a = node.attrs
        return f"rfft {' '.join(a['axes'] + (a['inp'],))} → {a['out']}"


@register
class Irfft(Op):
    name = "irfft"
    spec = "map"
    dtypes = _COMPLEX
    options = {"n": None}
    summary = ("inverse real FFT: `irfft[Y, F -> X](z, n = X)` inverts Y and turns the n // 2 + 1 "
               "frequencies of F into X of length n (real result)")
    example = "x = irfft[Y, F -> X](z, n = X)"
    symmetry_doc = Ifft.symmetry_doc

    def configure_map(self, clauses, span):
        return _real_spec(self, clauses, span)

    def infer(self, node, ins, ctx):
        (z,) = ins
        a, n = node.attrs, node.attrs["kw"]["n"]
        need_axes(z, (*a["axes"], a["inp"]), node.span, self.name)
        if a["out"] != a["inp"]:
            fresh_axes(z, (a["out"],), node.span, self.name)
        ctx.at_least(n, Size.of(1), node.span, f"{self.name}: n at least 1")
        ctx.equal(z.size(a["inp"]), half(n), node.span, f"{self.name}: {a['inp']} holds n // 2 + 1 frequencies")
        axes = [Axis(a["out"], n) if ax.name == a["inp"] else ax for ax in z.axes]
        return z.replace(axes, dtype="float")

    def symmetry(self, node, rule):
        a = node.attrs
        return phase.inverse(rule, {n: n for n in a["axes"]}, (a["inp"], a["out"]),
                             {a["out"]: rule.size(a["kw"]["n"])})

    def emit(self, node, e):
        a = node.attrs
        dims = (*a["axes"], a["out"])
        lengths = ", ".join(e.size(e.out.size(n)) for n in dims)
        return f"torch.fft.irfftn({e.arg(0)}, s=({lengths},), dim={_dims(e, dims)})"

    def label(self, node):
        a = node.attrs
        return f"irfft {' '.join(a['axes'] + (a['inp'],))} → {a['out']}"


def _signed(op: Op, node) -> bool:
    value = node.attrs["kw"]["signed"]
    if not isinstance(value, bool):
        raise ArchError(f"`signed` of `{op.name}` must be true or false when the spec is checked",
                        node.span, code="E383", help="write `signed = true` or leave it out")
    return value


def _one_map(op: Op, clauses, span):
    if len(clauses) != 1 or len(flat(clauses[0].lhs)) != 1 or not clauses[0].rhs \
            or len(flat(clauses[0].rhs)) != 1 or clauses[0].over:
        raise ArchError(f"`{op.name}` maps one axis to another", span, code="E204",
                        help=f"for example `{op.example}`")
    return {"inp": flat(clauses[0].lhs)[0], "out": flat(clauses[0].rhs)[0]}


@register
class Lowmodes(Op):
    """Mode truncation: the lowest `modes` frequencies of an axis; `signed = true` for an axis
    in FFT order (frequencies 0, 1, ..., -2, -1) keeps both signs, 2 modes entries in all
    (0 .. modes - 1, then -modes .. -1), as FNO keeps its two corners."""

    name = "lowmodes"
    spec = "map"
    dtypes = _ANY_NUMBER
    options = {"modes": None, "signed": False}
    summary = ("the lowest `modes` frequencies of an axis, under a new name; `signed = true` keeps "
               "both signs of an FFT-ordered axis (2 modes entries)")
    example = "k = lowmodes[F -> K](z, modes = 12)"
    symmetry_doc = ("a phase (a shifted input): each kept frequency keeps its own", "shifts of the "
                    "truncated axis itself; any other motion of it")

    def configure_map(self, clauses, span):
        return _one_map(self, clauses, span)

    def infer(self, node, ins, ctx):
        (z,) = ins
        a, m = node.attrs, node.attrs["kw"]["modes"]
        need_axes(z, (a["inp"],), node.span, self.name)
        fresh_axes(z, (a["out"],), node.span, self.name)
        ctx.static(m, node.span, f"`modes` of {self.name}")
        ctx.at_least(m, Size.of(1), node.span, f"{self.name}: modes at least 1")
        kept = 2 * m if _signed(self, node) else m
        ctx.at_least(z.size(a["inp"]), kept, node.span, f"{self.name}: {a['inp']} holds the kept modes")
        return z.replace([Axis(a["out"], kept) if ax.name == a["inp"] else ax for ax in z.axes])

    def symmetry(self, node, rule):
        a = node.attrs
        return phase.truncate(rule, a["inp"], a["out"], rule.size(a["kw"]["modes"]), _signed(self, node))

    def emit(self, node, e):
        (d,) = _dims(e, (node.attrs["out"],))
        m = e.size(node.attrs["kw"]["modes"])
        x = e.arg(0)
        if not _signed(self, node):
            return f"{x}.narrow({d}, 0, {m})"
        return f"torch.cat([{x}.narrow({d}, 0, {m}), {x}.narrow({d}, {x}.shape[{d}] - {m}, {m})], dim={d})"

    def label(self, node):
        a = node.attrs
        return f"lowmodes {a['inp']} → {a['out']} ({a['kw']['modes']}{', ±' if a['kw']['signed'] is True else ''})"


@register
class Fillmodes(Op):
    """The inverse of `lowmodes`: the kept modes back in place on an axis of `n` frequencies,
    zeros elsewhere (ready for the inverse transform)."""

    name = "fillmodes"
    spec = "map"
    dtypes = _ANY_NUMBER
    options = {"n": None, "signed": False}
    helpers = ("_fill_modes",)
    summary = ("the inverse of `lowmodes`: the modes back in place on an axis of `n` frequencies, "
               "zeros elsewhere (`signed = true`: both signs, FFT order)")
    example = "z = fillmodes[K -> F](k, n = X // 2 + 1)"
    symmetry_doc = Lowmodes.symmetry_doc

    def configure_map(self, clauses, span):
        return _one_map(self, clauses, span)

    def infer(self, node, ins, ctx):
        (z,) = ins
        a, n = node.attrs, node.attrs["kw"]["n"]
        need_axes(z, (a["inp"],), node.span, self.name)
        fresh_axes(z, (a["out"],), node.span, self.name)
        ctx.at_least(n, z.size(a["inp"]), node.span, f"{self.name}: n at least the modes of {a['inp']}")
        if _signed(self, node):
            ctx.integral(z.size(a["inp"]) / 2, node.span, f"{self.name}: {a['inp']} holds both signs")
        return z.replace([Axis(a["out"], n) if ax.name == a["inp"] else ax for ax in z.axes])

    def symmetry(self, node, rule):
        a = node.attrs
        return phase.fill(rule, a["inp"], a["out"], rule.size(a["kw"]["n"]), _signed(self, node))

    def emit(self, node, e):
        (d,) = _dims(e, (node.attrs["out"],))
        signed = _signed(self, node)
        return f"{e.helper('_fill_modes')}({e.arg(0)}, {d}, {e.size(node.attrs['kw']['n'])}, {signed})"

    def label(self, node):
        a = node.attrs
        return f"fillmodes {a['inp']} → {a['out']}{' (±)' if a['kw']['signed'] is True else ''}"


class _Part(_Unary):
    """The real or imaginary part of a complex tensor (a float tensor)."""

    dtypes = _COMPLEX
    symmetry_doc = ("everything but a phase", "a phase (a shifted input seen in the frequency domain)")

    def infer(self, node, ins, ctx):
        return ins[0].replace(ins[0].axes, dtype="float")

    def symmetry(self, node, rule):
        return phase.part(rule, self.name)

    def emit(self, node, e):
        return f"{e.arg(0)}.{self.name}"


@register
class Real(_Part):
    name = "real"
    summary = "the real part of a complex tensor"
    example = "r = real(z)"


@register
class Imag(_Part):
    name = "imag"
    summary = "the imaginary part of a complex tensor"
    example = "i = imag(z)"


@register
class Complex(Op):
    """re + i im from two float tensors matched by axis name (AFNO's complex MLP builds its
    spectra from real arithmetic on the parts)."""

    name = "complex"
    arity = 2
    summary = "the complex tensor re + i im of two float tensors (matched by axis name, broadcast)"
    example = "z = complex(re, im)"
    symmetry_doc = ("every factor both parts share", "parts moved differently")

    def infer(self, node, ins, ctx):
        t = align(ins[0], ins[1], node.span, ctx)
        return t.replace(t.axes, dtype="complex")

    def symmetry(self, node, rule):
        return rule.align()

    def emit(self, node, e):
        return f"torch.complex({e.broadcast(0)}, {e.broadcast(1)})"


class Magnitude(_Unary):
    """`abs`: of a float tensor pointwise, of a complex one its magnitude (a float tensor),
    which forgets a phase: `abs(fft[T](x))` is invariant under shifts of T."""

    dtypes = _ANY_NUMBER
    symmetry_doc = ("everything (pointwise); of a complex tensor, a phase too (it becomes invariance)", "—")

    def infer(self, node, ins, ctx):
        return ins[0].replace(ins[0].axes, dtype="float")

    def symmetry(self, node, rule):
        return phase.magnitude(rule)

