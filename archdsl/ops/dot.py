"""Contractions: `dot` over named axes (einsum), and the fused attention kernel that the
fusion pass puts in place of `dot -> scale -> mask -> softmax -> dot`."""

from __future__ import annotations

from ..errors import ArchError, ShapeError
from ..sizes import Size
from ..types import Axis, TensorType
from . import phase
from .base import Op, need_axes, prod, register, without

MAX_EINSUM_AXES = 52  # the subscripts torch.einsum accepts: a-z, A-Z


def missing_rename(mine: TensorType, other: TensorType, axes: tuple[str, ...]) -> str | None:
    """The likely forgotten `rename` when an operand lacks a contracted axis M that the other
    has: an axis X of this operand, not in the other's contracted set, whose size is M's
    (`v: [T, H, K]` in `dot[S](w, v)` with `S = T`: rename T to S)."""
    for m in axes:
        if mine.axis(m) is not None or other.axis(m) is None:
            continue
        for x in mine.axes:
            if x.name not in axes and x.size == other.size(m):
                return f"it has {x.name} of the same size: rename it first, `rename[{x.name} -> {m}](...)`"
    return None


@register
class Dot(Op):
    name = "dot"
    arity = 2
    spec = "axes"
    summary = "multiply and sum over the named axes; shared other axes are batched, the rest kept"
    example = "s = dot[K](q, k)"
    symmetry_doc = ("invariance in the contracted axes when both operands move by the same element "
                    "there (attention's `dot[S]` over a renamed copy); shared factors elsewhere; "
                    "a phase on a kept axis of one operand (FNO's channel mixing per mode)",
                    "operands moved differently along a contracted or shared axis")

    dtypes = frozenset({"float", "complex"})

    def check_dtypes(self, node, ins):
        super().check_dtypes(node, ins)
        if ins[0].dtype != ins[1].dtype:
            raise ShapeError(f"`dot` of a {ins[0].dtype} and a {ins[1].dtype} tensor", node.span, code="E304",
                             help="make both complex: learned weights by `Param[...](dtype = complex)`")

    def symmetry(self, node, rule):
        axes = node.attrs["axes"]
        if phase.present(rule):
            return phase.product(rule, lambda: rule.contract(axes), contracted=axes)
        return rule.contract(axes)

    def infer(self, node, ins, ctx):
        a, b = ins
        k = node.attrs["axes"]
        for mine, other, what in ((a, b, "first operand"), (b, a, "second operand")):
            try:
                need_axes(mine, k, node.span, self.name, what)
            except ShapeError as err:
                hint = missing_rename(mine, other, k)
                raise ShapeError(err.message, err.span, code=err.code, help=hint or err.help) from None
        for ax in a.axes:
            other = b.axis(ax.name)
            if other is not None:
                ctx.equal(ax.size, other.size, node.span, f"axis {ax.name} of both dot operands")
        axes = without(a, k) + [x for x in without(b, k) if a.axis(x.name) is None]
        if len(set(a.names) | set(b.names)) > MAX_EINSUM_AXES:
            raise ArchError(f"`dot` over {len(set(a.names) | set(b.names))} distinct axes: torch.einsum "
                            f"takes at most {MAX_EINSUM_AXES}", node.span, code="E360",
                            help="merge axes that travel together first: `merge[A B -> N](x)`")
        return TensorType(tuple(axes), a.batch or b.batch, a.dtype)

    def flops(self, node, ins, out):
        """2 per multiply-add; none when the contracted axes hold one element in all, where
        `torch.einsum` is an elementwise product (as `FlopCounterMode` counts it): the factor
        `1 - 1 // k` is 0 at k = 1 and 1 above."""
        k = prod(ins[0].size(n) for n in node.attrs["axes"])
        return 2 * prod(a.size for a in out.axes) * k * (1 - Size.of(1).floordiv(k))

    def emit(self, node, e):
        letters = e.letters([*e.ins[0].names, *e.ins[1].names])

        def sub(t: TensorType, names=None) -> str:
            return ("..." if t.batch else "") + "".join(letters[n] for n in (names or t.names))

        if e.out.dtype == "complex":  # FNO's channel mixing per frequency
            # The contracted axes innermost, contiguous: einsum's batched matmul over the shared
            # (frequency) axes then never runs with a batch stride of 1, which measured about
            # 100x slower on the CPU (`python benchmarks/spectral.py --fno`).
            k = list(node.attrs["axes"])
            orders = [[n for n in t.names if n not in k] + k for t in e.ins]
            eq = f"{sub(e.ins[0], orders[0])},{sub(e.ins[1], orders[1])}->{sub(e.out)}"
            args = ", ".join(f"{e.arg(i, orders[i])}.contiguous()" for i in range(2))
            return f"torch.einsum({eq!r}, {args})"
        eq = f"{sub(e.ins[0])},{sub(e.ins[1])}->{sub(e.out)}"
        return f"torch.einsum({eq!r}, {e.arg(0)}, {e.arg(1)})"


@register
class Attention(Op):
    """Scaled dot-product attention as one kernel; only the fusion pass creates it."""

    name = "attention"
    arity = None
    fused = True
    summary = ("fused softmax(q k / scale + masks) v (F.scaled_dot_product_attention, additive masks as "
               "its attn_mask); made by the fusion pass")
    example = "(made by `archc compile` from dot -> scale -> softmax -> dot)"
    symmetry_doc = ("as the `dot -> softmax -> dot` it replaces: factors on the queries' axes; "
                    "the key axis cancels when keys and values move alike",
                    "keys and values moved differently; any action on the feature axis; "
                    "order-dependent actions when causal")

    def symmetry(self, node, rule):
        q, k, v = rule.states
        s, f = node.attrs["s"], node.attrs["k"]
        for st in (q, k, v):
            hit = [x for x in st.factors if f in x.axes]
            if hit:
                return rule.broken(f"attention mixes its feature axis {f}", certain=True)
        if [x for x in k.factors if s in x.axes] != [x for x in v.factors if s in x.axes]:
            return rule.broken(f"attention keys and values move differently along {s}")
        for b in node.attrs["batch"]:
            if not q.on(b) == k.on(b) == v.on(b):
                return rule.broken(f"attention operands move differently along the batch axis {b}")
        if node.attrs.get("causal") not in (None, False):
            broken = rule.mix((node.attrs["t"],), "causal attention depends on token order")
            if broken:
                return broken
        return rule.keep(0)

    def infer(self, node, ins, ctx):
        q, k, v = ins[:3]
        t, s, f = node.attrs["t"], node.attrs["s"], node.attrs["k"]
        batch = [a for a in q.axes if a.name not in (t, f)]
        vf = [a for a in v.axes if a.name != s and a.name not in {b.name for b in batch}]
        if len(vf) != 1:
            raise ArchError("attention values need exactly one feature axis", node.span, code="E501")
        need_axes(k, (s, f), node.span, self.name)
        if not {a.name for a in k.axes} - {s, f} <= {a.name for a in batch}:
            raise ShapeError("attention keys carry batch axes the queries lack", node.span, code="E310")
        node.attrs["batch"] = tuple(a.name for a in batch)
        return TensorType(tuple(batch + [q.axis(t), Axis(vf[0].name, vf[0].size)]),
                          q.batch or k.batch or v.batch)

    def flops(self, node, ins, out):
        q, k, v = ins[:3]
        scores = prod(a.size for a in q.axes if a.name != node.attrs["k"]) * k.size(node.attrs["s"])
        return 2 * scores * q.size(node.attrs["k"]) + 2 * scores * out.axes[-1].size

    def emit(self, node, e):
        b = list(node.attrs["batch"])
        t, s, f = node.attrs["t"], node.attrs["s"], node.attrs["k"]
        vf = e.out.axes[-1].name
        q = e.arg(0, b + [t, f])
        k = self._expanded(e, 1, b, [s, f])
        v = self._expanded(e, 2, b, [s, vf])
        mask = " + ".join(self._mask(e, i, b + [t, s]) for i in range(3, len(e.ins)))
        # SDPA's fused kernels take (N, heads, L, E): fold the outer batch axes (windows) into N
        fold = len(b) >= 2 and all(x.batch for x in e.ins[:3])
        if fold:
            q, k, v = (f"{x}.flatten(0, {len(b) - 1})" for x in (q, k, v))
            if mask:
                sizes = ", ".join(e.size(e.ins[0].size(n)) for n in b + [t]) + f", {e.size(e.ins[1].size(s))}"
                mask = f"({mask}).expand({e.arg(0)}.shape[0], {sizes}).flatten(0, {len(b) - 1})"
        args = [q, k, v] + ([f"attn_mask={mask}"] if mask else [])
        causal, scale = node.attrs.get("causal"), node.attrs.get("scale")
        if causal is not None:
            args.append(f"is_causal={e.value(causal)}")
        if scale is not None:  # a float for TorchScript, which takes no int here
            text = e.value(scale)
            args.append(f"scale={float(scale.const) if scale.is_const else f'float({text})'}"
                        if isinstance(scale, Size) else f"scale={text}")
        out = f"F.scaled_dot_product_attention({', '.join(args)})"
        if fold:
            out += f".unflatten(0, (-1, {', '.join(e.size(e.ins[0].size(n)) for n in b[:-1])}))"
        return out

    @staticmethod
    def _expanded(e, i: int, batch: list[str], rest: list[str]) -> str:
        """Keys or values laid out (batch, *rest); expanded over the query heads they are shared
        by (grouped-query attention), as `repeat_kv` does in hand-written models."""
        t = e.ins[i]
        if all(t.axis(n) is not None for n in batch):
            return e.arg(i, batch + rest)
        sizes = ", ".join("-1" if t.axis(n) is not None else e.size(e.ins[0].size(n)) for n in batch)
        return f"{e.broadcast(i, batch + rest)}.expand(-1, {sizes}, -1, -1)"

    @staticmethod
    def _mask(e, i: int, layout: list[str]) -> str:
        """Mask `i` laid out to broadcast against the scores (batch, *layout)."""
        return e.broadcast(i, layout)

    def label(self, node):
        return f"attention {node.attrs['t']}×{node.attrs['s']} over {node.attrs['k']} (fused SDPA)"


