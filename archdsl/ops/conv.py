"""Operations over spatial axes: Conv, ConvTranspose, pooling, upsampling, pixel shuffle."""

from __future__ import annotations

from ..errors import ArchError
from ..sizes import Size
from ..types import Axis
from . import inits
from .base import Op, at_least, flat, fresh_axes, need_axes, padding_fits, prod, register, without

_MODES = ("zeros", "circular", "reflect", "replicate")


def _conv_out(size: Size, k: Size, s: Size, p: Size, d: Size) -> Size:
    """PyTorch's convolution output size: floor((n + 2p - d (k - 1) - 1) / s) + 1."""
    return (size + 2 * p - d * (k - 1) - 1).floordiv(s) + 1


def _output_padding(ctx, node, kw) -> None:
    """PyTorch: `output_padding` smaller than the stride or the dilation; where they are size
    parameters, smaller than the stride (sufficient)."""
    extra, s, d = kw["output_padding"], kw["stride"], kw["dilation"]
    if extra == 0 or (all(v.is_const for v in (extra, s, d)) and extra.const < max(s.const, d.const)):
        return
    ctx.at_least(s, extra + 1, node.span, "ConvTranspose: output_padding smaller than the stride")


class _Spatial(Op):
    """Shared spec parsing: `C -> F over Y X` (channel map over 1-3 spatial axes)."""

    spec = "map"

    def configure_map(self, clauses, span):
        c = clauses[0]
        if (len(clauses) != 1 or not c.rhs or not c.over or len(flat(c.lhs)) != 1
                or len(flat(c.rhs)) != 1 or not 1 <= len(flat(c.over)) <= 3):
            raise ArchError(f"`{self.name}` takes `C -> F over Y X` (1 to 3 spatial axes)", span,
                            code="E204", help=f"for example `{self.example}`")
        return {"cin": flat(c.lhs)[0], "cout": flat(c.rhs)[0], "over": flat(c.over)}

    def _check(self, node, x, ctx):
        inits.check(node)
        cin, cout, over = node.attrs["cin"], node.attrs["cout"], node.attrs["over"]
        need_axes(x, (cin, *over), node.span, self.name)
        if cout != cin:
            fresh_axes(x, (cout,), node.span, self.name)
        f = x.size(cin) if cout == cin else ctx.axis_size(cout, node.span)
        for what, size in (("input channels", x.size(cin)), ("output channels", f)):
            ctx.static(size, node.span, f"the {what} of {self.name}")
        at_least(ctx, node, self.name, {"kernel": 1, "stride": 1, "dilation": 1, "groups": 1, "padding": 0,
                                        "output_padding": 0})
        g = node.attrs["kw"]["groups"]
        ctx.integral(x.size(cin) / g, node.span, f"{self.name}: input channels divisible by groups")
        ctx.integral(f / g, node.span, f"{self.name}: output channels divisible by groups")
        return f

    def _layout(self, node, x):
        cin, over = node.attrs["cin"], node.attrs["over"]
        return [a.name for a in without(x, (cin, *over))] + [cin, *over]

    def label(self, node):
        kw = node.attrs["kw"]
        extra = "".join(f", {k[0]}={kw[k]}" for k in ("stride", "padding") if str(kw[k]) not in ("1", "0"))
        return (f"{self.name} {node.attrs['cin']}→{node.attrs['cout']} over "
                f"{' '.join(node.attrs['over'])}, k={kw['kernel']}{extra}")


@register
class Conv(_Spatial):
    name = "Conv"
    learned = True
    options = {"kernel": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1,
               "bias": True, "mode": "zeros", "causal": False, "same": False, **inits.OPTIONS}
    enums = {"mode": _MODES, **inits.ENUMS}
    helpers = (inits.HELPER,)
    summary = ("convolution over 1-3 spatial axes (stride, padding incl. `mode = circular`, dilation, "
               "groups; `causal = true` pads before only, `same = true` pads as TensorFlow's SAME)")
    example = "h = Conv[C -> F over Y X](img, kernel = 3, padding = 1)"
    symmetry_doc = ("shift(Y, X): exactly with circular padding (or valid windows no wider than "
                    "the stride), up to boundary effects with zero padding; everything off its axes",
                    "stride s: restricts shifts to `by s` (other shifts alias); any action on the "
                    "channel axis; perm, flip and rot90 of Y X (learned kernel)")

    def symmetry(self, node, rule):
        kw = node.attrs["kw"]
        broken = rule.mix((node.attrs["cin"],), f"`Conv` mixes the channels {node.attrs['cin']}")
        if broken:
            return broken
        pad = _sides(kw)[0] if kw["causal"] is True or kw["same"] is True else kw["padding"]
        return rule.grid(node.attrs["over"], kw["kernel"], kw["stride"], pad,
                         kw["dilation"], kw["mode"], what="Conv")

    def infer(self, node, ins, ctx):
        (x,) = ins
        f = self._check(node, x, ctx)
        kw = node.attrs["kw"]
        padding_fits(ctx, node, x, kw["mode"], kw["padding"], node.attrs["over"], self.name)
        if _one_sided(node):  # causal or SAME: ceil(n / stride) positions
            out = {n: (x.size(n) + kw["stride"] - 1).floordiv(kw["stride"]) for n in node.attrs["over"]}
        else:
            out = {n: _conv_out(x.size(n), kw["kernel"], kw["stride"], kw["padding"], kw["dilation"])
                   for n in node.attrs["over"]}
        rest = without(x, (node.attrs["cin"], *node.attrs["over"]))
        return x.replace(rest + [Axis(node.attrs["cout"], f)] + [Axis(n, out[n]) for n in node.attrs["over"]])

    def parameters(self, node, ins, out):
        x, kw = ins[0], node.attrs["kw"]
        f = out.size(node.attrs["cout"])
        w = (f, x.size(node.attrs["cin"]) / kw["groups"]) + (kw["kernel"],) * len(node.attrs["over"])
        return {"weight": w, "bias": (f,)} if kw["bias"] else {"weight": w}

    def flops(self, node, ins, out):
        w = self.parameters(node, ins, out)["weight"]  # every output element: one dot of prod(w[1:])
        return 2 * prod(w) * prod(a.size for a in without(out, (node.attrs["cout"],)))

    def emit(self, node, e):
        kw, n = node.attrs["kw"], len(node.attrs["over"])
        x = e.arg(0, self._layout(node, e.ins[0]))
        cin, cout = e.ins[0].size(node.attrs["cin"]), e.out.size(node.attrs["cout"])
        args = [e.isize(cin), e.isize(cout), f"kernel_size={e.ivalue(kw['kernel'])}"]
        for k, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1)):
            if kw[k] != default:
                args.append(f"{k}={e.ivalue(kw[k])}")
        if not kw["bias"]:
            args.append("bias=False")
        if kw["mode"] != "zeros":
            args.append(f"padding_mode={kw['mode']!r}")
        mod = e.submodule("conv", inits.wrap(node, e, f"nn.Conv{n}d({', '.join(args)})"))
        if _one_sided(node):
            sides = [_emit_sides(e, kw, e.ins[0].size(a)) for a in reversed(node.attrs["over"])]
            x = f"F.pad({x}, ({', '.join(p for pair in sides for p in pair)}))"
        return e.batched(f"{mod}({{}})", x, e.ins[0], (node.attrs["cin"], *node.attrs["over"]), 1)


def _one_sided(node) -> bool:
    """Whether `causal` or `same` asks for padding PyTorch's Conv cannot express (E381 when
    either is combined with `padding` or a non-zero `mode`, or both are set)."""
    kw = node.attrs["kw"]
    flags = [k for k in ("causal", "same") if kw[k] is not False]
    if not flags:
        return False
    if len(flags) == 2 or kw["padding"] != 0 or kw["mode"] != "zeros":
        raise ArchError("`causal` and `same` choose the padding themselves: one of them, without "
                        "`padding` or `mode`", node.span, code="E381",
                        help="drop `padding` and `mode`, or write the padding with `pad[...](x, before = ...)`")
    if any(kw[k] is not True for k in flags):
        raise ArchError(f"`{flags[0]}` of Conv must be known when the spec is checked (true or false)",
                        node.span, code="E381")
    return True


def _sides(kw, n: Size | None = None) -> tuple[Size, Size]:
    """(before, after) padding of one axis of length n: causal pads `dilation (kernel - 1)`
    before; SAME pads `max((ceil(n / s) - 1) s + span - n, 0)` in all, the odd one after (the
    total as a Size here, so without the max: only meaningful at stride 1 or when it is >= 0)."""
    span = kw["dilation"] * (kw["kernel"] - 1)
    if kw["causal"] is True:
        return span, Size.of(0)
    s = kw["stride"]
    total = span if n is None or s == 1 else ((n + s - 1).floordiv(s) - 1) * s + span + 1 - n
    return total.floordiv(2), total - total.floordiv(2)


def _emit_sides(e, kw, n: Size) -> tuple[str, str]:
    """The (before, after) padding of one axis as Python: numbers where the sizes are known."""
    if kw["causal"] is True or kw["stride"] == 1:
        return tuple(e.size(v) for v in _sides(kw, n))
    total = ((n + kw["stride"] - 1).floordiv(kw["stride"]) - 1) * kw["stride"] + kw["dilation"] * (kw["kernel"] - 1) + 1 - n
    if total.is_const:
        t = max(int(total.const), 0)
        return str(t // 2), str(t - t // 2)
    t = f"max({e.size(total)}, 0)"
    return f"{t} // 2", f"{t} - {t} // 2"


@register
class ConvTranspose(_Spatial):
    name = "ConvTranspose"
    learned = True
    options = {"kernel": None, "stride": 1, "padding": 0, "output_padding": 0, "dilation": 1,
               "groups": 1, "bias": True, **inits.OPTIONS}
    enums = inits.ENUMS
    helpers = (inits.HELPER,)
    summary = "transposed convolution (learned upsampling) over 1-3 spatial axes"
    example = "u = ConvTranspose[C -> F over Y X](h, kernel = 2, stride = 2)"
    symmetry_doc = ("a shift by g becomes a shift by g * stride, up to boundary effects",
                    "any action on the channel axis; perm, flip and rot90 of its spatial axes")

    def symmetry(self, node, rule):
        broken = rule.mix((node.attrs["cin"],), f"`ConvTranspose` mixes the channels {node.attrs['cin']}")
        if broken:
            return broken
        return rule.upsample(node.attrs["over"], node.attrs["kw"]["stride"], exact=False,
                             what="ConvTranspose", flips=False)

    def infer(self, node, ins, ctx):
        (x,) = ins
        f = self._check(node, x, ctx)
        kw = node.attrs["kw"]
        _output_padding(ctx, node, kw)
        out = {n: (x.size(n) - 1) * kw["stride"] - 2 * kw["padding"] + kw["dilation"] * (kw["kernel"] - 1)
               + kw["output_padding"] + 1 for n in node.attrs["over"]}
        rest = without(x, (node.attrs["cin"], *node.attrs["over"]))
        return x.replace(rest + [Axis(node.attrs["cout"], f)] + [Axis(n, out[n]) for n in node.attrs["over"]])

    def parameters(self, node, ins, out):
        kw = node.attrs["kw"]
        c, f = ins[0].size(node.attrs["cin"]), out.size(node.attrs["cout"])
        w = (c, f / kw["groups"]) + (kw["kernel"],) * len(node.attrs["over"])
        return {"weight": w, "bias": (f,)} if kw["bias"] else {"weight": w}

    def flops(self, node, ins, out):
        w = self.parameters(node, ins, out)["weight"]  # counted per input element
        return 2 * prod(w) * prod(a.size for a in without(ins[0], (node.attrs["cin"],)))

    def emit(self, node, e):
        kw, n = node.attrs["kw"], len(node.attrs["over"])
        x = e.arg(0, self._layout(node, e.ins[0]))
        cin, cout = e.ins[0].size(node.attrs["cin"]), e.out.size(node.attrs["cout"])
        args = [e.isize(cin), e.isize(cout), f"kernel_size={e.ivalue(kw['kernel'])}"]
        for k, default in (("stride", 1), ("padding", 0), ("output_padding", 0), ("dilation", 1),
                           ("groups", 1)):
            if kw[k] != default:
                args.append(f"{k}={e.ivalue(kw[k])}")
        if not kw["bias"]:
            args.append("bias=False")
        mod = e.submodule("up", inits.wrap(node, e, f"nn.ConvTranspose{n}d({', '.join(args)})"))
        return e.batched(f"{mod}({{}})", x, e.ins[0], (node.attrs["cin"], *node.attrs["over"]), 1)


class _Pool(Op):
    spec = "axes"
    options = {"kernel": None, "stride": None, "padding": 0}
    symmetry_doc = ("shifts (exact for windows no wider than the stride, else up to boundary "
                    "effects); flip and rot90 at stride 1 with centred padding",
                    "stride s: restricts shifts to `by s` (other shifts alias); other "
                    "permutations of the pooled axes")

    def symmetry(self, node, rule):
        kw = node.attrs["kw"]
        stride = kw["stride"] if kw["stride"] is not None else kw["kernel"]
        return rule.grid(node.attrs["axes"], kw["kernel"], stride, kw["padding"], what=self.name,
                         symmetric=True)

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = node.attrs["axes"]
        need_axes(x, axes, node.span, self.name)
        if not 1 <= len(axes) <= 3:
            raise ArchError(f"`{self.name}` pools over 1 to 3 axes", node.span, code="E204")
        kw = node.attrs["kw"]
        at_least(ctx, node, self.name, {"kernel": 1, "stride": 1, "padding": 0})
        ctx.at_least(kw["kernel"].floordiv(2), kw["padding"], node.span,
                     f"{self.name}: padding at most half the kernel")
        stride = kw["stride"] if kw["stride"] is not None else kw["kernel"]
        node.attrs["stride"] = stride  # layout as emitted: the pooled axes last
        return x.replace(without(x, axes) + [Axis(n, _conv_out(x.size(n), kw["kernel"], stride, kw["padding"], 1))
                                             for n in axes])

    def emit(self, node, e):
        axes, kw = node.attrs["axes"], node.attrs["kw"]
        order = [a.name for a in without(e.ins[0], axes)] + list(axes)
        x = e.arg(0, order)
        args = [e.value(kw["kernel"]), e.value(node.attrs["stride"])]
        if kw["padding"] != 0:
            args.append(e.value(kw["padding"]))
        args += self.extra(node, e)
        fn = f"F.{self.fn}{len(axes)}d({{}}, {', '.join(args)})"
        # (batch, channels, *pooled): the legacy ONNX exporter pools only batched tensors
        return e.batched(fn, x, e.ins[0], axes, 2)

    def extra(self, node, e) -> list[str]:
        """Keyword arguments of the PyTorch call beyond kernel, stride and padding."""
        return []

    def label(self, node):
        return f"{self.name} {' '.join(node.attrs['axes'])}, k={node.attrs['kw']['kernel']}"


@register
class MaxPool(_Pool):
    name = "maxpool"
    fn = "max_pool"
    summary = "max pooling over 1-3 axes (`stride` defaults to `kernel`)"
    example = "h = maxpool[Y X](h, kernel = 3, stride = 2, padding = 1)"


@register
class AvgPool(_Pool):
    name = "avgpool"
    fn = "avg_pool"
    options = {**_Pool.options, "count_include_pad": True}
    summary = ("average pooling over 1-3 axes (`stride` defaults to `kernel`; `count_include_pad = "
               "false` divides by the positions inside the input)")
    example = "h = avgpool[Y X](h, kernel = 3, stride = 1, padding = 1, count_include_pad = false)"

    def extra(self, node, e):
        include = node.attrs["kw"]["count_include_pad"]
        return [] if include is True else [f"count_include_pad={e.value(include)}"]


@register
class Upsample(Op):
    name = "upsample"
    spec = "axes"
    options = {"scale": 2, "mode": "nearest"}
    enums = {"mode": ("nearest", "bilinear", "bicubic", "linear", "trilinear")}
    summary = "resize spatial axes by an integer `scale` (`mode` = nearest | bilinear | ...)"
    example = "u = upsample[Y X](h, scale = 2, mode = nearest)"
    symmetry_doc = ("a shift by g becomes a shift by g * scale (exact for nearest, up to boundary "
                    "effects otherwise); flip and rot90", "other permutations of its axes")

    def symmetry(self, node, rule):
        nearest = node.attrs["kw"]["mode"] == "nearest"
        return rule.upsample(node.attrs["axes"], node.attrs["kw"]["scale"], exact=nearest,
                             what=f"{node.attrs['kw']['mode']} upsampling", flips=True)

    def infer(self, node, ins, ctx):
        (x,) = ins
        need_axes(x, node.attrs["axes"], node.span, self.name)
        at_least(ctx, node, self.name, {"scale": 1})
        s, axes = node.attrs["kw"]["scale"], node.attrs["axes"]  # layout as emitted: resized axes last
        return x.replace(without(x, axes) + [Axis(n, x.size(n) * s) for n in axes])

    def emit(self, node, e):
        axes, kw = node.attrs["axes"], node.attrs["kw"]
        x = e.arg(0, [a.name for a in without(e.ins[0], axes)] + list(axes))
        fn = f"F.interpolate({{}}, scale_factor={e.value(kw['scale'])}, mode={kw['mode']!r})"
        return e.batched(fn, x, e.ins[0], axes, 2)


@register
class PixelShuffle(Op):
    name = "pixel_shuffle"
    spec = "map"
    options = {"factor": None}
    summary = "sub-pixel upscaling: channels C = F r r -> F, spatial Y X -> Y r, X r"
    example = "y = pixel_shuffle[C -> F over Y X](h, factor = 3)"
    symmetry_doc = ("a shift by g becomes a shift by g * factor, exactly", "any action on the "
                    "channel axis; other permutations of Y X")

    def symmetry(self, node, rule):
        broken = rule.mix((node.attrs["cin"],), "`pixel_shuffle` moves channels into space",
                          certain=False)
        if broken:
            return broken
        return rule.upsample(node.attrs["over"], node.attrs["kw"]["factor"], exact=True,
                             what="pixel_shuffle", flips=False)

    configure_map = _Spatial.configure_map

    def infer(self, node, ins, ctx):
        (x,) = ins
        cin, cout, over = node.attrs["cin"], node.attrs["cout"], node.attrs["over"]
        if len(over) != 2:
            raise ArchError("`pixel_shuffle` works over exactly two spatial axes", node.span, code="E204")
        need_axes(x, (cin, *over), node.span, self.name)
        at_least(ctx, node, self.name, {"factor": 1})
        r = node.attrs["kw"]["factor"]
        f = x.size(cin) / (r * r)
        ctx.integral(f, node.span, "pixel_shuffle: channels divisible by factor ** 2")
        rest = without(x, (cin, *over))
        return x.replace(rest + [Axis(cout, f)] + [Axis(n, x.size(n) * r) for n in over])

    def emit(self, node, e):
        x = e.arg(0, _Spatial._layout(self, node, e.ins[0]))
        return f"F.pixel_shuffle({x}, {e.value(node.attrs['kw']['factor'])})"

    def label(self, node):
        return f"pixel_shuffle {node.attrs['cin']}→{node.attrs['cout']} over {' '.join(node.attrs['over'])}"
