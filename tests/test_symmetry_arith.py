"""The arithmetic of subgroups and size conditions (archdsl/symmetry/arith.py) against integers,
and the verdicts it feeds: order-independent, never a trivial subgroup, one condition form."""

from __future__ import annotations

from math import lcm

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archdsl
from archdsl.sizes import Size
from archdsl.symmetry import check_contracts
from archdsl.symmetry.arith import condition_text, lcm_size

SYMBOLS = ("P", "Q")


@st.composite
def monomials(draw) -> Size:
    """A positive size `c * P**i * Q**j` (c a small whole number or a half)."""
    c = draw(st.sampled_from([1, 2, 3, 4, 6, 12]))
    out = Size.of(c) / (2 if draw(st.booleans()) and c % 2 == 0 else 1)
    for s in SYMBOLS:
        out = out * Size.of(s) ** draw(st.integers(0, 2))
    return out


@settings(max_examples=200, deadline=None, database=None)
@given(monomials(), monomials(), st.integers(1, 9), st.integers(1, 9))
def test_lcm_is_a_common_multiple_at_every_value(a, b, p, q):
    env = {"P": p, "Q": q}
    m = lcm_size(a, b)
    assert (m / a).is_integral and (m / b).is_integral  # symbolically a multiple of both
    for x in (a, b):
        assert m.evaluate(env) % x.evaluate(env) == 0
    assert lcm_size(b, a) == m


@settings(max_examples=100, deadline=None, database=None)
@given(st.integers(1, 60), st.integers(1, 60))
def test_lcm_of_constants_is_the_integer_lcm(a, b):
    assert lcm_size(Size.of(a), Size.of(b)) == Size.of(lcm(a, b))


def test_lcm_keeps_symbolic_factors():
    p = Size.of("P")
    assert lcm_size(2 * p, p) == 2 * p  # never collapses `by (2 * P)` to `by P`
    assert lcm_size(p, Size.of(2)) == 2 * p
    assert lcm_size(2 * p, Size.of(4)) == 4 * p
    assert lcm_size(p / 2, Size.of(2)) == 2 * p  # `by M / 2` and a stride 2: a multiple of both


@settings(max_examples=100, deadline=None, database=None)
@given(monomials(), monomials(), st.integers(1, 9), st.integers(1, 9), st.integers(1, 200))
def test_condition_text_reads_as_python(modulus, extra, p, q, n):
    env = {"P": p, "Q": q}
    length = Size.of("P") * Size.of(n) + extra  # a length with a sum in it
    text = condition_text(length, modulus)
    want = length.evaluate(env) % modulus.evaluate(env) == 0
    assert eval(text, {}, dict(env)) == want, text  # noqa: S307 - our own generated text


def _verdicts(src: str) -> dict[str, tuple]:
    prog = archdsl.compile_source(src, "s.arch")
    return {v.contract: (v.verdict, v.subgroup, v.requires) for v in check_contracts(prog.table, prog.block("B"))}


BODIES = [
    "h = upsample[Y X](maxpool[Y X](h, kernel = 2), scale = 2)",
    "h = merge[A B -> Y](relu(split[Y -> A B](h, B = 2)))",
    "h = h + roll[Y X](h, shift = 2)",
    "h = Conv[D -> D over Y X](h, kernel = 3, padding = 1, mode = circular)",
    "h = h + maxpool[Y X](h, kernel = 3, stride = 1, padding = 1)",
]


@pytest.mark.parametrize("body", BODIES)
def test_symbolic_repeat_does_not_depend_on_axis_order(body):
    src = (f"block B[D = 2, N = 2](x: [Y = 8, X = 8, D]) -> [Y, X, D] \\\n"
           f"        equivariant shift(Y, X) by 2  equivariant shift(X, Y) by 2 {{\n"
           f"    h = x\n    repeat N {{\n        {body}\n    }}\n    return h\n}}\n")
    got = _verdicts(src)
    yx, xy = got["equivariant shift(Y, X) by 2"], got["equivariant shift(X, Y) by 2"]
    assert yx[0] == xy[0] and sorted(yx[2]) == sorted(xy[2]), got


def test_trivial_subgroups_are_never_named():
    src = ("block B[D = 2](x: [Y = 8, X = 8, D]) -> [D] invariant shift(Y) {\n"
           "    return mean[Y X](maxpool[Y](x, kernel = Y, stride = Y))\n}\n")
    verdict, subgroup, requires = _verdicts(src)["invariant shift(Y)"]
    assert subgroup is None and not any("Y % Y" in r for r in requires), (verdict, subgroup, requires)


def test_symbolic_conditions_are_parenthesised():
    src = ("block B[D = 2, P = 4](x: [Y = 8, X = 8, D]) -> [D] invariant shift(Y, X) by (2 * P) {\n"
           "    h = maxpool[Y X](x, kernel = P, stride = P)\n"
           "    return mean[Y X](maxpool[Y X](h, kernel = 2, stride = 2))\n}\n")
    verdict, subgroup, requires = _verdicts(src)["invariant shift(Y, X) by (2 * P)"]
    assert verdict == "proven" and "Y % (2 * P) == 0" in requires, (verdict, requires)
