"""Operations that only move, relabel, split, join, pad or roll axes."""

from __future__ import annotations

from .. import static
from ..errors import ArchError, ShapeError
from ..sizes import Size
from ..types import Axis
from .base import Op, flat, fresh_axes, need_axes, padding_fits, prod, register, without


def _single(clauses, op, example, span):
    pairs = []
    for c in clauses:
        if not c.rhs or c.over:
            raise ArchError(f"`{op}` takes clauses `A -> B`", c.span, code="E204",
                            help=f"for example `{example}`")
        pairs.append((flat(c.lhs), flat(c.rhs)))
    return pairs


@register
class Rename(Op):
    name = "rename"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "map"
    summary = "give axes new names (no data moves): `rename[T -> S](k)`"
    example = "k = rename[T -> S](k)"
    symmetry_doc = ("every factor, moved to the new name with the same group element "
                    "(so `dot[S]` of a renamed copy cancels it)", "—")

    def symmetry(self, node, rule):
        return rule.rename(node.attrs["map"])

    def configure_map(self, clauses, span):
        pairs = _single(clauses, self.name, self.example, span)
        if any(len(a) != 1 or len(b) != 1 for a, b in pairs):
            raise ArchError("`rename` maps one axis to one axis per clause", span, code="E204",
                            help="to join axes use `merge`, to cut one use `split`")
        return {"map": {a[0]: b[0] for a, b in pairs}}

    def infer(self, node, ins, ctx):
        (x,) = ins
        m = node.attrs["map"]
        need_axes(x, tuple(m), node.span, self.name)
        fresh_axes(x.replace(without(x, tuple(m))), tuple(m.values()), node.span, self.name)
        return x.replace([Axis(m.get(a.name, a.name), a.size) for a in x.axes])

    def emit(self, node, e):
        return e.arg(0)

    def label(self, node):
        return "rename " + ", ".join(f"{a}→{b}" for a, b in node.attrs["map"].items())


@register
class Split(Op):
    name = "split"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "map"
    summary = "cut an axis into several: `Y -> Wy My` (sizes by keyword or by parameter)"
    example = "w = split[Y -> Wy My](x, My = 7)"
    symmetry_doc = ("a shift of Y by multiples of My becomes a shift of the outer part Wy; a flip "
                    "flips every part", "shifts by other amounts (they cross windows): "
                    "restricts to `by My`; other permutations")

    def symmetry(self, node, rule):
        for src, parts in node.attrs["pairs"]:
            state = rule.split(src, parts, [rule.axis_size(rule.out, n) for n in parts])
            if state.broken:
                return state
            rule.then(state)
        return rule.keep()

    def configure_map(self, clauses, span):
        pairs = _single(clauses, self.name, self.example, span)
        if any(len(a) != 1 or len(b) < 2 for a, b in pairs):
            raise ArchError("`split` cuts one axis into two or more per clause", span, code="E204",
                            help=f"for example `{self.example}`")
        return {"pairs": [(a[0], b) for a, b in pairs]}

    def keywords(self, attrs):
        return {n for _, parts in attrs["pairs"] for n in parts}

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = list(x.axes)
        for src, parts in node.attrs["pairs"]:
            need_axes(x, (src,), node.span, self.name)
            fresh_axes(x.replace(without(x, (src,))), parts, node.span, self.name)
            known = {n: node.attrs["kw"][n] if n in node.attrs["kw"] else ctx.maybe_size(n) for n in parts}
            unknown = [n for n, s in known.items() if s is None]
            if len(unknown) > 1:
                raise ShapeError(f"`split` needs the sizes of all but one of {' '.join(parts)}",
                                 node.span, code="E307", help=f"pass them: `split[...](x, {unknown[1]} = ...)`")
            total = x.size(src)
            if unknown:
                known[unknown[0]] = total / prod(s for s in known.values() if s is not None)
                ctx.integral(known[unknown[0]], node.span, f"split of {src} into {' '.join(parts)}")
            else:
                ctx.equal(prod(known.values()), total, node.span, f"split of {src}")
            i = [a.name for a in axes].index(src)
            axes[i:i + 1] = [Axis(n, known[n]) for n in parts]
        node.attrs["derived"] = {src: unknown for src, _ in node.attrs["pairs"]}
        return x.replace(axes)

    def emit(self, node, e):
        x, t = e.arg(0), e.ins[0]
        for src, parts in sorted(node.attrs["pairs"], key=lambda p: -t.dim(p[0])):
            sizes = [e.size(e.out.size(n)) for n in parts]
            x = f"{x}.unflatten({t.dim(src)}, ({', '.join(sizes)}))"
        return x

    def label(self, node):
        return "split " + ", ".join(f"{a}→{' '.join(b)}" for a, b in node.attrs["pairs"])


@register
class Merge(Op):
    name = "merge"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "map"
    summary = "join adjacent-in-meaning axes into one: `Wy My -> Y` (sizes multiply)"
    example = "x = merge[Wy My -> Y](w)"
    symmetry_doc = ("a shift of the outer part becomes a shift of the merged axis; anything else "
                    "moving only the parts becomes a fixed permutation of it (`merge[Y X -> N]` "
                    "then perm(N)-equivariant ops keeps shift(Y, X))", "a factor that also "
                    "moves axes outside the merge")

    def symmetry(self, node, rule):
        for parts, dst in node.attrs["pairs"]:
            state = rule.merge(parts, dst, [rule.axis_size(rule.ins[0], n) for n in parts])
            if state.broken:
                return state
            rule.then(state)
        return rule.keep()

    def configure_map(self, clauses, span):
        pairs = _single(clauses, self.name, self.example, span)
        if any(len(a) < 2 or len(b) != 1 for a, b in pairs):
            raise ArchError("`merge` joins two or more axes into one per clause", span, code="E204",
                            help=f"for example `{self.example}`")
        return {"pairs": [(a, b[0]) for a, b in pairs]}

    def infer(self, node, ins, ctx):
        (x,) = ins
        names = [a.name for a in x.axes]
        sizes = {a.name: a.size for a in x.axes}
        for parts, dst in node.attrs["pairs"]:
            need_axes(x, parts, node.span, self.name)
            rest = [n for n in names if n not in parts]
            fresh_axes(x.replace([Axis(n, sizes[n]) for n in rest]), (dst,), node.span, self.name)
            i = max(names.index(p) for p in parts)
            names = [n for n in names[:i] if n not in parts] + [dst] + names[i + 1:]
            sizes[dst] = prod(sizes[p] for p in parts)
        return x.replace([Axis(n, sizes[n]) for n in names])

    def layout(self, node, t):
        """The input order that makes each group adjacent, at its last member's place: a window
        partition `merge[My Mx -> T]` of [Wy, My, Wx, Mx] gives [Wy, Wx, T], the windows
        together, so that folding them into SDPA's batch is a view (at the first member's place,
        [Wy, T, Wx] made every q, k and v a copy)."""
        order = [a.name for a in t.axes]
        for parts, _ in node.attrs["pairs"]:
            i = max(order.index(p) for p in parts)
            order = [n for n in order[:i] if n not in parts] + list(parts) + order[i + 1:]
        return order

    def emit(self, node, e):
        t = e.ins[0]
        order = self.layout(node, t)
        x = e.arg(0, order)
        arranged = t.replace([t.axis(n) for n in order])
        for parts, _ in sorted(node.attrs["pairs"], key=lambda p: -arranged.dim(p[0][0])):
            first = arranged.dim(parts[0])
            x = f"{x}.flatten({first}, {first + len(parts) - 1})"
        return x

    def label(self, node):
        return "merge " + ", ".join(f"{' '.join(a)}→{b}" for a, b in node.attrs["pairs"])


@register
class Concat(Op):
    name = "concat"
    per_operand = True  # `concat[T, T -> T]`: one clause per operand, the same axis in each
    dtypes = frozenset({"float", "int", "bool"})
    arity = None
    spec = "map"
    summary = ("join tensors along an axis: `concat[C](a, b)`, or `concat[A, B -> C](a, b)`; an operand "
               "without batch axes (a `Param`, such as a class token) is repeated over the batch")
    example = "h = concat[C1, C2 -> C](skip, up)"
    symmetry_doc = ("factors on the other axes that all operands share", "any action on the "
                    "joined axes")

    def symmetry(self, node, rule):
        parts = node.attrs["axes_in"] if len(node.attrs["parts"]) == 1 else node.attrs["parts"]
        for i, p in enumerate(parts):
            broken = rule.mix((p,), f"`concat` joins along {p}", i=i, certain=False)
            if broken:
                return broken
        return rule.align()

    def configure_map(self, clauses, span):
        names = [flat(c.lhs) for c in clauses]
        if any(len(n) != 1 or c.over for n, c in zip(names, clauses)) or any(c.rhs for c in clauses[:-1]):
            raise ArchError("`concat` takes `C` or `A, B -> C`", span, code="E204",
                            help=f"for example `{self.example}`")
        last = clauses[-1].rhs
        if last and len(flat(last)) != 1:
            raise ArchError("`concat` produces one axis", span, code="E204")
        return {"parts": [n[0] for n in names], "out": flat(last)[0] if last else names[0][0]}

    def infer(self, node, ins, ctx):
        parts, out = node.attrs["parts"], node.attrs["out"]
        if len(parts) == 1:
            parts = parts * len(ins)
        if len(parts) != len(ins) or len(ins) < 2:
            raise ArchError(f"`concat` names {len(parts)} axes for {len(ins)} tensors", node.span,
                            code="E308")
        node.attrs["axes_in"] = parts
        first = ins[0]
        need_axes(first, (parts[0],), node.span, self.name, "first operand")
        rest0 = without(first, (parts[0],))
        total = first.size(parts[0])
        for t, p in zip(ins[1:], parts[1:]):
            need_axes(t, (p,), node.span, self.name, "operand")
            rest = {a.name: a.size for a in without(t, (p,))}
            if set(rest) != {a.name for a in rest0}:
                raise ShapeError(f"`concat` operands differ beyond the joined axis: {first} and {t}",
                                 node.span, code="E309")
            for a in rest0:
                ctx.equal(a.size, rest[a.name], node.span, f"axis {a.name} of concat operands")
            total = total + t.size(p)
        i = first.names.index(parts[0])
        axes = list(first.axes)
        axes[i] = Axis(out, total)
        return first.replace(axes, batch=any(t.batch for t in ins))

    def emit(self, node, e):
        parts = node.attrs["axes_in"]
        order0 = [a.name for a in e.ins[0].axes]
        args = []
        batched = next((e.arg(i) for i, t in enumerate(e.ins) if t.batch), None)
        for i, t in enumerate(e.ins):
            order = [parts[i] if n == parts[0] else n for n in order0]
            x = e.arg(i, order)
            if batched is not None and not t.batch:  # a learned token: one copy per example
                x = f"{x}.expand({batched}.shape[0]{', -1' * len(order)})"
            args.append(x)
        return f"torch.cat(({', '.join(args)}), dim={e.out.dim(node.attrs['out'])})"


@register
class Pad(Op):
    name = "pad"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "axes"
    options = {"width": 0, "mode": "constant", "value": 0.0}
    enums = {"mode": ("constant", "circular", "reflect", "replicate")}
    summary = ("pad each named axis by `width` on both sides, or `before` / `after` it (each defaults "
               "to `width`; `mode` = constant | circular | reflect | replicate)")
    example = "h = pad[Y X](x, width = 1, mode = circular)"
    symmetry_doc = ("everything on other axes", "any action on a padded axis (its length changes; "
                    "use the padding of Conv, which the analysis understands)")

    def symmetry(self, node, rule):
        why = f"`pad` changes the length of {' '.join(node.attrs['axes'])}"
        return rule.mix(node.attrs["axes"], why, certain=False) or rule.keep()

    def keywords(self, attrs):
        return {"before", "after"}

    @staticmethod
    def sides(kw) -> tuple[Size, Size]:
        """(before, after): each given one, else `width`."""
        return kw.get("before", kw["width"]), kw.get("after", kw["width"])

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = node.attrs["axes"]
        need_axes(x, axes, node.span, self.name)
        before, after = self.sides(node.attrs["kw"])
        for w in (before, after):
            padding_fits(ctx, node, x, node.attrs["kw"]["mode"], w, axes, self.name)
        if node.attrs["kw"]["mode"] != "constant":  # layout as emitted: the padded axes last
            return x.replace(without(x, axes) + [Axis(n, x.size(n) + before + after) for n in axes])
        return x.replace([Axis(a.name, a.size + before + after) if a.name in axes else a for a in x.axes])

    def emit(self, node, e):
        axes, kw = node.attrs["axes"], node.attrs["kw"]
        pair = [e.value(w) for w in self.sides(kw)]
        if kw["mode"] == "constant":
            t = e.ins[0]
            by_dim = {t.dim(n): n for n in t.names}
            pads = []  # F.pad lists (before, after) from the last dimension backwards
            for d in range(t.rank - 1, min(t.dim(n) for n in axes) - 1, -1):
                pads += pair if by_dim[d] in axes else ["0", "0"]
            value = "" if kw["value"] == 0 else f", value={e.value(kw['value'])}"
            return f"F.pad({e.arg(0)}, ({', '.join(pads)}){value})"
        x = e.arg(0, [a.name for a in without(e.ins[0], axes)] + list(axes))
        pads = ", ".join(pair * len(axes))
        return e.batched(f"F.pad({{}}, ({pads}), mode={kw['mode']!r})", x, e.ins[0], axes, 2)


@register
class Roll(Op):
    name = "roll"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "axes"
    options = {"shift": None}
    summary = "cyclic shift of the named axes by `shift` (torch.roll)"
    example = "h = roll[Y X](x, shift = 3)"
    symmetry_doc = ("shifts, a p4 rotation axis's cyclic shift and `aps`'s rolls (cyclic shifts "
                    "commute); other factors become fixed permutations (conjugated)", "—")

    def symmetry(self, node, rule):
        hit = rule.states[0].touching(node.attrs["axes"])
        if all(f.kind in ("shift", "cyc", "ashift") for f in hit):
            return rule.keep()
        return rule.conjugate(node.attrs["axes"], "roll")

    def infer(self, node, ins, ctx):
        need_axes(ins[0], node.attrs["axes"], node.span, self.name)
        return ins[0]

    def emit(self, node, e):
        axes = node.attrs["axes"]
        s = e.value(node.attrs["kw"]["shift"])
        dims = ", ".join(str(e.ins[0].dim(n)) for n in axes)
        shifts = ", ".join([s] * len(axes))
        rolled = f"torch.roll({e.arg(0)}, shifts=({shifts},), dims=({dims},))"
        # a shift of 0 (Swin's unshifted blocks) copies nothing
        if static.symbols(node.attrs["kw"]["shift"]):
            return f"({rolled} if {s} != 0 else {e.arg(0)})"
        return e.arg(0) if s in ("0", "-0") else rolled


@register
class Select(Op):
    name = "select"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "axes"
    options = {"index": None}
    summary = "take one position along an axis, which disappears (ViT's class token: `index = 0`)"
    example = "cls = select[T](x, index = 0)"
    symmetry_doc = ("everything on the other axes", "any action on the selected axis (one fixed "
                    "position is kept)")

    def symmetry(self, node, rule):
        why = f"`select` keeps the fixed position {node.attrs['kw']['index']} of {node.attrs['axes'][0]}"
        return rule.mix(node.attrs["axes"], why) or rule.keep()

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = node.attrs["axes"]
        if len(axes) != 1:
            raise ArchError("`select` takes one axis", node.span, code="E204",
                            help=f"for example `{self.example}`")
        need_axes(x, axes, node.span, self.name)
        index, size = node.attrs["kw"]["index"], x.size(axes[0])
        if not isinstance(index, Size) or not index.is_const or index.const.denominator != 1:
            raise ShapeError("`select` takes a whole-number `index`", node.span, code="E306")
        low = -index if index.const < 0 else index + 1  # PyTorch: -size <= index < size
        ctx.at_least(size, low, node.span, f"select: index {index} not out of range for {axes[0]}")
        return x.replace(without(x, axes))

    def emit(self, node, e):
        axis, index = node.attrs["axes"][0], node.attrs["kw"]["index"]
        parts = e.unbound(0, axis)
        if parts is not None:
            return f"{parts}[{int(index.const) % int(e.ins[0].size(axis).const)}]"
        return f"{e.arg(0)}.select({e.ins[0].dim(axis)}, {e.value(index)})"
