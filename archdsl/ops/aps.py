"""Adaptive polyphase sampling (Chaman & Dokmanić, "Truly Shift-Invariant Convolutional Neural
Networks"): downsample by keeping, of the stride**2 phases of the grid, the one with the largest
norm. A shift of the input permutes the phases, so the same one wins and the output is a
(input-dependent) roll of the unshifted output: with circular convolutions and a global pool
after it, a CNN is exactly invariant to every shift, not only to multiples of its stride."""

from __future__ import annotations

from ..errors import ArchError
from ..types import Axis
from .base import Op, at_least, flat, need_axes, register, without


@register
class APS(Op):
    name = "aps"
    spec = "map"
    options = {"stride": 2}
    summary = ("adaptive polyphase sampling over 1-2 axes: keep the stride phase with the largest "
               "norm over the named axes (`C over Y X`)")
    example = "h = aps[C over Y X](h, stride = 2)"
    symmetry_doc = ("every shift of Y X, as a roll the input chooses (exact for a unique largest "
                    "phase; global pooling then makes it invariant); any permutation of the named "
                    "axes", "other actions on Y X; shifts when an axis outside the spec moves")

    def configure_map(self, clauses, span):
        c = clauses[0]
        if len(clauses) != 1 or c.rhs or not c.over or not 1 <= len(flat(c.over)) <= 2:
            raise ArchError("`aps` takes `C over Y X`: the axes of the norm and 1-2 sampled axes", span,
                            code="E204", help=f"for example `{self.example}`")
        return {"axes": flat(c.lhs), "over": flat(c.over)}

    def acts_on(self, node):
        return {*node.attrs["axes"], *node.attrs["over"]}

    def infer(self, node, ins, ctx):
        (x,) = ins
        named, over, s = node.attrs["axes"], node.attrs["over"], node.attrs["kw"]["stride"]
        need_axes(x, named + over, node.span, self.name)
        at_least(ctx, node, self.name, {"stride": 1})
        for n in over:
            ctx.integral(x.size(n) / s, node.span, f"aps: {n} divisible by the stride")
        return x.replace(without(x, named + over) + [x.axis(n) for n in named]
                         + [Axis(n, x.size(n) / s) for n in over])

    def symmetry(self, node, rule):
        named, over = node.attrs["axes"], node.attrs["over"]
        s = rule.states[0]
        stride = rule.size(node.attrs["kw"]["stride"])
        if stride is not None and stride.is_const and stride.const == 1:
            return s  # one phase to choose from: the identity
        hit = s.touching(over)
        for f in s.touching(named):
            if not set(f.axes) <= set(named):
                return rule.broken(f"`aps` does not commute with {f.describe()}", certain=False)
        if not hit:
            return s
        rolled = len(hit) == 1 and hit[0].kind == "ashift" and set(hit[0].axes) == set(over)
        if not rolled and any(f.kind != "shift" or len(f.axes) != 1 for f in hit):
            return rule.broken(f"`aps` keeps shifts only, not {hit[0].describe()}", certain=False)
        outside = [a for a in rule.ins[0].names if a not in named + over]
        if outside:  # the phase is chosen separately at each position of those axes
            return rule.broken(f"`aps` chooses its phase per position of {', '.join(outside)}; name them "
                               f"in its spec (`aps[{' '.join(outside + list(named))} over ...]`)",
                               certain=False)
        st = node.attrs["kw"]["stride"]
        # (an input already rolled by an earlier `aps`: its grid is the shape pass's precondition)
        needs = () if rolled else tuple(r for f in hit for r in rule.grid_requirement(f, st))
        note = rule.note("assume", "a unique largest polyphase component (generic inputs)", requires=needs)
        gens = tuple(sorted({g for f in hit for g in f.gen}))
        roll = rule.moved(hit[0], gen=gens, kind="ashift", axes=tuple(over), scale=rule.size(1),
                          origin=("aps", rule.fresh()))
        return rule.state([f for f in s.factors if f not in hit] + [roll], [note])

    def emit(self, node, e):
        named, over = node.attrs["axes"], node.attrs["over"]
        t = e.ins[0]
        x = e.arg(0, [a.name for a in without(t, named + over)] + list(named) + list(over))
        s = e.value(node.attrs["kw"]["stride"])
        if len(over) == 2:
            phases = f"{{}}.unflatten(-1, (-1, {s})).unflatten(-3, (-1, {s})).movedim((-3, -1), (1, 2)).flatten(1, 2)"
        else:
            phases = f"{{}}.unflatten(-1, (-1, {s})).movedim(-1, 1)"
        pick = ("(lambda _p: _p[torch.arange(_p.shape[0], device=_p.device), "
                "_p.flatten(2).norm(dim=2).argmax(1)])(" + phases + ")")
        return e.batched(pick, x, t, list(named) + list(over), 1)
