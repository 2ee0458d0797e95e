"""Static values in a block body: arithmetic on sizes and numbers, bounds, suggestions."""

from __future__ import annotations

import operator
from typing import Union

from .. import ast
from ..errors import ShapeError, Span
from ..ir import Ref
from ..sizes import Size, SizeError
from ..static import Real, Value
from ..suggest import did_you_mean

INTERNAL_OPS = {"binary", "neg", "attention"}
STATIC_FUNCS = {"sqrt"}
Result = Union[Ref, Value]


def is_tensor(v: object) -> bool:
    return isinstance(v, tuple)


MAX_ERRORS = 20  # per block: after that many, stop looking
MAX_SIZE_BITS = 63
MAX_REPEAT = 10_000  # a constant repeat count above this is refused (E338)
POISON = object()  # the value of a name whose statement failed: using it is not a new error


def bounded(v: Result, span: Span) -> Result:
    """Sizes are tensor dimensions: every constant in one must fit in 64 bits."""
    if isinstance(v, Size) and any(max(abs(c.numerator), c.denominator).bit_length() > MAX_SIZE_BITS
                                   for _, c in v.terms):
        raise ShapeError(f"a size constant does not fit in {MAX_SIZE_BITS} bits", span, code="E331",
                         help="tensor dimensions are 64-bit integers")
    return v


def targets(s: ast.Stmt) -> list[str]:
    """The names a statement (re)defines; for `repeat`, every name assigned in its body."""
    if isinstance(s, ast.Assign):
        return list(s.targets)
    if isinstance(s, ast.Repeat):
        return list(dict.fromkeys(n for inner in s.body for n in targets(inner)))
    if isinstance(s, ast.If):
        return list(dict.fromkeys(n for inner in s.then + s.orelse for n in targets(inner)))
    return []


_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def static_binop(e: ast.BinOp, a: Value, b: Value) -> Value:
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        raise ShapeError(f"`{e.op}` needs numbers", e.span, code="E326")
    try:
        if isinstance(a, Size) and isinstance(b, Size):
            if e.op == "//":
                return a.floordiv(b)
            if e.op == "%":
                if not (a.is_const and b.is_const):
                    raise ShapeError("`%` of symbolic sizes is not a size", e.span, code="E326")
                return Size.of(int(a.const) % int(b.const))
            if e.op == "**":
                if not b.is_const or b.const.denominator != 1 or b.const < 0:
                    raise ShapeError("sizes are raised to whole constant powers", e.span, code="E326")
                if b.const > 64:
                    raise ShapeError("exponent too large", e.span, code="E326")
                return a ** int(b.const)
            return _ARITH[e.op](a, b)  # only the operator asked for (`k + 0` divides by nothing)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and e.op in "+-*/":
            return _ARITH[e.op](a, b)
    except (SizeError, ZeroDivisionError) as err:
        raise ShapeError(str(err), e.span, code="E331") from None
    if e.op not in ("+", "-", "*", "/", "**"):
        raise ShapeError(f"`{e.op}` needs whole-number sizes", e.span, code="E326")
    return Real(e.op, (a, b))


def suggest(name: str, known: list[str]) -> str | None:
    return did_you_mean(name, known)



