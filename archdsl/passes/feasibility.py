"""Which preconditions can hold at all, and sizes that satisfy them.

A residual around a stride-2 convolution requires `Y == (Y + 1) // 2`, which holds only at
Y <= 1: printing it as a precondition would accept a block that never runs at a useful size.
`refuted` proves such a condition false for every size at least a bound, soundly and without
search: each floor division is replaced by the bound that moves the difference of the two sides
towards zero (`n / d` or `(n - d + 1) / d`), each size by `bound + u` with u >= 0, and a
polynomial in the u's whose coefficients all have one sign never reaches zero.

`solve_free` chooses the sizes `archc stats`, `verify` and `archdsl.testing` read from inputs
when the block gives none: a free size that an equality ties to known sizes takes the value the
equality forces (`M == N` with `N = 50` gives `M = 50`), one that must be a multiple takes the
smallest multiple at least the default.
"""

from __future__ import annotations

from fractions import Fraction
from math import lcm
from typing import Any, Mapping

from ..errors import ShapeError
from ..ir import BlockIR, Precondition
from ..sizes import Size, SizeError

_SLACK = "\x00u"  # prefix of the non-negative unknowns `size - bound`: no spec can name one
_MAX_STEPS = 64  # floor divisions replaced at most (nested floors each count once)


def _replace_floors(diff: Size, lower: bool) -> Size | None:
    """A bound of `diff` free of floor divisions (a lower bound if `lower`), or None where a
    floor division is not alone in its term or divides by something other than a constant."""
    for _ in range(_MAX_STEPS):
        term = next(((m, c) for m, c in diff.terms if any(not a.is_symbol for a, _ in m)), None)
        if term is None:
            return diff
        mono, coef = term
        atom = mono[0][0]
        low = (coef > 0) == lower  # this term's own bound: the floor's lower or upper one
        if len(mono) == 1 and mono[0][1] == 1 and atom.test is not None:  # a comparison: 0 or 1
            diff = diff - Size({mono: coef}) + coef * (0 if low else 1)
            continue
        if len(mono) != 1 or mono[0][1] != 1 or not atom.is_floor or not atom.den.is_const \
                or not atom.num.is_integral:
            return None
        d = atom.den.const
        bound = (atom.num - (d - 1)) / d if low else atom.num / d
        diff = diff - Size({mono: coef}) + coef * bound
    return None


def _positive(poly: Size, bound: int | Mapping[str, int]) -> bool:
    """`poly > 0` for every value of its sizes at least `bound` (one for all, or per size, 0 for
    those not named): proven when, written in the excesses `size - bound`, every coefficient
    is >= 0 and the constant is > 0."""
    low = (lambda s: bound.get(s, 0)) if isinstance(bound, Mapping) else (lambda s: bound)
    if any(e < 0 for m, _ in poly.terms for _, e in m):
        return False  # a quotient of sizes (`K / r ** 2`): not decided here
    try:
        shifted = poly.subs({s: low(s) + Size.of(_SLACK + s) for s in poly.symbols()})
    except SizeError:
        return False
    return shifted.const > 0 and all(c >= 0 for _, c in shifted.terms)


def refuted(pre: Precondition, bound: int) -> bool:
    """True when no sizes all at least `bound` satisfy an equality or inequality precondition."""
    if pre.kind == "divides":
        return False
    diff = pre.lhs - pre.rhs
    upper = _replace_floors(diff, lower=False)
    below = upper is not None and _positive(-upper, bound)  # lhs < rhs always
    if pre.kind == "at_least" or below:
        return below
    lower = _replace_floors(diff, lower=True)
    return lower is not None and _positive(lower, bound)


def proven(pre: Precondition, lows: Mapping[str, int]) -> bool:
    """An inequality that holds whenever each size is at least its bound in `lows` (axis sizes
    are at least 1, other sizes at least 0): `((Y + 1) // 2) >= 1` for an axis Y."""
    lower = _replace_floors(pre.lhs - pre.rhs, lower=True) if pre.kind == "at_least" else None
    return lower is not None and _positive(lower + 1, lows)


def has_floor(pre: Precondition) -> bool:
    """Whether a floor division (a stride, a kernel, a pooling window) appears in it."""
    return any(not a.is_symbol for side in (pre.lhs, pre.rhs) for m, _ in side.terms for a, _ in m)


def why_infeasible(pre: Precondition) -> str | None:
    """Why no useful sizes satisfy `pre`, or None: it fails for every size >= 1, or (from a
    stride or kernel, i.e. a floor division) for every size >= 2, holding only where some axis
    would have a single position or none."""
    if refuted(pre, 1):
        return "which no sizes satisfy (it could hold only with a size of 0)"
    if has_floor(pre) and refuted(pre, 2):
        return "which holds only when a size it names is 0 or 1"
    return None


def default_env(block: BlockIR) -> dict[str, Any]:
    """The block's own sizes: parameter defaults (where they evaluate), example sizes of free
    axes, and free sizes that preconditions force from those."""
    from .. import static

    env: dict[str, Any] = {}
    for p in block.params.values():
        if p.default is not None:
            try:
                env[p.name] = static.evaluate(p.default, env)
            except (KeyError, ArithmeticError, ValueError):
                continue  # depends on a parameter without a default
    for f, ex in block.examples.items():
        if ex.is_const:
            env[f] = int(ex.const)
    return solve_free(block.preconditions, env, [f for f in block.free if f not in env])


def check_feasible(block: BlockIR) -> list[ShapeError]:
    """E350 for a precondition no useful sizes satisfy; E351 for one the block's own default
    sizes violate (an error at `archc check`, not at the first `stats`)."""
    errors = []
    for pre in block.preconditions:
        why = why_infeasible(pre)
        if why is not None:
            errors.append(ShapeError(f"`{block.name}` requires {pre}{_origin(pre)}, {why}", pre.span,
                                     code="E350", help="the block cannot run; check strides, "
                                     "paddings and the sizes on both sides"))
    if errors:
        return errors
    env = default_env(block)
    for pre in block.preconditions:
        if pre.symbols() <= env.keys() and not _holds(pre, env):
            got = ", ".join(f"{s} = {env[s]}" for s in sorted(pre.symbols()))
            errors.append(ShapeError(f"`{block.name}` requires {pre}{_origin(pre)}, but its own default "
                                     f"sizes violate it ({got})", pre.span, code="E351",
                                     help="change the defaults so that the condition holds"))
    return errors


def _origin(pre: Precondition) -> str:
    return f" ({pre.origin})" if pre.origin else ""


def _holds(pre: Precondition, env: dict[str, Any]) -> bool:
    try:
        return pre.holds(env)
    except (ArithmeticError, ValueError):
        return False


def solve_free(pres: list[Precondition], env: dict[str, Any], free: list[str]) -> dict[str, Any]:
    """`env` with the sizes in `free` that equalities determine: one linear in a single unknown
    size gives its value (when a whole number >= 1). Other free sizes stay unset."""
    env = dict(env)
    open_ = set(free) - env.keys()
    progress = True
    while progress and open_:
        progress = False
        for pre in pres:
            unknown = pre.symbols() & open_
            if pre.kind == "equal" and len(unknown) == 1 and pre.symbols() - unknown <= env.keys():
                (name,) = unknown
                value = _linear_root(pre, name, env)
                if value is not None:
                    env[name] = value
                    open_.discard(name)
                    progress = True
    return env


def _linear_root(pre: Precondition, name: str, env: dict[str, Any]) -> int | None:
    known = {k: Size.of(v) for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
    diff = (pre.lhs - pre.rhs).subs(known)
    sym = Size.of(name)
    a = Fraction(0)
    for m, c in diff.terms:
        if m == sym.terms[0][0]:
            a = c
        elif m != ():
            return None  # a power, a product or a floor division of the unknown
    if a == 0:
        return None
    root = -diff.const / a
    return int(root) if root.denominator == 1 and root >= 1 else None


def multiple_default(pres: list[Precondition], name: str, env: dict[str, Any], default: int) -> int:
    """The smallest multiple, at least `default`, of every known m in `name % m == 0`."""
    moduli = []
    for pre in pres:
        if pre.kind == "divides" and pre.lhs.as_symbol() == name and pre.rhs.symbols() <= env.keys():
            try:
                m = pre.rhs.evaluate(env)
            except (ArithmeticError, ValueError):
                continue
            if m.denominator == 1 and m >= 1:
                moduli.append(int(m))
    step = lcm(*moduli) if moduli else 1
    return -(-default // step) * step
