"""Group convolution over C4 (the p4 group of Cohen & Welling, "Group Equivariant
Convolutional Networks"): `P4Conv[C -> F R over Y X]` lifts an image to the four rotations of
each filter (a new axis R of size 4), `P4Conv[C R -> F R over Y X]` convolves p4 feature maps.
Turning the input by a quarter turn turns the output and rolls R by one, so pooling over R
(`max[R]`) then over space gives rotation invariance."""

from __future__ import annotations

from ..errors import ArchError
from ..sizes import Size
from ..types import Axis
from .base import Op, at_least, flat, fresh_axes, need_axes, prod, register, without
from .conv import _conv_out


@register
class P4Conv(Op):
    name = "P4Conv"
    learned = True
    spec = "map"
    options = {"kernel": None, "padding": 0, "bias": True, "mode": "zeros"}
    enums = {"mode": ("zeros", "circular")}
    summary = ("C4 group convolution, stride 1: lifting `C -> F R over Y X` or p4 `C R -> F R over Y X` "
               "(R: the 4 rotations)")
    example = "h = P4Conv[C -> F R over Y X](img, kernel = 3, padding = 1)"
    symmetry_doc = ("rot90(Y, X) with centred padding: the output turns and R rolls by one; "
                    "shift(Y, X) as Conv", "flip, perm of Y X; any action on the channels; "
                    "rot90 when R does not move with the rotation")

    def configure_map(self, clauses, span):
        c = clauses[0]
        lhs, rhs, over = flat(c.lhs), flat(c.rhs or ()), flat(c.over or ())
        if (len(clauses) != 1 or len(lhs) not in (1, 2) or len(rhs) != 2 or len(over) != 2
                or (len(lhs) == 2 and lhs[1] != rhs[1])):
            raise ArchError("`P4Conv` takes `C -> F R over Y X` (lifting) or `C R -> F R over Y X`",
                            span, code="E204", help=f"for example `{self.example}`")
        return {"cin": lhs[0], "cout": rhs[0], "rot": rhs[1], "lifting": len(lhs) == 1, "over": over}

    def infer(self, node, ins, ctx):
        (x,) = ins
        a = node.attrs
        acted = (a["cin"],) + (() if a["lifting"] else (a["rot"],)) + a["over"]
        need_axes(x, acted, node.span, self.name)
        at_least(ctx, node, self.name, {"kernel": 1, "padding": 0})
        if a["lifting"]:
            fresh_axes(x, (a["rot"],), node.span, self.name)
        else:
            ctx.equal(x.size(a["rot"]), Size.of(4), node.span, "the rotation axis of P4Conv")
        if a["cout"] != a["cin"]:
            fresh_axes(x, (a["cout"],), node.span, self.name)
        f = x.size(a["cin"]) if a["cout"] == a["cin"] else ctx.axis_size(a["cout"], node.span)
        ctx.static(x.size(a["cin"]), node.span, "the input channels of P4Conv")
        ctx.static(f, node.span, "the output channels of P4Conv")
        kw = a["kw"]
        out = [Axis(n, _conv_out(x.size(n), kw["kernel"], Size.of(1), kw["padding"], Size.of(1)))
               for n in a["over"]]
        return x.replace(without(x, acted) + [Axis(a["rot"], Size.of(4)), Axis(a["cout"], f)] + out)

    def parameters(self, node, ins, out):
        a, k = node.attrs, node.attrs["kw"]["kernel"]
        f, c = out.size(a["cout"]), ins[0].size(a["cin"])
        w = (f, c) + (() if a["lifting"] else (Size.of(4),)) + (k, k)
        return {"weight": w, "bias": (f,)} if a["kw"]["bias"] else {"weight": w}

    def flops(self, node, ins, out):
        w = self.parameters(node, ins, out)["weight"]
        return 2 * prod(w[1:]) * prod(a.size for a in out.axes)

    def symmetry(self, node, rule):
        a = node.attrs
        broken = rule.mix((a["cin"],), f"`P4Conv` mixes the channels {a['cin']}")
        if broken:
            return broken
        s = rule.states[0]
        rot = [f for f in s.factors if f.kind == "rot" and set(f.axes) & set(a["over"])]
        cyc = None if a["lifting"] else s.on(a["rot"])
        if rot and (tuple(rot[0].axes) != tuple(a["over"]) or len(rot) != 1):
            return rule.broken(f"`P4Conv` turns {' '.join(a['over'])} the other way than "
                               f"{rot[0].describe()}", certain=False)
        if cyc is not None and not (rot and cyc.kind == "cyc" and cyc.gen == rot[0].gen and cyc.scale == 1
                                    and not cyc.origin):
            return rule.broken(f"`P4Conv` expects its rotation axis {a['rot']} to roll with the "
                               f"rotation, but it moves by {cyc.describe()}")
        if not a["lifting"] and rot and cyc is None:
            return rule.broken(f"`P4Conv` expects its rotation axis {a['rot']} to roll with the rotation")
        kw = a["kw"]
        if rot:
            k, p = rule.size(kw["kernel"]), rule.size(kw["padding"])
            if k is None or p is None or not 2 * p == k - 1:
                return rule.broken("`P4Conv` is rotation-equivariant only with centred padding "
                                   "(padding = (kernel - 1) / 2)", certain=False)
        rule.then(rule.state([f for f in s.factors if f not in rot and f is not cyc]))
        state = rule.grid(a["over"], kw["kernel"], 1, kw["padding"], 1, kw["mode"], what="P4Conv")
        if state.broken or not rot:
            return state
        turn = rule.moved(rot[0], kind="cyc", axes=(a["rot"],), scale=Size.of(1))
        return rule.state(list(state.factors) + [rot[0], turn], state.notes)

    def emit(self, node, e):
        a, kw = node.attrs, node.attrs["kw"]
        t = e.ins[0]
        acted = [a["cin"]] + ([] if a["lifting"] else [a["rot"]]) + list(a["over"])
        x = e.arg(0, [n.name for n in without(t, acted)] + acted)
        shape = ", ".join(e.isize(s) for s in self.parameters(node, e.ins, e.out)["weight"])
        fan_in = " * ".join(e.isize(s) for s in self.parameters(node, e.ins, e.out)["weight"][1:])
        w = e.submodule("weight", f"nn.Parameter(torch.randn({shape}) / ({fan_in}) ** 0.5)")
        if a["lifting"]:
            bank = f"torch.cat([{w}.rot90(_r, (2, 3)) for _r in range(4)])"
            flat_in = "{}"
        else:  # filter for output turn r: turned by r, its own rotation axis rolled by r
            bank = f"torch.stack([{w}.roll(_r, 2).rot90(_r, (3, 4)) for _r in range(4)]).flatten(0, 1).flatten(1, 2)"
            flat_in = "{}.flatten(1, 2)"
        p = e.value(kw["padding"])  # read in forward: the module's attribute, not the constructor's name
        if kw["mode"] == "circular":
            flat_in = f"F.pad({flat_in}, ({p}, {p}, {p}, {p}), mode='circular')"
            pad = ""
        else:
            pad = f", padding={p}" if kw["padding"] != 0 else ""
        bias = ""
        if kw["bias"]:
            b = e.submodule("bias", f"nn.Parameter(torch.zeros({e.isize(e.out.size(a['cout']))}))")
            bias = f", {b}.repeat(4)"
        f = e.size(e.out.size(a["cout"]))
        template = f"F.conv2d({flat_in}, {bank}{bias}{pad}).unflatten(1, (4, {f}))"
        return e.batched(template, x, t, acted, 1)

    def acts_on(self, node):
        a = node.attrs
        return {a["cin"], a["cout"], a["rot"], *a["over"]}

    def label(self, node):
        a = node.attrs
        src = a["cin"] if a["lifting"] else f"{a['cin']} {a['rot']}"
        return f"P4Conv {src}→{a['cout']} {a['rot']} over {' '.join(a['over'])}, k={a['kw']['kernel']}"
