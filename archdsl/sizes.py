"""Exact symbolic sizes.

A size is a Laurent polynomial with rational coefficients over atoms: named symbols
(`D`, `T`), opaque floor divisions (`floor((Y + 1) / 2)`) and opaque comparisons, 1 where they
hold and 0 where not (`[shift > 0]`: how many times the branch of an `if` on a block parameter
runs). That is exactly what axis
arithmetic needs -- `H * (D / H)` simplifies to `D`, `4 * D / 4` to `D` -- and it is
canonical, so two sizes are provably equal iff their normal forms are equal. We keep it
small and exact instead of importing sympy: the front end must start fast and stay linear
in the size of the spec.

A size whose normal form has fractional coefficients or negative exponents (`D / H`) is
only an integer under a divisibility precondition; `Size.integrality()` names it.
"""

from __future__ import annotations

from fractions import Fraction
from functools import reduce
from math import lcm
from typing import Callable, Mapping

Monomial = tuple[tuple["Atom", int], ...]
MAX_TERMS = 4096  # a product that would expand further is refused (`(A + B + C) ** 64`)


COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


class Atom:
    """A symbol, an opaque floor division or an opaque comparison (`test`: (op, left, right));
    atoms are ordered by their text."""

    __slots__ = ("name", "num", "den", "test", "_key")

    def __init__(self, name: str | None = None, num: Size | None = None, den: Size | None = None,
                 test: tuple[str, Size, Size] | None = None):
        self.name, self.num, self.den, self.test = name, num, den, test
        self._key = name if name is not None else f"~floor({num}/{den})" if test is None else \
            f"~[{test[1]} {test[0]} {test[2]}]"

    @property
    def is_symbol(self) -> bool:
        return self.name is not None

    @property
    def is_floor(self) -> bool:
        return self.name is None and self.test is None

    def value(self, env: Mapping[str, int]) -> Fraction:
        if self.is_symbol:
            return Fraction(env[self.name])
        if self.test is not None:
            op, a, b = self.test
            return Fraction(int(COMPARE[op](a.evaluate(env), b.evaluate(env))))
        return Fraction(int(self.num.evaluate(env)) // int(self.den.evaluate(env)))

    def sides(self) -> tuple[Size, ...]:
        """The sizes inside a floor division or a comparison."""
        return (self.num, self.den) if self.is_floor else () if self.test is None else self.test[1:]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Atom) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __lt__(self, other: Atom) -> bool:
        return self._key < other._key

    def render(self, symbol: Callable[[str], str]) -> str:
        if self.is_symbol:
            return symbol(self.name)
        if self.test is not None:
            op, a, b = self.test
            return f"int({a.render(symbol)} {op} {b.render(symbol)})"
        return f"{_paren(self.num.render(symbol))} // {_paren(self.den.render(symbol))}"

    def __str__(self) -> str:
        if self.test is not None:
            return f"[{self.test[1]} {self.test[0]} {self.test[2]}]"
        return self.name if self.is_symbol else f"floor(({self.num}) / {self.den})"


class Size:
    """An immutable exact size expression in normal form."""

    __slots__ = ("terms", "_hash")

    def __init__(self, terms: Mapping[Monomial, Fraction] | None = None):
        clean = {m: Fraction(c) for m, c in (terms or {}).items() if c != 0}
        self.terms: tuple[tuple[Monomial, Fraction], ...] = tuple(sorted(clean.items(), key=_term_key))
        self._hash = hash(self.terms)

    # construction -----------------------------------------------------------------
    @staticmethod
    def of(value: int | Fraction | str | Size) -> Size:
        if isinstance(value, Size):
            return value
        if isinstance(value, str):
            return Size({((Atom(value), 1),): Fraction(1)})
        return Size({(): Fraction(value)})

    # queries ----------------------------------------------------------------------
    @property
    def is_const(self) -> bool:
        return all(m == () for m, _ in self.terms)

    @property
    def const(self) -> Fraction:
        """The constant value; only meaningful when `is_const`."""
        return dict(self.terms).get((), Fraction(0))

    @property
    def is_integral(self) -> bool:
        """True when the expression is an integer for every integer assignment of its atoms."""
        return all(c.denominator == 1 and all(e > 0 for _, e in m) for m, c in self.terms)

    def symbols(self) -> set[str]:
        out: set[str] = set()
        for m, _ in self.terms:
            for atom, _ in m:
                out |= {atom.name} if atom.is_symbol else set().union(*(x.symbols() for x in atom.sides()))
        return out

    def as_symbol(self) -> str | None:
        """The symbol's name when the size is exactly one symbol."""
        if len(self.terms) == 1:
            (m, c), = self.terms
            if c == 1 and len(m) == 1 and m[0][1] == 1 and m[0][0].is_symbol:
                return m[0][0].name
        return None

    # arithmetic -------------------------------------------------------------------
    def __add__(self, other: object) -> Size:
        other = _coerce(other)
        acc = dict(self.terms)
        for m, c in other.terms:
            acc[m] = acc.get(m, Fraction(0)) + c
        return Size(acc)

    __radd__ = __add__

    def __neg__(self) -> Size:
        return Size({m: -c for m, c in self.terms})

    def __sub__(self, other: object) -> Size:
        return self + (-_coerce(other))

    def __rsub__(self, other: object) -> Size:
        return _coerce(other) - self

    def __mul__(self, other: object) -> Size:
        other = _coerce(other)
        if len(self.terms) * len(other.terms) > MAX_TERMS:
            raise SizeError(f"a size expression with more than {MAX_TERMS} terms is too large to check")
        acc: dict[Monomial, Fraction] = {}
        for m1, c1 in self.terms:
            for m2, c2 in other.terms:
                m = _mono_mul(m1, m2)
                acc[m] = acc.get(m, Fraction(0)) + c1 * c2
        return Size(acc)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Size:
        other = _coerce(other)
        if len(other.terms) != 1:
            raise SizeError(f"cannot divide by the sum `{other}`; divide by a product of sizes")
        (m, c), = other.terms
        inverse = Size({tuple((a, -e) for a, e in m): 1 / c})
        return self * inverse

    def __rtruediv__(self, other: object) -> Size:
        return _coerce(other) / self

    def floordiv(self, den: Size | int) -> Size:
        """floor(self / den) for a positive `den`, simplified where exact.

        Terms that `den` divides leave the floor: floor((Y - P) / P) is floor(Y / P) - 1."""
        den = _coerce(den)
        if den.is_const and (den.const <= 0 or den.const.denominator != 1):
            raise SizeError(f"floor division by {den}")
        if den == 1 or (len(den.terms) == 1 and (self / den).is_integral):
            return self / den
        if len(den.terms) != 1 or not den.is_integral or den.terms[0][1] < 0:
            return _floor_atom(self, den)
        d = int(den.terms[0][1])
        whole, rest = Size.of(0), Size.of(0)
        for m, c in self.terms:
            term = Size({m: c})
            if c.denominator != 1 or any(e < 0 for _, e in m):
                rest = rest + term
            elif (term / den).is_integral:
                whole = whole + term / den
            elif den.is_const:
                q, r = divmod(int(c), d)
                whole, rest = whole + Size({m: Fraction(q)}), rest + Size({m: Fraction(r)})
            else:
                rest = rest + term
        if rest.is_const and den.is_const:
            return whole + int(rest.const) // d
        if len(rest.terms) == 1:
            (m, c), = rest.terms
            if c == 1 and len(m) == 1 and m[0][1] == 1 and m[0][0].is_floor:
                atom = m[0][0]  # floor(floor(p / a) / b) == floor(p / (a b))
                return whole + atom.num.floordiv(atom.den * den)
        return whole + _floor_atom(rest, den)

    @staticmethod
    def compare(op: str, left: Size, right: Size) -> Size:
        """1 where `left op right` holds, 0 where not: a number when the difference is one, else
        an opaque atom (the count of an `if` branch chosen by block parameters)."""
        diff = left - right
        if diff.is_const:
            return Size.of(int(COMPARE[op](diff.const, 0)))
        return Size({((Atom(test=(op, left, right)), 1),): Fraction(1)})

    def exact(self) -> tuple[Size, list[tuple[Size, Size]]]:
        """The value if every floor division in it were exact, and the (numerator, denominator)
        pairs whose divisibility makes it so: floor(Y / 16) -> (Y / 16, [(Y, 16)])."""
        total, conds = Size.of(0), []
        for m, c in self.terms:
            term = Size.of(c)
            for atom, e in m:
                if not atom.is_floor:
                    base = Size({((atom, 1),): Fraction(1)})
                else:
                    num, inner = atom.num.exact()
                    conds += inner + [(num, atom.den)]
                    base = num / atom.den
                term = term * (base ** e if e >= 0 else Size.of(1) / base ** -e)
            total = total + term
        return total, conds

    def __pow__(self, exp: int) -> Size:
        if not isinstance(exp, int) or exp < 0:
            raise SizeError("sizes can only be raised to non-negative integer powers")
        return reduce(lambda a, b: a * b, [self] * exp, Size.of(1))

    # comparison -------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, (int, Fraction)):
            other = Size.of(other)
        return isinstance(other, Size) and self.terms == other.terms

    def __hash__(self) -> int:
        return self._hash

    # substitution and evaluation ----------------------------------------------------
    def subs(self, mapping: Mapping[str, Size]) -> Size:
        """Replace symbols by sizes (symbols not in `mapping` stay)."""
        if not mapping or not (self.symbols() & mapping.keys()):
            return self
        total = Size.of(0)
        for m, c in self.terms:
            term = Size.of(c)
            for atom, e in m:
                if atom.is_symbol:
                    base = mapping.get(atom.name, Size.of(atom.name))
                elif atom.test is not None:
                    base = Size.compare(atom.test[0], atom.test[1].subs(mapping), atom.test[2].subs(mapping))
                else:
                    base = atom.num.subs(mapping).floordiv(atom.den.subs(mapping))
                term = term * (base ** e if e >= 0 else Size.of(1) / base ** -e)
            total = total + term
        return total

    def evaluate(self, env: Mapping[str, int]) -> Fraction:
        """The exact value for concrete symbol values; KeyError names a missing symbol."""
        total = Fraction(0)
        for m, c in self.terms:
            term = c
            for atom, e in m:
                base = atom.value(env)
                if base == 0 and e < 0:
                    raise SizeError(f"division by zero in `{self}`")
                term *= base ** e
            total += term
        return total

    # rendering ----------------------------------------------------------------------
    def split_fraction(self) -> tuple[Size, Size]:
        """(numerator, denominator): integral polynomials with self == num / den."""
        den_c = lcm(*(c.denominator for _, c in self.terms)) if self.terms else 1
        neg: dict[Atom, int] = {}
        for m, _ in self.terms:
            for a, e in m:
                if e < 0:
                    neg[a] = max(neg.get(a, 0), -e)
        den = Size({tuple(sorted(neg.items())): Fraction(den_c)})
        return self * den, den

    def render(self, symbol: Callable[[str], str] = str, integer: bool = True) -> str:
        """Python source for the value; `integer` uses `//` for exact divisions and writes powers
        as products (`M * M`: in TorchScript `int ** int` is a float, which no shape accepts)."""
        num, den = self.split_fraction()
        text = _render_poly(num, symbol, integer)
        if den == 1:
            return text
        op = "//" if integer else "/"
        den_text = _render_poly(den, symbol, integer)
        def wrap(s):
            return (f"({s})" if (" " in s or "*" in s) else s)
        return f"{wrap(text)} {op} {wrap(den_text)}"

    def __str__(self) -> str:
        return self.render(str, integer=False)

    def __repr__(self) -> str:
        return f"Size({self})"


class SizeError(ValueError):
    """An arithmetic request that has no exact size (division by a sum, by zero...)."""


def _floor_atom(num: Size, den: Size) -> Size:
    return Size({((Atom(num=num, den=den), 1),): Fraction(1)})


def _coerce(value: object) -> Size:
    if isinstance(value, Size):
        return value
    if isinstance(value, (int, Fraction)):
        return Size.of(value)
    raise TypeError(f"not a size: {value!r}")


def _term_key(item: tuple[Monomial, Fraction]) -> tuple:
    m, _ = item
    return (-sum(e for _, e in m), [(a._key, e) for a, e in m])


def _mono_mul(m1: Monomial, m2: Monomial) -> Monomial:
    acc = dict(m1)
    for a, e in m2:
        acc[a] = acc.get(a, 0) + e
    return tuple(sorted((a, e) for a, e in acc.items() if e != 0))


def _power(base: str, e: int, integer: bool) -> str:
    return base if e == 1 else " * ".join([_paren(base)] * e) if integer else f"{_paren(base)} ** {e}"


def _render_poly(p: Size, symbol: Callable[[str], str], integer: bool = False) -> str:
    if not p.terms:
        return "0"
    parts: list[str] = []
    for m, c in p.terms:
        factors = [_power(a.render(symbol), e, integer) for a, e in m]
        mag = abs(c)
        if mag != 1 or not factors:
            factors.insert(0, str(mag))
        body = " * ".join(_paren(f) if len(factors) > 1 and " // " in f else f for f in factors)
        sign = "-" if c < 0 else "+"
        parts.append((sign, body))
    text = ("-" if parts[0][0] == "-" else "") + parts[0][1]
    for sign, body in parts[1:]:
        text += f" {sign} {body}"
    return text


def _paren(text: str) -> str:
    return f"({text})" if " " in text and not (text.startswith("(") and text.endswith(")")) else text
