"""Sparse mixture of experts (Mixtral's feed-forward): every token goes to the experts its
router chose and only those experts run on it.

`MoE[D -> O, K](x, idx, gate, experts = E, hidden = F)` is
`y = sum over k of gate[k] * Expert_{idx[k]}(x)` with SwiGLU experts
`Expert_e(x) = W2_e (silu(W1_e x) * W3_e x)` (no biases), `idx` an `int` tensor of expert numbers
(`topk` of the router's logits) and `gate` their weights. The generated code sorts the
(token, choice) pairs by expert and runs each expert once on the tokens routed to it, so its
FLOPs are those of the chosen experts only: 2 (2 D F + F O) per token and choice, exactly what
`FlopCounterMode` counts for the per-expert matrix products."""

from __future__ import annotations

from ..errors import ArchError, ShapeError
from ..types import Axis, TensorType
from .base import Op, at_least, flat, numel, register, without
from .index import _need_int


@register
class MoE(Op):
    name = "MoE"
    learned = True
    arity = 3
    spec = "map"
    options = {"experts": None, "hidden": None}
    summary = ("sparse mixture of SwiGLU experts: `y = sum_k gate[k] Expert_idx[k](x)`, each expert run only on "
               "the tokens routed to it; `experts` experts of `hidden` units")
    example = "y = MoE[D -> D, K](x, idx, gate, experts = 8, hidden = 4 * D)"
    helpers = ("_moe_swiglu",)
    symmetry_doc = ("everything on the token axes it broadcasts over",
                    "any action on the feature axis (learned weights) or on the choices K")

    def configure_map(self, clauses, span):
        maps = [c for c in clauses if c.rhs]
        bare = [c for c in clauses if not c.rhs]
        if (len(maps) != 1 or len(bare) != 1 or any(c.over for c in clauses) or len(flat(bare[0].lhs)) != 1
                or len(flat(maps[0].lhs)) != 1 or len(flat(maps[0].rhs)) != 1):
            raise ArchError("`MoE` takes the feature map and the choice axis: `D -> O, K`", span,
                            code="E204", help=f"for example `{self.example}`")
        return {"inp": flat(maps[0].lhs), "out": flat(maps[0].rhs), "k": flat(bare[0].lhs)[0]}

    def keywords(self, attrs):
        """An output axis that is not a parameter gets its size by keyword, as in `split`."""
        return set(attrs["out"])

    def check_dtypes(self, node, ins):
        for t, what in ((ins[0], "input"), (ins[2], "gate")):
            if t.dtype != "float":
                raise ShapeError(f"`MoE`'s {what} must be float, but it is {t.dtype}", node.span, code="E304")
        _need_int(node, ins[1], "index (second argument)")

    def symmetry(self, node, rule):
        a = node.attrs
        return (rule.mix(a["inp"], "`MoE` mixes its features with learned weights")
                or rule.mix([a["k"]], "`MoE` pairs each choice with its own expert", 1, certain=False)
                or rule.mix([a["k"]], "`MoE` pairs each choice with its own expert", 2, certain=False)
                or rule.align())

    def infer(self, node, ins, ctx):
        x, idx, gate = ins
        (d,), (o,), k = node.attrs["inp"], node.attrs["out"], node.attrs["k"]
        if x.axis(d) is None:
            raise ShapeError(f"`MoE` acts on {d}, but its input has axes {x}", node.span, code="E302")
        rest = without(x, (d,))
        for t, what in ((idx, "index"), (gate, "gate")):
            if t.axis(k) is None or {a.name for a in without(t, (k,))} != {a.name for a in rest}:
                raise ShapeError(f"`MoE`'s {what} must have the choice axis {k} and exactly the input's other "
                                 f"axes ({', '.join(a.name for a in rest) or 'none'}), but it has {t}",
                                 node.span, code="E391", help="route with `topk[E -> K](Linear[D -> E](x), K = 2)`")
            for a in rest:
                ctx.equal(a.size, t.size(a.name), node.span, f"axis {a.name} of the MoE input and its {what}")
        ctx.equal(idx.size(k), gate.size(k), node.span, f"axis {k} of the MoE index and gate")
        kw = node.attrs["kw"]
        size = x.size(d) if o == d else kw[o] if o in kw else ctx.axis_size(o, node.span)
        for s, what in ((x.size(d), f"the size of {d}, the MoE's input axis"), (size, f"the size of {o}"),
                        (kw["experts"], "the number of experts"), (kw["hidden"], "the hidden size")):
            ctx.static(s, node.span, what)
        at_least(ctx, node, self.name, {"experts": 1, "hidden": 1})
        node.attrs["sizes"] = (kw["experts"], kw["hidden"], x.size(d), size)
        return TensorType(tuple(Axis(o, size) if a.name == d else a for a in x.axes),
                          x.batch or idx.batch or gate.batch)

    def parameters(self, node, ins, out):
        e, f, d, o = node.attrs["sizes"]
        return {"w1": (e, f, d), "w3": (e, f, d), "w2": (e, o, f)}

    def flops(self, node, ins, out):
        e, f, d, o = node.attrs["sizes"]
        return numel(ins[1]) * (4 * d * f + 2 * f * o)

    def emit(self, node, e):
        (d,), k = node.attrs["inp"], node.attrs["k"]
        rest = [a.name for a in without(e.ins[0], (d,))]
        ws = [e.submodule(name, f"nn.Parameter(torch.randn({', '.join(e.isize(s) for s in shape)}) "
                                f"/ {e.isize(shape[-1])} ** 0.5)")
              for name, shape in self.parameters(node, e.ins, e.out).items()]
        x, idx, gate = e.arg(0, rest + [d]), e.arg(1, rest + [k]), e.arg(2, rest + [k])
        y = f"{e.helper('_moe_swiglu')}({x}, {idx}, {gate}, {', '.join(ws)})"
        o = node.attrs["out"][0]
        return y if list(e.out.names) == rest + [o] else f"{y}.movedim(-1, {e.out.dim(o)})"

    def acts_on(self, node):
        return {*node.attrs["inp"], *node.attrs["out"], node.attrs["k"]}

    def label(self, node):
        a, kw = node.attrs, node.attrs["kw"]
        return f"MoE {a['inp'][0]} → {a['out'][0]}, top {a['k']} of {kw['experts']} (sparse)"

