"""The vocabulary of symmetry rules: what an op's `symmetry` method may say about its inputs.

Each op in `archdsl.ops` declares its rule by calling these (DESIGN §6): keep a factor, rename
it, make the tensor invariant along reduced axes, cancel it in a contraction, restrict it to a
subgroup (stride s), approximate it (zero padding), map it to other axes (split, merge), or
break it. A rule only ever sees `RuleContext`; it never walks the graph itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from ..ops import REGISTRY
from ..sizes import Size, SizeError
from ..types import TensorType
from .blame import fixed_source, operand
from .state import ONE, Break, Factor, Note, State, merge_notes

if TYPE_CHECKING:
    from ..ir import Node


class RuleContext:
    """One op application: its node, input types and states, and the sizes of the caller."""

    def __init__(self, node: Node, ins: list[TensorType], out: TensorType, states: list[State],
                 producers: list[Node], env: dict[str, Size], values: dict[str, Any],
                 site, counter: Callable[[], int]):
        self.node, self.ins, self.out, self.states = node, ins, out, states
        self.producers, self.env, self.values, self.site = producers, env, values, site
        self._next = counter
        self.notes = merge_notes(states)

    # -- static values ----------------------------------------------------------------------
    def size(self, v: Any) -> Size | None:
        """An option as a size in the analysed block's terms, or None when it is not one."""
        if isinstance(v, bool) or not isinstance(v, (Size, int)):
            return None
        return Size.of(v).subs(self.env)

    def flag(self, v: Any) -> bool | None:
        """A boolean option, None when it depends on a parameter the analysis does not know."""
        if isinstance(v, bool):
            return v
        from ..static import Real
        if isinstance(v, Real) and v.op == "param":
            got = self.values.get(v.args[0])
            return got if isinstance(got, bool) else None
        return None

    def axis_size(self, t: TensorType, name: str) -> Size:
        return t.size(name).subs(self.env)

    # -- results ------------------------------------------------------------------------------
    def state(self, factors, notes=()) -> State:
        return State(notes=self.notes | frozenset(notes)).with_factors(factors)

    def broken(self, reason: str, certain: bool = True, span=None) -> State:
        return State(notes=self.notes, broken=Break(span or self.node.span, reason, certain, self.site))

    def note(self, kind: str, reason: str, **kw) -> Note:
        return Note(self._next(), kind, self.node.span, reason, site=self.site, **kw)

    # -- the rules --------------------------------------------------------------------------
    def keep(self, i: int = 0) -> State:
        """The op commutes with every permutation of every axis (pointwise ops)."""
        return self.states[i]

    def align(self) -> State:
        """Operands combined by axis name: each factor must move every operand that has its axes."""
        for i, (si, ti) in enumerate(zip(self.states, self.ins)):
            for j, (sj, tj) in enumerate(zip(self.states, self.ins)):
                if i == j:
                    continue
                for f in si.factors:
                    shared = [a for a in f.axes if tj.axis(a) is not None]
                    if shared and f not in sj.factors and not self._constant(j):
                        return self._mismatch(j, shared[0], f)
        return self.state([f for s in self.states for f in s.factors])

    def _constant(self, j: int) -> bool:
        """Operand `j` is one value everywhere (its op says so for these options), so every
        motion leaves it as it is."""
        src = self.producers[j]
        return src.kind == "op" and REGISTRY[src.op].constant(src, self)

    def _mismatch(self, j: int, axis: str, f: Factor) -> State:
        """Blame the operand that does not move along; a learned `Param` is blamed by its own span
        (a positional embedding is the usual culprit)."""
        other, src = self.states[j].on(axis), self.producers[j]
        param = src.kind == "op" and src.op == "Param"
        fixed = param or (other is None and fixed_source(src, self.states[j]))
        what = f"the learned `Param[{', '.join(src.attrs['axes'])}]`" if param else operand(src)
        moves = f"moves by {other.describe()}" if other else "does not move"
        theirs = f.describe()
        if other is not None and other.describe() == theirs:  # the same words, different motions
            moves, theirs = f"{moves} ({other.source()})", f"{theirs} ({f.source()})"
        mover = next((operand(p) for p, s in zip(self.producers, self.states) if f in s.factors), "the other operand")
        return self.broken(f"{what} {moves} along {axis} while {mover} moves by {theirs}", True,
                           src.span if fixed else None)

    def rename(self, mapping: dict[str, str], i: int = 0) -> State:
        s = self.states[i]
        return replace(s, factors=tuple(f.renamed(mapping) for f in s.factors))

    def reduce(self, axes, i: int = 0) -> State:
        """Sum, mean, max (and anything else symmetric in the reduced positions): invariant."""
        s, acted = self.states[i], set(axes)
        for f in s.touching(acted):
            if not set(f.axes) <= acted:
                return self.broken(f"`{self.node.op}` reduces {', '.join(sorted(acted & set(f.axes)))} "
                                   f"but {f.describe()} also moves {', '.join(a for a in f.axes if a not in acted)}")
        return self.state([f for f in s.factors if not set(f.axes) & acted])

    def along(self, axes, i: int = 0) -> State:
        """An op symmetric in the positions of each named axis (softmax[S]): keeps factors that
        permute only within those axes, breaks factors that couple them with other axes."""
        s, acted = self.states[i], set(axes)
        for f in s.touching(acted):
            if not set(f.axes) <= acted or (len(axes) == 1 and len(f.axes) > 1):
                return self.broken(f"`{self.node.op}[{', '.join(axes)}]` does not commute with "
                                   f"{f.describe()}")
        return s

    def mix(self, axes, why: str, i: int = 0, certain: bool = True) -> State | None:
        """Break every factor on `axes` (the op mixes their positions with learned weights);
        None when nothing moves there."""
        hit = self.states[i].touching(axes)
        if not hit:
            return None
        return self.broken(f"{why}, which does not commute with {hit[0].describe()}", certain)

    def grid_requirement(self, f: Factor, stride) -> tuple[tuple[Size, Size], ...]:
        """The divisibility under which a shifted axis sampled at `stride` stays a cyclic grid."""
        return _requirement(f.base, f.scale / self.size(stride))

    def fresh(self) -> int:
        """A number no other op application gets: the identity of an input-dependent motion."""
        return self._next()

    def moved(self, f: Factor, **changes) -> Factor:
        """`f` with other axes, kind or scale (for ops that map factors themselves)."""
        return replace(f, **changes)

    def then(self, state: State) -> None:
        """Chain rules inside one op: the next rule sees `state` as the first input."""
        self.states = [state, *self.states[1:]]
        self.notes = self.notes | state.notes

    def upsample(self, over, factor, *, exact: bool, what: str, flips: bool, i: int = 0) -> State:
        """Resizing by an integer factor: a shift by g becomes a shift by g * factor."""
        s, r = self.states[i], self.size(factor)
        new, notes = [], []
        for f in s.factors:
            if not set(f.axes) & set(over):
                new.append(f)
            elif f.kind == "shift" and r is not None:
                new.append(replace(f, scale=f.scale * r))
                if not exact:
                    notes.append(self.note("approx", f"{what} is shift-equivariant only up to "
                                           "boundary effects"))
            elif f.kind in ("flip", "rot") and flips and set(f.axes) <= set(over):
                new.append(f)
            else:
                return self.broken(f"{what} does not commute with {f.describe()}", certain=False)
        return self.state(new, notes)

    def contract(self, axes) -> State:
        """`dot[K](a, b)`: a factor on K cancels when both operands carry the same one."""
        a, b = self.states
        ta, tb = self.ins
        acted = set(axes)
        for f in a.touching(acted) + b.touching(acted):
            if not set(f.axes) <= acted:
                return self.broken(f"`dot[{', '.join(axes)}]` contracts only part of {f.describe()}")
            if f not in a.factors or f not in b.factors:
                return self.broken(f"`dot[{', '.join(axes)}]` contracts operands moved differently: "
                                   f"{f.describe()} moves only one of them")
        kept = [State(tuple(f for f in s.factors if not set(f.axes) & acted)) for s in (a, b)]
        sub = RuleContext(self.node, [TensorType(tuple(x for x in t.axes if x.name not in acted))
                                      for t in (ta, tb)], self.out, kept, self.producers, self.env,
                          self.values, self.site, self._next)
        sub.notes = self.notes
        return sub.align()

    def undeclared(self) -> State:
        """The sound default for an op with no rule: every factor on an axis it names or changes
        is unknown (unproven); factors on the axes it broadcasts over are kept."""
        from ..ops import REGISTRY
        touched = set(_names_in(self.node.attrs)) | REGISTRY[self.node.op].acts_on(self.node)
        for t in self.ins:
            touched |= {a.name for a in t.axes if self.out.axis(a.name) != a}
        touched |= {a.name for a in self.out.axes if all(t.axis(a.name) is None for t in self.ins)}
        for s in self.states:
            hit = s.touching(touched)
            if hit:
                return self.broken(f"`{self.node.op}` declares no symmetry rule, so {hit[0].describe()} "
                                   "is unknown after it", certain=False)
        return self.align() if len(self.states) > 1 else (self.states[0] if self.states else self.state(()))

    # -- grids: convolution, pooling, blur -----------------------------------------------------
    def grid(self, over, kernel, stride, padding, dilation=1, mode="zeros", *, what: str,
             aliasing: str = "refuted", symmetric: bool = False, i: int = 0) -> State:
        """A sliding-window op over `over`: shifts survive (restricted to multiples of the
        stride, exact when the window keeps the grid cyclic); flips and rotations survive only
        a `symmetric` window at stride 1 with centred padding; other permutations break."""
        s = self.states[i]
        k, st, p, d = (self.size(v) for v in (kernel, stride, padding, dilation))
        new, notes = [], []
        for f in s.factors:
            inside = set(f.axes) & set(over)
            if not inside:
                new.append(f)
                continue
            if not set(f.axes) <= set(over):
                return self.broken(f"{what} over {' '.join(over)} does not commute with {f.describe()}")
            if f.kind == "shift":
                moved = self._shift_through(f, k, st, p, d, mode, what, aliasing, notes)
                if isinstance(moved, State):
                    return moved
                new.append(moved)
            elif f.kind == "ashift" and st == 1:  # an input-dependent roll commutes like any roll
                if not _exact(k, st, p, d, mode):
                    notes.append(self.note("approx", f"the {what} is shift-equivariant only up to "
                                           "boundary effects"))
                new.append(f)
            elif k == 1 and st == 1 and p == 0 and d is not None:  # pointwise over the grid
                new.append(f)
            elif f.kind in ("flip", "rot") and symmetric and st == 1 and p is not None and k is not None \
                    and d is not None and 2 * p == d * (k - 1):
                new.append(f)
            elif f.kind in ("flip", "rot") and symmetric:
                return self.broken(f"{what}: flips and rotations are kept only at stride 1 with "
                                   "centred padding", certain=False)
            else:
                return self.broken(f"{what} mixes neighbouring positions of {' '.join(sorted(inside))} "
                                   f"with a learned kernel, which does not commute with {f.describe()}"
                                   if not symmetric else
                                   f"{what} mixes neighbouring positions, which does not commute "
                                   f"with {f.describe()}")
        return self.state(new, notes)

    def _shift_through(self, f, k, st, p, d, mode, what, aliasing, notes) -> Factor | State:
        if None in (k, st, p, d):
            return self.broken(f"{what}: kernel, stride or padding is not a size", certain=False)
        try:
            scale = f.scale / st
        except SizeError:
            return self.broken(f"{what}: stride {st} is not a product of sizes", certain=False)
        exact = _exact(k, st, p, d, mode)
        gen_axis = f.axes[0]
        if st != 1:
            needs = _requirement(f.base, scale)
            notes.append(self.note("restrict", f"the stride-{st} {what} keeps only shifts of "
                                   f"{gen_axis} by multiples of {st}",
                                   multiple=_multiple(st / f.scale), otherwise=aliasing,
                                   requires=needs))
        if not exact:
            why = ("zero padding" if mode == "zeros" and p != 0 else
                   f"padding {p} with kernel {k} does not keep the grid cyclic")
            notes.append(self.note("approx", f"the {what} is shift-equivariant only up to boundary "
                                   f"effects ({why})"))
        return replace(f, scale=scale)

    # -- reshaping axes ---------------------------------------------------------------------------
    def split(self, src: str, parts: tuple[str, ...], sizes: list[Size], i: int = 0) -> State:
        """`split[Y -> Wy My]`: a shift of Y by multiples of My is a shift of the outer part Wy."""
        s = self.states[i]
        f = s.on(src)
        if f is None:
            return s
        others = [g for g in s.factors if g is not f]
        if f.kind == "shift" and len(f.axes) == 1:
            inner = _product(sizes[1:])
            try:
                scale = f.scale / inner
            except SizeError:
                return self.broken(f"split of {src}: the inner size is not a product of sizes", False)
            note = self.note("restrict", f"splitting {src} into {' '.join(parts)} keeps only shifts "
                             f"by multiples of {inner}", multiple=_multiple(inner / f.scale),
                             requires=_requirement(f.base, scale))
            return self.state(others + [replace(f, axes=(parts[0],), scale=scale)], [note])
        if f.kind == "perm" and f.origin[:3] == ("merge", tuple(parts), tuple(sizes)):
            return self.state(others + list(f.origin[3]))  # undoing a merge restores its factors
        if f.kind == "flip" and len(f.axes) == 1:  # reversing y = w M + m reverses w and m
            return self.state(others + [replace(f, axes=(p,)) for p in parts])
        return self.broken(f"splitting {src} into {' '.join(parts)} does not keep {f.describe()} "
                           "as a permutation of the parts", certain=False)

    def merge(self, parts: tuple[str, ...], dst: str, sizes: list[Size], i: int = 0) -> State:
        """`merge[Wy My -> Y]`: an outer shift stays a shift; anything else moving only the parts
        becomes a fixed (opaque) permutation of the merged axis."""
        s = self.states[i]
        hit = s.touching(parts)
        if not hit:
            return s
        if any(not set(f.axes) <= set(parts) for f in hit):
            return self.broken(f"merging {' '.join(parts)} into {dst} splits a factor that also moves "
                               "other axes", certain=False)
        others = [g for g in s.factors if g not in hit]
        (f,) = hit if len(hit) == 1 else (None,)
        if f is not None and f.kind == "shift" and f.axes == (parts[0],):
            return self.state(others + [replace(f, axes=(dst,), scale=f.scale * _product(sizes[1:]))])
        if all(g.kind == "flip" for g in hit) and len({g.gen for g in hit}) == 1 \
                and {a for g in hit for a in g.axes} == set(parts):
            return self.state(others + [replace(hit[0], axes=(dst,))])
        gens = tuple(sorted({x for g in hit for x in g.gen}))
        opaque = Factor(gens, "perm", (dst,), origin=("merge", parts, tuple(sizes), tuple(hit)))
        return self.state(others + [opaque])

    def conjugate(self, axes, how: str, i: int = 0) -> State:
        """A fixed permutation P of `axes` applied to a moving tensor: each factor g becomes
        P g P^-1, a fixed permutation the analysis no longer names (still cancels in kind).
        `flip` and `roll` act on each axis alone, so P g P^-1 moves only g's axes; `flip` is an
        involution, so a factor it conjugated is conjugated back to the original by the same
        flip (`flip[T](flip[T](x))` moves as x does)."""
        s = self.states[i]
        hit = s.touching(axes)
        if not hit:
            return s
        rest = [g for g in s.factors if g not in hit]
        if how == "flip" and len(hit) == 1 and hit[0].origin[:2] == (how, self._identity()):
            return self.state(rest + list(hit[0].origin[2]))
        per_axis = how in ("flip", "roll")
        span_axes = tuple(sorted({a for g in hit for a in g.axes} | (set() if per_axis else set(axes))))
        gens = tuple(sorted({x for g in hit for x in g.gen}))
        return self.state(rest + [Factor(gens, "perm", span_axes, origin=(how, self._identity(), tuple(hit)))])

    def _identity(self) -> tuple:
        """What makes two applications of this op the same permutation: the op, its options."""
        kw = self.node.attrs.get("kw", {})
        options = tuple(sorted((k, str(self.size(v)) if self.size(v) is not None else str(v))
                               for k, v in kw.items()))
        return (self.node.op, str(self.node.attrs.get("axes")), options,
                tuple(str(t.size(a).subs(self.env)) for t in self.ins for a in t.names))


def _names_in(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [n for k, x in v.items() if k != "kw" for n in _names_in(k) + _names_in(x)]
    if isinstance(v, (tuple, list, set, frozenset)):
        return [n for x in v for n in _names_in(x)]
    return []


def _product(sizes) -> Size:
    total = ONE
    for s in sizes:
        total = total * s
    return total


def _multiple(ratio: Size) -> Size:
    """The least m such that multiples of m satisfy `g * ratio^-1` integral: the numerator."""
    num, den = ratio.split_fraction()
    if not ratio.is_const and den.is_const:  # `M / 2`: a size, whole by the shape preconditions
        return ratio
    if num.is_const:
        return Size.of(abs(num.const))
    return num


def _requirement(base: Size, scale: Size) -> tuple[tuple[Size, Size], ...]:
    """(length, modulus): `base * scale` positions form a cyclic grid when modulus | length."""
    _, den = scale.split_fraction()
    if den == 1 or (base.is_const and den.is_const and (base / den).is_integral):
        return ()
    return ((base, den),)


def _exact(k: Size, st: Size, p: Size, d: Size, mode: str) -> bool:
    """Does the window map a cyclic grid of length n to one of length n / st (no boundary)?"""
    if None in (k, st, p, d):
        return False
    return (p == 0 and _lt(d * (k - 1), st)) or (
        mode == "circular" and _le(d * (k - 1) - st + 1, 2 * p) and _le(2 * p, d * (k - 1)))


def _le(a: Size, b: Size) -> bool:
    d = b - a
    return d.is_const and d.const >= 0


def _lt(a: Size, b: Size) -> bool:
    d = b - a
    return d.is_const and d.const > 0
