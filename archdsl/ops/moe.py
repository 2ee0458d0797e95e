"""Sparse mixture of experts (Mixtral's feed-forward): every token goes to the experts its
router chose and only those experts run on it.

`MoE[D -> O, K](x, idx, gate, experts = E, hidden = F)` is
`y = sum over k of gate[k] * Expert_{idx[k]}(x)` with `idx` an `int` tensor of expert numbers
(`topk` of the router's logits) and `gate` their weights. Experts (`expert = ...`): SwiGLU
(`swiglu`, the default, Mixtral's) `W2_e (silu(W1_e x) * W3_e x)` without biases, or a
two-layer MLP with biases `W2_e act(W1_e x + b1_e) + b2_e` with `act` GELU (`gelu`) or ReLU
(`relu`, Switch Transformer's and fairseq's FFN experts). An expert that is an arbitrary block
is not supported. The generated code sorts the (token, choice) pairs by expert and runs each
expert once on the tokens routed to it, so its FLOPs are those of the chosen experts only,
exactly what `FlopCounterMode` counts for the per-expert matrix products: 2 (2 D F + F O) per
token and choice for SwiGLU, 2 (D F + F O) for an MLP."""

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
    options = {"experts": None, "hidden": None, "expert": "swiglu"}
    enums = {"expert": ("swiglu", "gelu", "relu")}
    summary = ("sparse mixture of experts: `y = sum_k gate[k] Expert_idx[k](x)`, each expert run only on "
               "the tokens routed to it; `experts` experts of `hidden` units, SwiGLU or (`expert = gelu`, "
               "`relu`) a two-layer MLP with biases")
    example = "y = MoE[D -> D, K](x, idx, gate, experts = 8, hidden = 4 * D)"
    helpers = ("_moe_experts",)
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
        if node.attrs["kw"]["expert"] == "swiglu":
            return {"w1": (e, f, d), "w3": (e, f, d), "w2": (e, o, f)}
        return {"w1": (e, f, d), "b1": (e, f), "w2": (e, o, f), "b2": (e, o)}

    def flops(self, node, ins, out):
        e, f, d, o = node.attrs["sizes"]
        gates = 2 if node.attrs["kw"]["expert"] == "swiglu" else 1  # SwiGLU's W1 and W3
        return numel(ins[1]) * (2 * gates * d * f + 2 * f * o)

    def emit(self, node, e):
        (d,), k = node.attrs["inp"], node.attrs["k"]
        rest = [a.name for a in without(e.ins[0], (d,))]
        ws = {name: e.submodule(name, f"nn.Parameter(torch.randn({', '.join(e.isize(s) for s in shape)}) "
                                      f"/ {e.isize(shape[-1])} ** 0.5)" if name[0] == "w" else
                                f"nn.Parameter(torch.zeros({', '.join(e.isize(s) for s in shape)}))")
              for name, shape in self.parameters(node, e.ins, e.out).items()}
        x, idx, gate = e.arg(0, rest + [d]), e.arg(1, rest + [k]), e.arg(2, rest + [k])
        kind = node.attrs["kw"]["expert"]
        weights = ", ".join(f"{n}={w}" for n, w in ws.items())
        y = f"{e.helper('_moe_experts')}({x}, {idx}, {gate}, {kind!r}, {weights})"
        o = node.attrs["out"][0]
        return y if list(e.out.names) == rest + [o] else f"{y}.movedim(-1, {e.out.dim(o)})"

    def acts_on(self, node):
        return {*node.attrs["inp"], *node.attrs["out"], node.attrs["k"]}

    def label(self, node):
        a, kw = node.attrs, node.attrs["kw"]
        return f"MoE {a['inp'][0]} → {a['out'][0]}, top {a['k']} of {kw['experts']} {kw['expert']} (sparse)"

