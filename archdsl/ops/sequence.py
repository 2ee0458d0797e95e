"""Operations along a sequence axis for long-convolution models (Hyena): the causal long
convolution (direct, or FFT above a kernel-length threshold), positional features,
evenly spaced values along an axis, and slicing."""

from __future__ import annotations

from ..errors import ArchError, ShapeError
from ..sizes import Size
from ..types import Axis, TensorType
from .base import Op, flat, need_axes, numel, register


@register
class LongConv(Op):
    """Causal convolution of every channel with its own filter as long as the sequence. The
    fusion pass marks it `fft` when the filter can reach `fft_threshold` taps; it then runs
    through the FFT (O(L log L)) instead of the direct O(L K) convolution. `mode = circular`
    is the non-causal, periodic convolution over one to three axes with a filter as large as
    the input (y = ifft(fft(u) fft(h))), always through the FFT."""

    name = "longconv"
    arity = 2
    spec = "axes"
    options = {"fft_threshold": 64, "mode": "causal"}
    enums = {"mode": ("causal", "circular")}
    summary = ("causal convolution along L of `u` with a per-channel filter `h` (h's other axes are "
               "channels of u); FFT above `fft_threshold` taps when compiled with fusion; "
               "`mode = circular`: non-causal, periodic, over 1-3 axes (`longconv[Y X]`), through the FFT")
    example = "y = longconv[L](u, h, fft_threshold = 64)"
    helpers = ("_causal_conv", "_causal_conv_fft")
    symmetry_doc = ("everything on the axes the filter does not have; `mode = circular`: cyclic "
                    "shifts of its axes, exactly",
                    "any action on L (a causal convolution sees only the past) or on a channel axis "
                    "(each channel has its own filter)")

    def symmetry(self, node, rule):
        if _circular(node):
            return _circular_symmetry(node, rule)
        (axis,) = node.attrs["axes"]
        return (rule.mix([axis], f"a causal convolution along {axis} sees only the past")
                or rule.mix(node.attrs["channels"], "each channel has its own filter")
                or rule.mix([axis, *node.attrs["channels"]], "the filter must not move", i=1)
                or rule.keep())

    def infer(self, node, ins, ctx):
        u, h = ins
        axes = self._axis(node)
        need_axes(u, axes, node.span, self.name, "signal")
        need_axes(h, axes, node.span, self.name, "filter")
        if h.batch:
            raise ShapeError("`longconv`'s filter must not have batch axes (it is one filter per channel)",
                             node.span, code="E310", help="build it from Params and positions")
        for a in h.axes:
            if a.name not in axes:
                need_axes(u, (a.name,), node.span, self.name, "signal (it needs the filter's channels)")
                ctx.equal(a.size, u.size(a.name), node.span, f"channel axis {a.name} of longconv")
        if _circular(node):  # a periodic filter spans each axis
            for a in axes:
                ctx.equal(h.size(a), u.size(a), node.span, f"circular longconv: the filter spans {a}")
        chans = [a.name for a in h.axes if a.name not in axes]
        node.attrs["channels"] = chans
        others = [a for a in u.axes if a.name not in chans and a.name not in axes]
        return u.replace(others + [u.axis(n) for n in chans] + [u.axis(a) for a in axes])

    def _axis(self, node):
        if len(node.attrs["axes"]) != 1 and not (_circular(node) and len(node.attrs["axes"]) <= 3):
            raise ArchError("`longconv` convolves along one axis (`mode = circular`: up to three)",
                            node.span, code="E204")
        return node.attrs["axes"]

    def flops(self, node, ins, out):
        if _circular(node):  # FFTs and a pointwise product: FlopCounterMode counts nothing
            return Size.of(0)
        return 2 * numel(ins[0]) * ins[1].size(node.attrs["axes"][0])

    def emit(self, node, e):
        if _circular(node):
            axes = node.attrs["axes"]
            names = list(e.out.names)
            dims = tuple(names.index(a) - len(names) for a in axes)
            lengths = ", ".join(e.size(e.out.size(a)) for a in axes)
            u = e.arg(0, [a.name for a in e.out.axes])
            return (f"torch.fft.irfftn(torch.fft.rfftn({u}, dim={dims}) * torch.fft.rfftn({e.broadcast(1)}, "
                    f"dim={dims}), s=({lengths},), dim={dims})")
        (axis,) = node.attrs["axes"]
        chans = node.attrs["channels"]
        u = e.arg(0, [a.name for a in e.out.axes])
        h = e.arg(1, chans + [axis])
        if len(chans) > 1:
            h = f"{h}.flatten(0, {len(chans) - 1})"
        elif not chans:
            h = f"{h}.unsqueeze(0)"
        taps = e.ins[1].size(axis)
        fn = self._kernel(node, e, taps)
        c = len(chans)
        if c == 1:
            template = f"{fn}({{}}, {h})"
        elif c == 0:
            template = f"{fn}({{}}.unsqueeze(1), {h}).squeeze(1)"
        else:
            sizes = ", ".join(e.size(e.out.size(n)) for n in chans)
            template = f"{fn}({{}}.flatten(1, {c}), {h}).unflatten(1, ({sizes}))"
        return e.batched(template, u, e.out, [*chans, axis], 1)

    def _kernel(self, node, e, taps: Size) -> str:
        direct = e.helper("_causal_conv")
        if not node.attrs.get("fft"):
            return direct
        fft = e.helper("_causal_conv_fft")
        if taps.is_const:
            return fft
        threshold = e.value(node.attrs["kw"]["fft_threshold"])
        return f"({fft} if {e.size(taps)} >= {threshold} else {direct})"

    def is_fused(self, node):
        return bool(node.attrs.get("fft")) or _circular(node)

    def label(self, node):
        if _circular(node):
            return f"longconv {' '.join(node.attrs['axes'])}, circular (FFT)"
        return f"longconv {node.attrs['axes'][0]}" + (" (FFT)" if node.attrs.get("fft") else "")


def _circular(node) -> bool:
    return node.attrs["kw"]["mode"] == "circular"


def _circular_symmetry(node, rule):
    """A periodic convolution with a fixed filter commutes with every cyclic shift of its axes,
    exactly; each channel has its own filter, and the filter must not move."""
    axes, chans = node.attrs["axes"], node.attrs["channels"]
    broken = (rule.mix(chans, "each channel has its own filter")
              or rule.mix([*axes, *chans], "the filter must not move", i=1))
    if broken:
        return broken
    for f in rule.states[0].touching(axes):
        if f.kind not in ("shift", "ashift") or not set(f.axes) <= set(axes):
            return rule.broken(f"a circular convolution along {' '.join(axes)} commutes with cyclic shifts "
                               f"only, not with {f.describe()}")
    return rule.keep()


def uses_fft(node, taps: Size) -> bool:
    """Whether a `longconv` with `taps`-long filters may reach its FFT threshold."""
    threshold = node.attrs["kw"]["fft_threshold"]
    if taps.is_const and isinstance(threshold, Size) and threshold.is_const:
        return taps.const >= threshold.const
    return True


@register
class FourierFeatures(Op):
    name = "fourier_features"
    spec = "map"
    options = {"bands": None}
    summary = ("Hyena's positional features of the positions along L: [L, F] with F = 2 bands + 1 "
               "(t in [0, 1], then cosines and sines); the argument only gives L's size")
    example = "z = fourier_features[L -> F](x, bands = 1)"
    helpers = ("_fourier_features",)
    symmetry_doc = ("does not move (a constant built from sizes)", "whatever it feeds along L "
                    "(positions; see `binary`)")

    def symmetry(self, node, rule):
        return rule.state(())

    def configure_map(self, clauses, span):
        c = clauses[0]
        if len(clauses) != 1 or not c.rhs or c.over or len(flat(c.lhs)) != 1 or len(flat(c.rhs)) != 1:
            raise ArchError("`fourier_features` takes `L -> F`", span, code="E204",
                            help=f"for example `{self.example}`")
        return {"axis": flat(c.lhs)[0], "out": flat(c.rhs)[0]}

    def infer(self, node, ins, ctx):
        (x,) = ins
        a = node.attrs
        need_axes(x, (a["axis"],), node.span, self.name)
        a["reads"] = x.names
        f = 2 * node.attrs["kw"]["bands"] + 1
        declared = ctx.maybe_size(a["out"])
        if declared is not None:
            ctx.equal(declared, f, node.span, f"{a['out']} = 2 bands + 1 features")
        return TensorType((x.axis(a["axis"]), Axis(a["out"], f)), batch=False)

    def acts_on(self, node):
        return set(node.attrs["reads"])  # the argument only gives L's size: nothing broadcasts

    def emit(self, node, e):
        length = e.size(e.out.size(node.attrs["axis"]))
        return f"{e.helper('_fourier_features')}({length}, {e.value(node.attrs['kw']['bands'])}, {e.arg(0)})"


@register
class Linspace(Op):
    name = "linspace"
    spec = "axes"
    options = {"start": None, "stop": None}
    real_options = frozenset({"start", "stop"})  # required, and real numbers (not sizes)
    summary = "evenly spaced values from `start` to `stop` along an axis of the argument (a constant [A])"
    example = "t = linspace[L](x, start = 0.0, stop = 1.0)"
    symmetry_doc = ("does not move (a constant built from sizes)", "whatever it is combined with "
                    "along its axis (see `binary`)")

    def symmetry(self, node, rule):
        return rule.state(())

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = node.attrs["axes"]
        if len(axes) != 1:
            raise ArchError("`linspace` runs along one axis", node.span, code="E204")
        need_axes(x, axes, node.span, self.name)
        node.attrs["reads"] = x.names
        return TensorType((x.axis(axes[0]),), batch=False)

    def acts_on(self, node):
        return set(node.attrs["reads"])  # the argument only gives A's size: nothing broadcasts

    def emit(self, node, e):
        kw = node.attrs["kw"]
        n = e.size(e.out.axes[0].size)
        return (f"torch.linspace({e.value(kw['start'])}, {e.value(kw['stop'])}, {n}, "
                f"device={e.arg(0)}.device, dtype={e.arg(0)}.dtype)")


@register
class Slice(Op):
    name = "slice"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "axes"
    options = {"start": 0, "stop": None}
    summary = "positions `start` to `stop` (exclusive) along an axis: `slice[L](c, stop = L)` keeps the first L"
    example = "y = slice[L](c, start = 0, stop = L)"
    symmetry_doc = ("everything on other axes", "any action on the sliced axis (some positions are dropped)")

    def symmetry(self, node, rule):
        return rule.mix(node.attrs["axes"], "slicing drops positions") or rule.keep()

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = node.attrs["axes"]
        if len(axes) != 1:
            raise ArchError("`slice` cuts along one axis", node.span, code="E204")
        need_axes(x, axes, node.span, self.name)
        kw, size = node.attrs["kw"], x.size(axes[0])
        start, stop = kw["start"], kw["stop"]
        if not all(isinstance(v, Size) and v.is_integral for v in (start, stop)):
            raise ShapeError("`slice` takes whole-number sizes", node.span, code="E306")
        ctx.at_least(start, Size.of(0), node.span, "slice: start at least 0")
        ctx.at_least(stop, start, node.span, "slice: start at most stop")
        ctx.at_least(size, stop, node.span, f"slice: stop within {axes[0]}")
        return x.replace([Axis(a.name, stop - start) if a.name == axes[0] else a for a in x.axes])

    def emit(self, node, e):
        kw = node.attrs["kw"]
        dim = e.ins[0].dim(node.attrs["axes"][0])
        return f"{e.arg(0)}.narrow({dim}, {e.value(kw['start'])}, {e.size(kw['stop'] - kw['start'])})"
