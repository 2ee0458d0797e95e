"""The window, sequence and basis ops at the front end (no torch): shapes, parameter counts,
preconditions, and a coded diagnostic with a position for each misuse."""

import pytest

import archdsl
from archdsl import ArchError
from archdsl.errors import Span
from archdsl.ir import Precondition
from archdsl.passes.conditions import canonical, implies
from archdsl.sizes import Size

SPAN = Span("t.arch", 1, 1, 1, 2)


def _block(body: str, head: str = "block B[D = 8, H = 2, M = 4](x: [Y, X, D]) -> [Y, X, D]") -> str:
    return f"{head} {{\n{body}\n}}"


def test_relpos_bias_table_has_one_row_per_offset():
    src = _block("""    w = split[Y -> Wy My, X -> Wx Mx](x, My = M, Mx = 3)
    b = RelPosBias[My Mx -> T S, H](w)
    return x""")
    prog = archdsl.compile_source(src)
    assert prog.stats("B", Y=8, X=6)["params"] == (2 * 4 - 1) * (2 * 3 - 1) * 2


def test_window_mask_infers_its_axes_and_preconditions():
    src = _block("""    w = split[Y -> Wy My, X -> Wx Mx](x, My = M, Mx = M)
    m = window_mask[Wy My, Wx Mx -> T S](w, shift = 2)
    return x + sum[Wy Wx T S](m)""", "block B[D = 8, M = 4](x: [Y, X, D]) -> [Y, X, D]")
    block = archdsl.compile_source(src).block("B")
    assert [str(p) for p in block.preconditions] == ["Y % M == 0", "X % M == 0"]


def test_bspline_basis_axis_has_grid_plus_order_functions():
    src = "block K[I = 3, G = 5](x: [I]) -> [I, B] {\n    return bspline[B](x, grid = G, order = 3)\n}"
    assert archdsl.compile_source(src).stats("K")["outputs"] == [[3, 8]]


@pytest.mark.parametrize("body, code, line", [
    ("    b = RelPosBias[My Mx -> T S, H](x)\n    return x", "E302", 2),
    ("    b = RelPosBias[Y X](x)\n    return x", "E204", 2),
    ("    b = RelPosBias[Y X -> T S, H](x)\n    return x", "E311", 2),
    ("    m = window_mask[Y -> T S](x, shift = 1)\n    return x", "E204", 2),
    ("    m = window_mask[Wy My -> T S](split[Y -> Wy My](x, My = M))\n    return x", "E204", 2),
    ("    return slice[Y](x, start = 2, stop = 1)", "E306", 2),
])
def test_window_op_misuse_is_a_coded_error(body, code, line):
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(_block(body), "w.arch")
    assert err.value.code == code and err.value.span.line == line


@pytest.mark.parametrize("src, code", [
    ("block C[D = 4](u: [L, D], h: [L, D]) -> [L, D] {\n    return longconv[L](u, h)\n}", "E310"),
    ("block C[D = 4, E = 3](u: [L, D]) -> [L, D] {\n    return longconv[L](u, Param[L, E]())\n}", "E311"),
    ("block C[D = 4, E = 3, L = 8](u: [L, D]) -> [L, D] {\n    return longconv[L](u, Param[L, E]())\n}", "E302"),
    ("block C[D = 4, L = 8](u: [L, D]) -> [L, D] {\n    return longconv[L D](u, Param[L, D]())\n}", "E204"),
    ("block K[I = 3](x: [I]) -> [I] {\n    return sum[I](bspline[I](x))\n}", "E303"),
    ("block K[I = 3](x: [I]) -> [I] {\n    return sum[B](bspline[B](x, grid = 0))\n}", "E306"),
    ("block K[I = 3](x: [I]) -> [I] {\n    return sum[B](bspline[B](x, lo = 1.0, hi = -1.0))\n}", "E306"),
])
def test_sequence_op_misuse_is_a_coded_error(src, code):
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(src, "s.arch")
    assert err.value.code == code and err.value.span.line == 2


@pytest.mark.parametrize("src, want", [
    ("block K[I = 3, B = 7](x: [I]) -> [I, B] {\n    return bspline[B](x, grid = 5, order = 3)\n}", "B == 8"),
    ("block Z[F = 4](x: [L]) -> [L, F] {\n    return fourier_features[L -> F](x, bands = 2)\n}", "F == 5"),
])
def test_declared_basis_and_feature_sizes_must_agree(src, want):
    """The defaults violate the size the op forces: refused at check time (E351), naming it."""
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(src, "s.arch")
    assert err.value.code == "E351" and err.value.span.line == 2 and want in err.value.message


def test_implied_and_rescaled_preconditions_are_listed_once():
    from conftest import ROOT
    swin = archdsl.compile_file(ROOT / "examples/swin.arch").block("SwinT")
    assert [str(p) for p in swin.preconditions] == [
        "D % 3 == 0", "(Y // 4) % (8 * M) == 0", "(X // 4) % (8 * M) == 0"]


@pytest.mark.parametrize("lhs, rhs, want", [
    (2 * Size.of("D"), Size.of(6), "D % 3 == 0"),
    (Size.of("Y") / 2, Size.of("M"), "Y % (2 * M) == 0"),
    (3 * Size.of("D") / 4, Size.of(6), "D % 8 == 0"),
    (Size.of("D") / Size.of("H"), Size.of(2), "(D // H) % 2 == 0"),  # a quotient: kept as it is
])
def test_divisibility_has_one_canonical_form(lhs, rhs, want):
    pre = canonical(Precondition("divides", lhs, rhs, SPAN))
    assert str(pre) == want
    for y in range(1, 49):
        env = {"D": y, "Y": y, "M": 3, "H": 2}
        assert pre.holds(env) == Precondition("divides", lhs, rhs, SPAN).holds(env)


def test_stronger_divisibility_implies_weaker():
    y = Size.of("Y")
    strong, weak = (Precondition("divides", y, m, SPAN) for m in (8 * Size.of("M"), 2 * Size.of("M")))
    assert implies(strong, weak) and not implies(weak, strong)
