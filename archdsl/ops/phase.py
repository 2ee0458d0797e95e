"""Symmetry rules of the frequency domain: a cyclic shift is a phase.

If x moves by a cyclic shift of g positions along an axis of length n, its DFT along that axis
is multiplied by exp(-2 pi i k g / n) at frequency k: not a permutation but a fixed unit
complex number per frequency. The analysis records it as a `phase` factor on the frequency axis
(same generator, scale and base as the shift it came from) whose `origin` says which
frequencies the axis holds: ("phase", n, layout) with layout ("full",) (all n, FFT order),
("half",) (the real FFT's n // 2 + 1), ("low", m, base) (the lowest m of a base layout) or
("signed", m) (frequencies 0 .. m - 1 and -m .. -1).

A phase is linear, so it survives exactly what commutes with multiplying each frequency by its
own number: products and contractions with tensors that do not move along the frequency axis,
sums of tensors carrying the same phase, keeping or zero-filling frequencies, transforms along
other axes. It does not survive adding a number or a fixed tensor (affine), a product of two
phased operands (the phase squares), or the real part; `abs` forgets it (invariance). The
inverse transform of the layout its forward transform made turns it back into the shift: that
is why `irfft(w * rfft(x))` is exactly shift-equivariant.

Only complex tensors carry phases, and only the ops that accept complex tensors (these rules'
callers) ever see one, so the permutation rules of every other op stay sound."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

PHASE = "phase"


def present(rule) -> bool:
    return any(f.kind == PHASE for s in rule.states for f in s.factors)


def _layout_length(n, layout):
    """How many frequencies a base layout holds."""
    return n if layout == ("full",) else n.floordiv(2) + 1


def _transformed(rule, axes: dict[str, str], half: tuple[str, str] | None):
    """(axis renaming of the transform, factors it leaves alone, factors on its axes)."""
    moved = {**axes, **({half[0]: half[1]} if half else {})}
    factors = rule.states[0].factors
    return (moved, [f for f in factors if not set(f.axes) & set(moved)],
            [f for f in factors if set(f.axes) & set(moved)])


def forward(rule, axes: dict[str, str], half: tuple[str, str] | None):
    """fft over `axes` (full layout), rfft's last axis `half` (src, dst): shifts become phases."""
    moved, new, hit = _transformed(rule, axes, half)
    for f in hit:
        if f.kind != "shift" or len(f.axes) != 1:
            return rule.broken(f"`{rule.node.op}` has a rule for cyclic shifts of the axes it transforms "
                               f"(a shift is a phase), not for {f.describe()}", certain=False)
        a = f.axes[0]
        layout = ("half",) if half and a == half[0] else ("full",)
        n = rule.axis_size(rule.ins[0], a)
        new.append(rule.moved(f, kind=PHASE, axes=(moved[a],), origin=(PHASE, n, layout)))
    return rule.state(new)


def inverse(rule, axes: dict[str, str], half: tuple[str, str] | None, lengths: dict):
    """ifft over `axes`, irfft's last axis `half` (src, dst) to length lengths[dst]: the phase the
    matching forward transform made becomes the shift again, on an axis of the same length."""
    moved, new, hit = _transformed(rule, axes, half)
    for f in hit:
        a = f.axes[0]
        want = ("half",) if half and a == half[0] else ("full",)
        n = lengths.get(moved[a]) if half and a == half[0] else rule.axis_size(rule.ins[0], a)
        if f.kind != PHASE or f.origin[2] != want or n is None or f.origin[1] != n:
            what = f"a phase on {a} over other frequencies" if f.kind == PHASE else f.describe()
            return rule.broken(f"`{rule.node.op}` turns back into a shift only the phase its forward "
                               f"transform made of one on an axis of the same length, not {what}",
                               certain=False)
        new.append(rule.moved(f, kind="shift", axes=(moved[a],), origin=()))
    return rule.state(new)


def truncate(rule, src: str, dst: str, m, signed: bool):
    """`lowmodes`: each kept frequency keeps its phase; the axis now holds fewer of them."""
    s = rule.states[0]
    f = s.on(src)
    if f is None:
        return s
    layout = f.origin[2] if f.kind == PHASE else None
    if m is None or layout not in (("full",), ("half",)) or (signed and layout != ("full",)):
        return rule.broken(f"keeping the lowest modes of {src} has a rule for the phase of a full "
                           f"spectrum (both signs: an FFT-ordered one), not for {f.describe()}",
                           certain=False)
    kept = ("signed", m) if signed else ("low", m, layout)
    others = [g for g in s.factors if g is not f]
    return rule.state(others + [rule.moved(f, axes=(dst,), origin=(PHASE, f.origin[1], kept))])


def fill(rule, src: str, dst: str, n, signed: bool):
    """`fillmodes`: kept frequencies back in place (zeros elsewhere: a phase times 0 is 0); the
    full layout again when the axis gets its full length back."""
    s = rule.states[0]
    f = s.on(src)
    if f is None:
        return s
    length, layout = (f.origin[1], f.origin[2]) if f.kind == PHASE else (None, None)
    base = None
    if signed and layout and layout[0] == "signed":
        base = ("full",)
    elif not signed and layout and layout[0] == "low":
        base = layout[2]
    if base is None or n is None or _layout_length(length, base) != n:
        return rule.broken(f"filling the modes of {src} back in place has a rule for the phase "
                           f"`lowmodes` kept, filled back to the full axis, not for {f.describe()}",
                           certain=False)
    others = [g for g in s.factors if g is not f]
    return rule.state(others + [rule.moved(f, axes=(dst,), origin=(PHASE, length, base))])


def part(rule, what: str):
    """`real`/`imag`: a phase rotates real into imaginary parts, so it does not survive."""
    for f in rule.states[0].factors:
        if f.kind == PHASE:
            return rule.broken(f"`{what}` of a phase-shifted spectrum is not the part of the "
                               f"unshifted one ({f.describe()}, from a shift)", certain=False)
    return rule.keep()


def magnitude(rule):
    """`abs`: |e^(i a) z| = |z|: phases disappear (the tensor becomes invariant there)."""
    s = rule.states[0]
    return rule.state([f for f in s.factors if f.kind != PHASE])


def product(rule, base: Callable[[], object], contracted=(), denominator: int | None = None):
    """`*`, `/` and `dot` with a phased operand: the other operands must not move along its
    axes (each frequency is multiplied by its own number), no phased axis is contracted, the
    divisor carries no phase; the other factors go through the op's own rule (`base`)."""
    phased = [(i, f) for i, s in enumerate(rule.states) for f in s.factors if f.kind == PHASE]
    for i, f in phased:
        if i == denominator:
            return rule.broken(f"dividing by a phase-shifted spectrum inverts its phase ({f.describe()})",
                               certain=False)
        if set(f.axes) & set(contracted):
            return rule.broken(f"`{rule.node.op}` sums over {f.axes[0]}, which carries a phase "
                               f"({f.describe()}): the frequencies do not share it", certain=False)
        for j, s in enumerate(rule.states):
            if j != i and s.touching(f.axes):
                return rule.broken(f"both operands move along {f.axes[0]} ({f.describe()} and "
                                   f"{s.touching(f.axes)[0].describe()}): the phases multiply",
                                   certain=False)
    saved = rule.states
    rule.states = [replace(s, factors=tuple(f for f in s.factors if f.kind != PHASE)) for s in saved]
    try:
        out = base()
    finally:
        rule.states = saved
    if out.broken is not None:
        return out
    return out.with_factors(list(out.factors) + [f for _, f in phased])


def total(rule, scalar: bool):
    """`+` and `-`: linear only when every operand carries the same phases (a number or a
    fixed tensor added to a phased spectrum does not rotate with it)."""
    phased = {f for s in rule.states for f in s.factors if f.kind == PHASE}
    for f in phased:
        if scalar or any(f not in s.factors for s in rule.states):
            return rule.broken(f"adding a number or a tensor without the phase ({f.describe()}) to a "
                               "phase-shifted spectrum does not rotate with it", certain=False)
    return rule.align() if len(rule.states) > 1 else rule.keep()
