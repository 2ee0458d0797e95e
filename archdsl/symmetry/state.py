"""What the symmetry analysis knows about one tensor: how it moves when the block's inputs
are moved by a group element g of the action being checked.

A tensor's `State` is a set of `Factor`s. Each factor says "along these axes, this tensor is
permuted by (a function of) generator `gen` of g": a cyclic shift by `g * scale`, a reversal,
a rotation of two axes, a cyclic shift of a rotation axis, or an opaque but fixed permutation.
Factors keep the identity of the generator, so after `rename[T -> S]` the *same* permutation
acts on `S`, and `dot[S]` of two operands moved by the same factor cancels it. An axis that
no factor mentions does not move. A tensor whose motion the analysis cannot describe is
`broken`, with the first operation responsible.

Every state also carries the `Note`s of its dataflow history: the restrictions ("only shifts
by multiples of 2") and approximations ("zero padding: boundary effects") of the operations
it went through, so that only operations that reach an output decide a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import Span
from ..sizes import Size

ONE = Size.of(1)


@dataclass(frozen=True)
class Factor:
    gen: tuple[int, ...]  # the generators of the action this factor is a function of
    kind: str  # "perm" | "shift" | "flip" | "rot" | "cyc" | "ashift" (a roll chosen by the input)
    # | "phase": a shift seen in the frequency domain, a unit complex number per frequency
    # (archdsl/ops/phase.py; origin ("phase", length, which frequencies the axis holds))
    axes: tuple[str, ...]  # the axes it permutes jointly ("rot": the ordered pair)
    scale: Size = ONE  # "shift": moves by g * scale; "cyc": +1 or -1 per quarter turn
    base: Size = ONE  # "shift": length of the axis at the block input (divisibility)
    origin: tuple = ()  # "perm" made by merging or conjugating: how, so equal makes equal

    def renamed(self, mapping: dict[str, str]) -> Factor:
        return replace(self, axes=tuple(mapping.get(a, a) for a in self.axes))

    def describe(self) -> str:
        axes = ", ".join(self.axes)
        if self.kind == "shift":
            return f"shift({axes}) scaled by {self.scale}" if self.scale != ONE else f"shift({axes})"
        if self.kind == "cyc":  # the rotation axis of a p4 feature map or an orbit
            return f"roll({axes})" + (f" by {self.scale} per turn" if self.scale != ONE else "")
        return f"{self.kind}({axes})"


    def source(self) -> str:
        """Where the motion comes from: tells apart two factors that `describe` the same."""
        if self.kind == "ashift":
            return "a roll chosen by `aps`"
        if self.kind == "phase":
            return f"the phase of a shift by generator {', '.join(map(str, self.gen))}"
        if self.origin and self.origin[0] == "merge":
            return f"made by merging {' '.join(self.origin[1])}"
        if self.origin:
            return f"conjugated by `{self.origin[1][0]}`"
        return f"generator {', '.join(map(str, self.gen))} of the action"


@dataclass(frozen=True)
class Note:
    """A restriction or an approximation met on the way to a tensor."""

    seq: int  # order of discovery: the first one is the one reported
    kind: str  # "restrict": exact only for multiples; "approx": boundary effects; "assume": a stated
    # condition on the input (APS: a unique largest phase)
    span: Span
    reason: str
    multiple: Size = ONE  # "restrict": the generator must be a multiple of this
    otherwise: str = "refuted"  # "restrict": what other elements get ("refuted" | "approximate")
    requires: tuple[tuple[Size, Size], ...] = ()  # (length, modulus): exact needs modulus | length
    site: Span | None = None  # the call site in the analysed block, when the op is in a callee


@dataclass(frozen=True)
class Break:
    span: Span
    reason: str
    certain: bool  # True: false for generic weights (refuted); False: no rule (unproven)
    site: Span | None = None


@dataclass(frozen=True)
class State:
    factors: tuple[Factor, ...] = ()
    notes: frozenset[Note] = field(default_factory=frozenset)
    broken: Break | None = None

    def on(self, axis: str) -> Factor | None:
        """The factor moving `axis`, if any."""
        for f in self.factors:
            if axis in f.axes:
                return f
        return None

    def touching(self, axes) -> list[Factor]:
        s = set(axes)
        return [f for f in self.factors if s & set(f.axes)]

    def with_factors(self, factors) -> State:
        return replace(self, factors=tuple(sorted(set(factors), key=_order)))


def _order(f: Factor) -> tuple:
    return (f.axes, f.kind, f.gen, str(f.scale))


def merge_notes(states) -> frozenset[Note]:
    out: frozenset[Note] = frozenset()
    for s in states:
        out |= s.notes
    return out
