"""Index operations: where the maximum is (`argmax`, `topk`), reading and adding at given
positions (`gather`, `scatter_add`) and one-hot vectors. Indices are `int` tensors (int64 in
PyTorch); positions along an axis count from 0. None of them does floating-point arithmetic
that `FlopCounterMode` counts, so their FLOPs are 0."""

from __future__ import annotations

from ..errors import ArchError, ShapeError
from ..sizes import Size
from ..types import Axis, TensorType
from .base import Op, flat, fresh_axes, need_axes, register, without

_ANY = frozenset({"float", "int"})


def _one_map(op: Op, clauses, span) -> tuple[str, str]:
    """`A -> K`: one axis consumed, one made."""
    c = clauses[0]
    if len(clauses) != 1 or not c.rhs or c.over or len(flat(c.lhs)) != 1 or len(flat(c.rhs)) != 1:
        raise ArchError(f"`{op.name}` takes one map `A -> K`", span, code="E204",
                        help=f"for example `{op.example}`")
    return flat(c.lhs)[0], flat(c.rhs)[0]


def _new_size(node, ctx, name: str):
    """The size of a new axis: by keyword (`K = 2`) or the block parameter of its name."""
    kw = node.attrs["kw"]
    return kw[name] if name in kw else ctx.axis_size(name, node.span)


def _need_int(node, t: TensorType, what: str) -> None:
    if t.dtype != "int":
        raise ShapeError(f"`{node.op}`'s {what} must be an `int` tensor, but it is {t.dtype}", node.span,
                         code="E390", help="indices come from `argmax`, `topk` or an `int` input")


def _joined(first: TensorType, second: TensorType, node, ctx, what: str) -> list[Axis]:
    """`first`'s axes, then `second`'s that `first` lacks; shared axes must have equal sizes."""
    for a in second.axes:
        if first.axis(a.name) is not None:
            ctx.equal(first.size(a.name), a.size, node.span, f"axis {a.name} of {what}")
    return list(first.axes) + [a for a in second.axes if first.axis(a.name) is None]


def _one_axis(op: Op, node) -> str:
    if len(node.attrs["axes"]) != 1:
        raise ArchError(f"`{op.name}` acts along one axis", node.span, code="E204",
                        help=f"for example `{op.example}`")
    return node.attrs["axes"][0]


@register
class Argmax(Op):
    name = "argmax"
    dtypes = _ANY
    spec = "axes"
    summary = "the position (an `int`) of the largest value along an axis, the first one on ties; the axis disappears"
    example = "i = argmax[V](logits)"
    symmetry_doc = ("everything on other axes", "any action on the axis (the answer is a position along it)")

    def symmetry(self, node, rule):
        return rule.mix(node.attrs["axes"], "`argmax` answers a position along its axis") or rule.keep()

    def infer(self, node, ins, ctx):
        (x,) = ins
        axis = _one_axis(self, node)
        need_axes(x, (axis,), node.span, self.name)
        return x.replace(without(x, (axis,)), dtype="int")

    def emit(self, node, e):
        return f"{e.arg(0)}.argmax(dim={e.ins[0].dim(node.attrs['axes'][0])})"


@register
class Topk(Op):
    name = "topk"
    dtypes = _ANY
    spec = "map"
    summary = ("the positions (`int`) of the K largest values along an axis, largest first, the lower "
               "position first on ties; A is replaced by K (size by keyword or parameter)")
    example = "idx = topk[E -> K](logits, K = 2)"
    symmetry_doc = ("everything on other axes", "any action on the ranked axis (the answer is positions along it)")

    def configure_map(self, clauses, span):
        src, dst = _one_map(self, clauses, span)
        return {"inp": (src,), "out": (dst,)}

    def keywords(self, attrs):
        return set(attrs["out"])

    def symmetry(self, node, rule):
        return rule.mix(node.attrs["inp"], "`topk` answers positions along its axis") or rule.keep()

    def infer(self, node, ins, ctx):
        (x,) = ins
        (src,), (dst,) = node.attrs["inp"], node.attrs["out"]
        need_axes(x, (src,), node.span, self.name)
        fresh_axes(x.replace(without(x, (src,))), (dst,), node.span, self.name)
        k = _new_size(node, ctx, dst)
        if k.is_const:
            ctx.at_least(k, Size.of(1), node.span, f"topk: {dst} at least 1")
        ctx.at_least(x.size(src), k, node.span, f"topk: {dst} at most {src}")
        return x.replace([Axis(dst, k) if a.name == src else a for a in x.axes], dtype="int")

    def emit(self, node, e):
        d = e.ins[0].dim(node.attrs["inp"][0])
        k = e.size(e.out.size(node.attrs["out"][0]))
        return f"{e.arg(0)}.sort(dim={d}, descending=True, stable=True).indices.narrow({d}, 0, {k})"

    def label(self, node):
        return f"topk {node.attrs['inp'][0]} → {node.attrs['out'][0]}"


class _Indexed(Op):
    """`gather` and `scatter_add`: a value tensor and an index tensor whose other axes broadcast
    against each other by name, as in `binary`."""

    arity = 2
    spec = "map"
    helpers: tuple[str, ...]
    symmetry_doc = ("everything on the axes both operands broadcast over",
                    "any action on the indexed axes (which positions are read or written depends on the values)")

    def configure_map(self, clauses, span):
        src, dst = _one_map(self, clauses, span)
        return {"inp": (src,), "out": (dst,)}

    def check_dtypes(self, node, ins):
        if ins[0].dtype not in self.value_dtypes:
            raise ShapeError(f"`{self.name}` takes {' or '.join(sorted(self.value_dtypes))} values, but its "
                             f"input is {ins[0].dtype}", node.span, code="E304")
        _need_int(node, ins[1], "index (second argument)")

    def symmetry(self, node, rule):
        acted = [*node.attrs["inp"], *node.attrs["out"]]
        why = f"`{self.name}` reads or writes positions chosen by values"
        return (rule.mix(acted, why, 0, certain=False) or rule.mix(acted, why, 1, certain=False)
                or rule.align())

    def _layout(self, e, value_axis: str, index_axis: str) -> tuple[list[str], list[str]]:
        """The output's names, and the same with the index axis spelled as the value's axis."""
        names = list(e.out.names)
        return names, [value_axis if n == index_axis else n for n in names]

    def label(self, node):
        return f"{self.name} {node.attrs['inp'][0]} → {node.attrs['out'][0]}"


@register
class Gather(_Indexed):
    name = "gather"
    value_dtypes = frozenset({"float", "int", "bool"})
    summary = ("`gather[A -> K](x, idx)`: `y[k] = x[A = idx[k]]`; the index's axis K replaces A, other "
               "axes of both broadcast by name")
    example = "g = gather[E -> K](logits, idx)"
    helpers = ("_gather",)

    def infer(self, node, ins, ctx):
        x, idx = ins
        (a,), (k,) = node.attrs["inp"], node.attrs["out"]
        need_axes(x, (a,), node.span, self.name, "values")
        need_axes(idx, (k,), node.span, self.name, "index")
        fresh_axes(x, (k,), node.span, self.name)
        fresh_axes(idx, (a,), node.span, self.name)
        head = x.replace([idx.axis(k) if n.name == a else n for n in x.axes])
        axes = _joined(head, idx, node, ctx, "the values and the index")
        return TensorType(tuple(axes), x.batch or idx.batch, x.dtype)

    def emit(self, node, e):
        (a,), (k,) = node.attrs["inp"], node.attrs["out"]
        names, value_names = self._layout(e, a, k)
        dim = names.index(k) - len(names)
        return f"{e.helper('_gather')}({e.broadcast(0, value_names)}, {e.broadcast(1, names)}, {dim})"


@register
class ScatterAdd(_Indexed):
    name = "scatter_add"
    value_dtypes = frozenset({"float", "int"})
    summary = ("`scatter_add[K -> A](src, idx, A = n)`: `y[a] = sum over k with idx[k] = a of src[k]` "
               "(zero where nothing lands); A's size by keyword or parameter")
    example = "y = scatter_add[K -> E](w, idx, E = 8)"
    helpers = ("_scatter_add",)

    def keywords(self, attrs):
        return set(attrs["out"])

    def infer(self, node, ins, ctx):
        src, idx = ins
        (k,), (a,) = node.attrs["inp"], node.attrs["out"]
        need_axes(src, (k,), node.span, self.name, "values")
        need_axes(idx, (k,), node.span, self.name, "index")
        fresh_axes(src, (a,), node.span, self.name)
        fresh_axes(idx, (a,), node.span, self.name)
        axes = _joined(src, idx, node, ctx, "the values and the index")
        size = _new_size(node, ctx, a)
        return TensorType(tuple(Axis(a, size) if x.name == k else x for x in axes),
                          src.batch or idx.batch, src.dtype)

    def emit(self, node, e):
        (k,), (a,) = node.attrs["inp"], node.attrs["out"]
        names, value_names = self._layout(e, k, a)
        dim = names.index(a) - len(names)
        size = e.size(e.out.size(a))
        return (f"{e.helper('_scatter_add')}({e.broadcast(0, value_names)}, {e.broadcast(1, value_names)}, "
                f"{dim}, {size})")


@register
class Onehot(Op):
    name = "onehot"
    dtypes = frozenset({"int"})
    spec = "axes"
    summary = ("`onehot[A](idx, A = n)`: a new last axis A with 1 at position idx and 0 elsewhere, as "
               "`int` (multiply by a float tensor to use it)")
    example = "m = onehot[E](idx, E = 8)"
    symmetry_doc = ("everything on the index's axes (pointwise)", "—")

    def keywords(self, attrs):
        return set(attrs["axes"])

    def symmetry(self, node, rule):
        return rule.keep()

    def infer(self, node, ins, ctx):
        (idx,) = ins
        axis = _one_axis(self, node)
        fresh_axes(idx, (axis,), node.span, self.name)
        return idx.replace([*idx.axes, Axis(axis, _new_size(node, ctx, axis))], dtype="int")

    def emit(self, node, e):
        return f"F.one_hot({e.arg(0)}, {e.size(e.out.axes[-1].size)})"
