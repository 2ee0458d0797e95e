"""Normalisations: LayerNorm and RMSNorm over named axes, BatchNorm and GroupNorm per channel."""

from __future__ import annotations

from ..errors import ArchError
from ..sizes import Size
from .base import Op, at_least, flat, need_axes, register, without


class _FeatureNorm(Op):
    spec = "axes"
    learned = True
    symmetry_doc = ("everything on the other axes", "any action on the normalised axes "
                    "(a learned weight per position)")

    def symmetry(self, node, rule):
        why = f"`{self.name}` has a learned weight along {' '.join(node.attrs['axes'])}"
        return rule.mix(node.attrs["axes"], why) or rule.keep()

    def infer(self, node, ins, ctx):
        check_eps(node, self.name)
        (x,) = ins
        need_axes(x, node.attrs["axes"], node.span, self.name)
        for n in node.attrs["axes"]:
            ctx.static(x.size(n), node.span, f"the size of {n}, normalised by {self.name}")
        return x.replace(without(x, node.attrs["axes"]) + [x.axis(n) for n in node.attrs["axes"]])

    def parameters(self, node, ins, out):
        shape = tuple(ins[0].size(n) for n in node.attrs["axes"])
        if self.name == "LayerNorm" and not node.attrs["kw"]["bias"]:
            return {"weight": shape}
        return {"weight": shape, "bias": shape} if self.name == "LayerNorm" else {"weight": shape}

    def emit(self, node, e):
        axes = node.attrs["axes"]
        x = e.arg(0, [a.name for a in e.out.axes])
        shape = [e.isize(e.ins[0].size(n)) for n in axes]
        shape_code = shape[0] if len(shape) == 1 else f"({', '.join(shape)})"
        kw = node.attrs["kw"]
        extra = "" if self.name != "LayerNorm" or kw["bias"] else ", bias=False"
        mod = e.submodule("norm", f"nn.{self.name}({shape_code}, eps={e.ivalue(kw['eps'])}{extra})")
        return f"{mod}({x})"


@register
class LayerNorm(_FeatureNorm):
    name = "LayerNorm"
    options = {"eps": 1e-5, "bias": True}
    summary = "layer normalisation over the named axes (F.layer_norm), broadcast over the rest"
    example = "h = LayerNorm[D](x)"


@register
class RMSNorm(_FeatureNorm):
    name = "RMSNorm"
    options = {"eps": 1e-6}
    summary = "root-mean-square normalisation over the named axes (F.rms_norm)"
    example = "h = RMSNorm[D](x, eps = 1e-6)"


class _ChannelNorm(Op):
    """Norms with statistics per channel over everything else: layout (N, C, *rest)."""

    spec = "axes"
    learned = True
    symmetry_doc = ("everything off the channel axis (eval mode: a per-channel affine map; "
                    "GroupNorm's statistics are symmetric in the other axes)",
                    "any action on the channel axis")

    def symmetry(self, node, rule):
        why = f"`{self.name}` has a learned weight per channel {node.attrs['axes'][0]}"
        return rule.mix(node.attrs["axes"], why) or rule.keep()

    def infer(self, node, ins, ctx):
        check_eps(node, self.name)
        (x,) = ins
        axes = node.attrs["axes"]
        if len(axes) != 1:
            raise ArchError(f"`{self.name}` takes the one channel axis", node.span, code="E204",
                            help=f"for example `{self.example}`")
        need_axes(x, axes, node.span, self.name)
        if not x.batch:
            raise ArchError(f"`{self.name}` needs a batch (it normalises across examples)",
                            node.span, code="E305")
        ctx.static(x.size(axes[0]), node.span, f"the channels of {self.name}")
        self.check(node, x, ctx)
        return x.replace([x.axis(axes[0])] + without(x, axes))

    def check(self, node, x, ctx):
        pass

    def parameters(self, node, ins, out):
        c = (ins[0].size(node.attrs["axes"][0]),)
        return {"weight": c, "bias": c}

    def emit(self, node, e):
        x = e.arg(0, [a.name for a in e.out.axes])
        c = e.isize(e.out.axes[0].size)
        rest = len(e.out.axes) - 1
        mod = e.submodule("norm", self.constructor(node, e, c, rest))
        if self.name == "BatchNorm" and rest > 3:
            return f"{mod}({x}.flatten(2)).view_as({x})"
        return f"{mod}({x})"


@register
class BatchNorm(_ChannelNorm):
    name = "BatchNorm"
    options = {"eps": 1e-5, "momentum": 0.1}
    summary = "batch normalisation per channel (statistics over the batch and all other axes)"
    example = "h = BatchNorm[C](h)"

    def constructor(self, node, e, c, rest):
        dims = min(max(rest, 1), 3) if rest <= 3 else 1
        kw = node.attrs["kw"]
        extra = "".join(f", {k}={e.ivalue(kw[k])}" for k, d in (("eps", 1e-5), ("momentum", 0.1))
                        if kw[k] != d)
        return f"nn.BatchNorm{dims}d({c}{extra})"


@register
class GroupNorm(Op):
    """Statistics per group of channels jointly with the `over` axes, separately for every other
    axis (batch, heads, windows): the same numbers whether an axis is the block's own or
    broadcast over by a call."""

    name = "GroupNorm"
    spec = "map"
    learned = True
    options = {"groups": None, "eps": 1e-5}
    summary = ("group normalisation: the channels split into `groups`; statistics per group jointly with "
               "the `over` axes, separately for every other axis")
    example = "h = GroupNorm[C over Y X](h, groups = 32)"
    symmetry_doc = _ChannelNorm.symmetry_doc
    symmetry = _ChannelNorm.symmetry
    parameters = _ChannelNorm.parameters

    def configure_map(self, clauses, span):
        c = clauses[0]
        names = (*flat(c.lhs), *flat(c.over or ()))
        if len(clauses) != 1 or c.rhs or len(flat(c.lhs)) != 1 or len(set(names)) != len(names):
            raise ArchError("`GroupNorm` takes the channel axis and the axes its statistics span: "
                            "`C over Y X`, or `C` alone", span, code="E204", help=f"for example `{self.example}`")
        return {"axes": flat(c.lhs), "over": flat(c.over or ())}

    def infer(self, node, ins, ctx):
        check_eps(node, self.name)
        (x,) = ins
        c, over = node.attrs["axes"][0], node.attrs["over"]
        need_axes(x, (c, *over), node.span, self.name)
        ctx.static(x.size(c), node.span, f"the channels of {self.name}")
        at_least(ctx, node, self.name, {"groups": 1})
        ctx.integral(x.size(c) / node.attrs["kw"]["groups"], node.span, "GroupNorm: channels divisible by groups")
        return x.replace(without(x, (c, *over)) + [x.axis(c)] + [x.axis(n) for n in over])

    def emit(self, node, e):
        """nn.GroupNorm on (N, C, *over), every other axis folded into N."""
        c, over = node.attrs["axes"][0], node.attrs["over"]
        kw = node.attrs["kw"]
        ctor = f"nn.GroupNorm({e.ivalue(kw['groups'])}, {e.isize(e.out.size(c))}, eps={e.ivalue(kw['eps'])})"
        mod = e.submodule("norm", ctor)
        return e.batched(f"{mod}({{}})", e.arg(0, list(e.out.names)), e.out, [c, *over], 1)


def check_eps(node, op: str) -> None:
    """PyTorch's norms refuse a negative `eps` when called: refuse it here, where it is written."""
    eps = node.attrs["kw"]["eps"]
    eps = float(eps.const) if isinstance(eps, Size) and eps.is_const else eps
    if isinstance(eps, (int, float)) and eps < 0:
        raise ArchError(f"`{op}`: eps must be >= 0, not {eps}", node.span, code="E306")
