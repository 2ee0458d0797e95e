"""Learned maps on named axes: Linear, Embedding, Param."""

from __future__ import annotations

from ..errors import ArchError
from ..sizes import Size
from ..types import Axis, TensorType
from . import inits
from .base import Op, flat, fresh_axes, need_axes, numel, prod, register, without


@register
class Linear(Op):
    name = "Linear"
    learned = True
    spec = "map"
    options = {"bias": True, **inits.OPTIONS}
    enums = inits.ENUMS
    helpers = (inits.HELPER,)
    summary = ("affine map from the axes on the left to the axes on the right; broadcast over the rest "
               "(`init`, `std`, `bias_init`: see docs/language.md)")
    example = "q = Linear[D -> H K](x)"
    symmetry_doc = ("everything on the axes it broadcasts over", "any action on an input axis "
                    "(it mixes positions with learned weights)")

    def symmetry(self, node, rule):
        why = f"`Linear` mixes the positions of {' '.join(node.attrs['inp'])} with learned weights"
        return rule.mix(node.attrs["inp"], why) or rule.keep()

    def configure_map(self, clauses, span):
        if len(clauses) != 1 or not clauses[0].rhs or clauses[0].over:
            raise ArchError("`Linear` takes one map `A B -> C D`", span, code="E204",
                            help=f"for example `{self.example}`")
        return {"inp": flat(clauses[0].lhs), "out": flat(clauses[0].rhs)}

    def keywords(self, attrs):
        """An output axis whose size is not a parameter gets it by keyword, as in `Param`: one
        projection to q, k and v is `Linear[D -> R H K](x, R = 3)` (one GEMM, timm's layout)."""
        return set(attrs["out"])

    def infer(self, node, ins, ctx):
        (x,) = ins
        inp, out = node.attrs["inp"], node.attrs["out"]
        need_axes(x, inp, node.span, self.name)
        inits.check(node)
        rest = without(x, inp)
        fresh_axes(x.replace(rest), out, node.span, self.name)
        for n in inp:
            ctx.static(x.size(n), node.span, f"the size of {n}, an input axis of Linear")
        sized = set(node.attrs["kw"]) - set(self.options)
        new = [Axis(n, node.attrs["kw"][n] if n in sized else ctx.axis_size(n, node.span)) for n in out]
        for a in new:
            ctx.static(a.size, node.span, f"the size of {a.name}, an output axis of Linear")
        return x.replace(rest + new)

    def _features(self, node, ins, out):
        x = ins[0]
        return prod(x.size(n) for n in node.attrs["inp"]), prod(out.size(n) for n in node.attrs["out"])

    def parameters(self, node, ins, out):
        fi, fo = self._features(node, ins, out)
        shapes = {"weight": (fo, fi)}
        if node.attrs["kw"]["bias"]:
            shapes["bias"] = (fo,)
        return shapes

    def flops(self, node, ins, out):
        fi, fo = self._features(node, ins, out)
        return 2 * numel(ins[0]) * fo

    def emit(self, node, e):
        inp, out = node.attrs["inp"], node.attrs["out"]
        rest = [a.name for a in without(e.ins[0], inp)]
        x = e.arg(0, rest + list(inp))
        if len(inp) > 1:
            x = f"{x}.flatten(-{len(inp)})"
        fi, fo = self._features(node, e.ins, e.out)
        bias = "" if node.attrs["kw"]["bias"] is True else f", bias={e.ivalue(node.attrs['kw']['bias'])}"
        mod = e.submodule("proj", inits.wrap(node, e, f"nn.Linear({e.isize(fi)}, {e.isize(fo)}{bias})"))
        y = f"F.linear({x}, {mod}.weight)" if node.attrs.get("tied") else f"{mod}({x})"
        if len(out) > 1:
            y = f"{y}.unflatten(-1, ({', '.join(e.size(e.out.size(n)) for n in out)}))"
        return y

    def label(self, node):
        return f"Linear {' '.join(node.attrs['inp'])} → {' '.join(node.attrs['out'])}"


@register
class Embedding(Op):
    name = "Embedding"
    dtypes = frozenset({"int"})
    learned = True
    spec = "map"
    summary = "lookup table: integer indices over a vocabulary axis -> vectors along a new axis"
    example = "h = Embedding[V -> D](tokens)"
    symmetry_doc = ("everything on the index axes (a lookup is pointwise)", "—")

    def symmetry(self, node, rule):
        return rule.keep()

    def configure_map(self, clauses, span):
        c = clauses[0]
        if len(clauses) != 1 or not c.rhs or c.over or len(flat(c.lhs)) != 1 or len(flat(c.rhs)) != 1:
            raise ArchError("`Embedding` takes `V -> D`: the vocabulary and the feature axis",
                            span, code="E204", help=f"for example `{self.example}`")
        return {"vocab": flat(c.lhs)[0], "out": flat(c.rhs)[0]}

    def infer(self, node, ins, ctx):
        (x,) = ins
        fresh_axes(x, (node.attrs["out"],), node.span, self.name)
        v = ctx.axis_size(node.attrs["vocab"], node.span)
        d = ctx.axis_size(node.attrs["out"], node.span)
        node.attrs["sizes"] = (v, d)
        return x.replace(list(x.axes) + [Axis(node.attrs["out"], d)], dtype="float")

    def parameters(self, node, ins, out):
        return {"weight": node.attrs["sizes"]}

    def emit(self, node, e):
        v, d = node.attrs["sizes"]
        mod = e.submodule("embed", f"nn.Embedding({e.isize(v)}, {e.isize(d)})")
        return f"{mod}({e.arg(0)})"

    def label(self, node):
        return f"Embedding {node.attrs['vocab']} → {node.attrs['out']}"


@register
class Param(Op):
    name = "Param"
    learned = True
    arity = 0
    spec = "axes"
    options = {"init": "normal", "std": 0.02, "value": 0.0, "dtype": "float"}
    enums = {"init": ("normal", "zeros", "ones", "constant"), "dtype": ("float", "complex")}
    summary = ("a learned tensor with the given axes (no batch axes); sizes by parameter or keyword "
               "(`Param[T, D](T = 1)`); `init` = normal (`std`) | zeros | ones | constant (`value`); "
               "`dtype = complex`: stored as real and imaginary parts (a last axis of 2, counted as two "
               "parameters), each part drawn by `init`")
    example = "pos = Param[T, D](init = normal, std = 0.02)"
    symmetry_doc = ("does not move (a constant)", "whatever it is added to along its axes "
                    "(a positional embedding; see `binary`)")

    def symmetry(self, node, rule):
        return rule.state(())

    def keywords(self, attrs):
        """An axis whose size is not a parameter gets it by keyword, as in `split`."""
        return set(attrs["axes"])

    def infer(self, node, ins, ctx):
        kw = node.attrs["kw"]
        for option, init in (("std", "normal"), ("value", "constant")):
            if kw[option] != self.options[option] and kw["init"] != init:
                raise ArchError(f"`{option}` only applies to `init = {init}`", node.span, code="E204")
        sized = set(kw) - set(self.options)  # an axis named `init` is not sized by `init = ones`
        axes = [Axis(n, kw[n] if n in sized else ctx.axis_size(n, node.span)) for n in node.attrs["axes"]]
        for a in axes:
            ctx.static(a.size, node.span, f"the size of {a.name} in a Param")
        return TensorType(tuple(axes), batch=False, dtype=kw["dtype"])

    def parameters(self, node, ins, out):
        return {"": tuple(a.size for a in out.axes) + ((Size.of(2),) if out.dtype == "complex" else ())}

    def emit(self, node, e):
        if e.out.dtype == "complex":
            return f"torch.view_as_complex({self._create(node, e, self.parameters(node, e.ins, e.out)[''])})"
        return self._create(node, e, tuple(a.size for a in e.out.axes))

    def _create(self, node, e, sizes) -> str:
        shape = ", ".join(e.isize(s) for s in sizes)
        kw = node.attrs["kw"]
        init = {"zeros": f"torch.zeros({shape})", "ones": f"torch.ones({shape})",
                "constant": f"torch.full(({shape}{',' if len(sizes) == 1 else ''}), "
                            f"{e.ivalue(kw['value'])})",
                "normal": f"torch.randn({shape}) * {e.ivalue(kw['std'])}"}[kw["init"]]
        return e.parameter(f"nn.Parameter({init})")

    def label(self, node):
        kw = node.attrs.get("kw", {})
        text = "Param " + " ".join(f"{n}={kw[n]}" if n in kw else n for n in node.attrs["axes"])
        return text + (" complex" if kw.get("dtype") == "complex" else "")
