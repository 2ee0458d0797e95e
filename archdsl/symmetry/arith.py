"""Arithmetic on the sizes that name subgroups (`shift(Y) by s`) and size conditions
(`Y % 4 == 0`): least common multiples and the one canonical text of a condition.

Subgroups of shifts are the multiples of a size, and the intersection of "multiples of a" and
"multiples of b" is "multiples of lcm(a, b)". For symbolic sizes the lcm is taken monomial by
monomial (coefficients as rationals, each symbol at its largest power): `lcm(2 * P, 4) = 4 * P`,
`lcm(P, 2) = 2 * P`. The result is a common multiple of both for EVERY value of the symbols, so
a claim named with it is sound; it is the least such expression, though at particular values
(`P` even) the numeric lcm may be smaller. It never collapses `2 * P` to `P`.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, lcm

from ..sizes import Size

ONE = Size.of(1)


def lcm_size(a: Size, b: Size) -> Size:
    """A least common multiple of two positive sizes, valid for every value of their symbols."""
    if (b / a).is_integral:
        return b
    if (a / b).is_integral:
        return a
    if len(a.terms) == 1 and len(b.terms) == 1:
        (ma, ca), (mb, cb) = a.terms[0], b.terms[0]
        if all(e > 0 for _, e in ma + mb):
            powers: dict = {}
            for atom, e in ma + mb:
                powers[atom] = max(powers.get(atom, 0), e)
            mono = tuple(sorted(powers.items()))
            return Size({mono: _lcm_fraction(abs(ca), abs(cb))})
    return a * b  # a sum: the product is a common multiple (a smaller subgroup, still sound)


def lcm_all(sizes) -> Size:
    out = ONE
    for s in sizes:
        out = lcm_size(out, s)
    return out


def _lcm_fraction(x: Fraction, y: Fraction) -> Fraction:
    """The least positive rational that is a whole multiple of both."""
    return Fraction(lcm(x.numerator, y.numerator), gcd(x.denominator, y.denominator))


def condition_text(length: Size, modulus: Size) -> str:
    """`Y % 4 == 0`, `Y % (2 * P) == 0`: the one form every verdict prints (Python precedence)."""
    return f"{_paren(str(length))} % {_paren(str(modulus))} == 0"


def _paren(text: str) -> str:
    return f"({text})" if " " in text else text
