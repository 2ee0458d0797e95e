"""Fixed geometric transforms and group orbits: flip, rot90, orbit, unorbit.

`orbit` and `unorbit` make frame averaging over a finite group a composition of ordinary
ops: `mean[G](Net(orbit[G over Y X](x, group = rot90)))` runs `Net` on the four rotations of
`x` (broadcast over the new axis G) and averages, which is invariant under rot90 for any
`Net`; `unorbit` turns each result back first, for an equivariant average."""

from __future__ import annotations

from ..errors import ArchError
from ..sizes import Size
from ..types import Axis
from .base import Op, flat, fresh_axes, need_axes, register, without
from .dihedral import dihedral_orbit, dihedral_unorbit

_ORDER = {"rot90": 4, "flip": 2, "dihedral": 8}  # dihedral: p4m, element 4 s + k = turn^k reflect^s


@register
class Flip(Op):
    name = "flip"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "axes"
    summary = "reverse the named axes"
    example = "h = flip[X](x)"
    symmetry_doc = ("shifts (reversed: a shift by g becomes a shift by -g), flips; other factors "
                    "become fixed permutations", "—")

    def infer(self, node, ins, ctx):
        need_axes(ins[0], node.attrs["axes"], node.span, self.name)
        return ins[0]

    def symmetry(self, node, rule):
        axes = node.attrs["axes"]
        hit = rule.states[0].touching(axes)
        if not all(len(f.axes) == 1 and f.kind in ("shift", "flip") for f in hit):
            return rule.conjugate(axes, "flip")
        rest = [f for f in rule.states[0].factors if f not in hit]
        return rule.state(rest + [rule.moved(f, scale=-f.scale) if f.kind == "shift" else f for f in hit])

    def emit(self, node, e):
        dims = ", ".join(str(e.ins[0].dim(n)) for n in node.attrs["axes"])
        return f"{e.arg(0)}.flip({dims},)" if len(node.attrs["axes"]) == 1 else f"{e.arg(0)}.flip(({dims}))"


@register
class Rot90(Op):
    name = "rot90"
    dtypes = frozenset({"float", "int", "bool"})
    spec = "axes"
    options = {"k": 1}
    summary = "turn the plane of two axes by k quarter turns, from the first towards the second"
    example = "h = rot90[Y X](x, k = 1)"
    symmetry_doc = ("rot90 of the same plane; a shift or flip of one axis becomes one of the other; "
                    "other factors become fixed permutations", "—")

    def infer(self, node, ins, ctx):
        (x,) = ins
        axes = node.attrs["axes"]
        if len(axes) != 2:
            raise ArchError("`rot90` turns the plane of two axes: `rot90[Y X](x)`", node.span, code="E204")
        need_axes(x, axes, node.span, self.name)
        k = node.attrs["kw"]["k"]
        if not isinstance(k, Size) or not k.is_const:
            raise ArchError("`k` of `rot90` is a whole number", node.span, code="E204")
        a, b = (x.axis(n) for n in axes)
        if int(k.const) % 2 == 0:
            return x
        return x.replace([Axis(a.name, b.size) if n.name == a.name else Axis(b.name, a.size)
                          if n.name == b.name else n for n in x.axes])

    def symmetry(self, node, rule):
        a, b = node.attrs["axes"]
        for _ in range(int(node.attrs["kw"]["k"].const) % 4):
            state = self._quarter(rule, a, b)
            if state.broken:
                return state
            rule.then(state)
        return rule.keep()

    @staticmethod
    def _quarter(rule, a, b):
        """out[i, j] = x[j, n - 1 - i]: what each factor becomes after one quarter turn."""
        s = rule.states[0]
        hit = s.touching((a, b))
        new = []
        for f in hit:
            if f.kind == "rot" and set(f.axes) == {a, b}:
                new.append(f)
            elif f.axes == (a,) and f.kind in ("shift", "flip", "perm") and not f.origin:
                new.append(rule.moved(f, axes=(b,)))
            elif f.axes == (b,) and f.kind in ("shift", "flip"):
                new.append(rule.moved(f, axes=(a,), scale=-f.scale) if f.kind == "shift"
                           else rule.moved(f, axes=(a,)))
            else:
                return rule.conjugate((a, b), "rot90")
        return rule.state([f for f in s.factors if f not in hit] + new)

    def emit(self, node, e):
        a, b = (e.ins[0].dim(n) for n in node.attrs["axes"])
        return f"torch.rot90({e.arg(0)}, {e.value(node.attrs['kw']['k'])}, ({a}, {b}))"


class _Orbit(Op):
    spec = "map"
    options = {"group": "rot90"}
    enums = {"group": tuple(_ORDER)}

    def configure_map(self, clauses, span):
        c = clauses[0]
        if len(clauses) != 1 or c.rhs or not c.over or len(flat(c.lhs)) != 1:
            raise ArchError(f"`{self.name}` takes `G over Y X`: the group axis and the axes it acts on",
                            span, code="E204", help=f"for example `{self.example}`")
        return {"group_axis": flat(c.lhs)[0], "over": flat(c.over)}

    def acts_on(self, node):
        return {node.attrs["group_axis"], *node.attrs["over"]}

    def _check(self, node, x, ctx):
        over, group = node.attrs["over"], node.attrs["kw"]["group"]
        planar = group in ("rot90", "dihedral")
        if len(over) != (2 if planar else 1):
            raise ArchError(f"group `{group}` acts on {2 if planar else 1} axes", node.span,
                            code="E204", help=f"for example `{self.example}`")
        need_axes(x, over, node.span, self.name)
        if planar:
            ctx.equal(x.size(over[0]), x.size(over[1]), node.span, f"{group} needs a square plane")

    def _apply(self, e, code: str, power: str, over_dims) -> str:
        if e.node.attrs["kw"]["group"] == "dihedral":  # element g: reflect when g >= 4, turn g % 4
            return f"torch.rot90({code}.flip({over_dims[0]}) if {power} >= 4 else {code}, {power} % 4, " \
                   f"({over_dims[0]}, {over_dims[1]}))"
        if e.node.attrs["kw"]["group"] == "rot90":
            return f"torch.rot90({code}, {power}, ({over_dims[0]}, {over_dims[1]}))"
        return f"({code}.flip({over_dims[0]}) if {power} % 2 else {code})"


@register
class Orbit(_Orbit):
    name = "orbit"
    summary = ("stack the images of x under a finite group (rot90: 4 turns, flip: 2, dihedral: the 8 turns "
               "and reflections) along a new axis")
    example = "o = orbit[G over Y X](x, group = rot90)"
    symmetry_doc = ("the group acting on Y X becomes a cyclic shift of G (frame averaging: reduce G "
                    "after broadcasting any block over it); `group = dihedral`: rot90(Y, X) and flip of "
                    "Y or X (so dihedral(Y, X)) become a fixed permutation of G", "other actions on Y X")

    def infer(self, node, ins, ctx):
        (x,) = ins
        self._check(node, x, ctx)
        g = node.attrs["group_axis"]
        fresh_axes(x, (g,), node.span, self.name)
        return x.replace([Axis(g, Size.of(_ORDER[node.attrs["kw"]["group"]]))] + list(x.axes))

    def symmetry(self, node, rule):
        over, g = node.attrs["over"], node.attrs["group_axis"]
        s = rule.states[0]
        hit = s.touching(over)
        if not hit:
            return s
        if node.attrs["kw"]["group"] == "dihedral":
            return dihedral_orbit(rule, s, hit, tuple(over), g)
        kind = "rot" if node.attrs["kw"]["group"] == "rot90" else "flip"
        f = hit[0]
        if len(hit) != 1 or f.kind != kind or set(f.axes) != set(over):
            return rule.broken(f"`orbit` over the {kind} group does not commute with {f.describe()}",
                               certain=False)
        turn = -1 if f.axes == tuple(over) else 1  # o'[g] = o[g + 1]: G rolls back by one
        cyc = rule.moved(f, kind="cyc", axes=(g,), scale=Size.of(turn), origin=("orbit", tuple(over)))
        return rule.state([x for x in s.factors if x is not f] + [cyc])

    def emit(self, node, e):
        t = e.ins[0]
        n = _ORDER[node.attrs["kw"]["group"]]
        dims = [t.dim(a) for a in node.attrs["over"]]
        item = self._apply(e, "_x", "_g", dims)
        stack_dim = 1 if t.batch else 0
        return f"(lambda _x: torch.stack([{item} for _g in range({n})], {stack_dim}))({e.arg(0)})"


@register
class Unorbit(_Orbit):
    name = "unorbit"
    summary = "undo the group element of each orbit entry: entry g is turned back by g^-1"
    example = "u = unorbit[G over Y X](y, group = rot90)"
    symmetry_doc = ("a cyclic shift of G made by `orbit` becomes the group action on Y X again "
                    "(equivariant frame averaging); so does the permutation of G made by the dihedral "
                    "`orbit`", "other actions on Y X")

    def infer(self, node, ins, ctx):
        (x,) = ins
        self._check(node, x, ctx)
        g = node.attrs["group_axis"]
        need_axes(x, (g,), node.span, self.name)
        ctx.equal(x.size(g), Size.of(_ORDER[node.attrs["kw"]["group"]]), node.span, "orbit axis size")
        return x.replace([x.axis(g)] + without(x, (g,)))

    def symmetry(self, node, rule):
        over, g = node.attrs["over"], node.attrs["group_axis"]
        s = rule.states[0]
        if s.touching(over):
            return rule.broken(f"`unorbit` expects {' '.join(over)} not to move", certain=False)
        cyc = s.on(g)
        if cyc is None:
            return s
        if node.attrs["kw"]["group"] == "dihedral":
            return dihedral_unorbit(rule, s, cyc, tuple(over), g)
        kind = "rot" if node.attrs["kw"]["group"] == "rot90" else "flip"
        if cyc.kind != "cyc" or cyc.origin != ("orbit", tuple(over)):
            return rule.broken(f"`unorbit` expects {g} to be made by `orbit` over {' '.join(over)}",
                               certain=False)
        axes = tuple(over) if cyc.scale == -1 or kind == "flip" else tuple(reversed(over))
        return rule.state(list(s.factors) + [rule.moved(cyc, kind=kind, axes=axes, scale=Size.of(1),
                                                        origin=())])

    def emit(self, node, e):
        t, g = e.ins[0], node.attrs["group_axis"]
        n = _ORDER[node.attrs["kw"]["group"]]
        order = [g] + [a.name for a in without(t, (g,))]
        inner = t.replace([t.axis(a) for a in order[1:]])
        dims = [inner.dim(a) for a in node.attrs["over"]]
        pick = "_y[:, _g]" if t.batch else "_y[_g]"
        item = self._apply(e, pick, "-_g", dims) if node.attrs["kw"]["group"] != "dihedral" else (
            f"(lambda _z: _z.flip({dims[0]}) if _g >= 4 else _z)(torch.rot90({pick}, -_g % 4, "
            f"({dims[0]}, {dims[1]})))")  # (turn^k reflect^s)^-1 = reflect^s turn^-k
        return (f"(lambda _y: torch.stack([{item} for _g in range({n})], {1 if t.batch else 0}))"
                f"({e.arg(0, order)})")
