"""One form per divisibility precondition, and implication between them, so that a block lists
the conditions a user must meet once each: Swin-T's fifteen window and merging conditions on Y
are the single `(Y // 4) % (8 * M) == 0`."""

from __future__ import annotations

from fractions import Fraction
from math import gcd

from ..ir import Precondition
from ..sizes import Size


def canonical(pre: Precondition) -> Precondition:
    """`(p X / q) % m == 0` -> `X % (q m / gcd(p, m)) == 0` for a product X of sizes: the same
    condition (X / q must be whole, and then p X / q a multiple of m), with X alone on the left.
    A sum modulo a number first loses its multiples of it: `(C + 96) % 4` is `C % 4`."""
    if pre.kind != "divides":
        return pre
    pre = _reduced(pre)
    if len(pre.lhs.terms) != 1:
        return pre
    ((mono, coef),) = pre.lhs.terms
    if coef == 1 or not mono or any(e < 0 for _, e in mono):
        return pre
    p, q = abs(coef.numerator), coef.denominator
    if pre.rhs.is_const and pre.rhs.const.denominator == 1:
        m = int(pre.rhs.const)
        modulus = Size.of(q * m // gcd(p, m)) if m else pre.rhs
    elif p == 1:
        modulus = q * pre.rhs
    else:
        return pre
    return Precondition("divides", Size({mono: 1}), modulus, pre.span, pre.origin)


def _reduced(pre: Precondition) -> Precondition:
    """`(a + k m) % m` -> `a % m`, and `(g a) % (g m)` -> `a % m`, for a whole-number modulus m
    and whole-number coefficients (terms that are sizes, never fractions of them)."""
    if not (pre.rhs.is_const and pre.rhs.const.denominator == 1 and pre.rhs.const > 0 and pre.lhs.is_integral):
        return pre
    m = int(pre.rhs.const)
    terms = {mono: Fraction(int(c) % m if mono == () else int(c)) for mono, c in pre.lhs.terms}
    terms = {mono: c for mono, c in terms.items() if c % m != 0}
    g = gcd(m, *(int(c) for c in terms.values()))
    if not terms:
        return Precondition("divides", Size.of(0), pre.rhs, pre.span, pre.origin)
    return Precondition("divides", Size({k: c / g for k, c in terms.items()}), Size.of(m // g), pre.span,
                        pre.origin)


def implies(a: Precondition, b: Precondition) -> bool:
    """`X % m == 0` implies `X % n == 0` when m is a multiple of n; `a == b` implies `b == a`;
    `x >= y` implies `x + c >= y` for a constant c >= 0."""
    if a.kind == b.kind == "divides":
        return a.lhs == b.lhs and (a.rhs / b.rhs).is_integral
    if a.kind == b.kind == "equal":
        diff = a.lhs - a.rhs
        return diff == b.lhs - b.rhs or diff == b.rhs - b.lhs
    if a.kind == b.kind == "at_least":  # `n - 1 >= 0` implies `n >= 0`: b has a constant more slack
        gap = (b.lhs - b.rhs) - (a.lhs - a.rhs)
        return gap.is_const and gap.const >= 0
    return False
