"""Exact size algebra: the identities the shape checker relies on."""

from archdsl.sizes import Size

D, H, Y, S = (Size.of(n) for n in "DHYs")


def test_division_cancels():
    assert H * (D / H) == D
    assert (4 * D) / 4 == D
    assert not (D / H).is_integral


def test_conv_output_normal_form():
    out = (Y + 2 - 3).floordiv(2) + 1
    assert str(out) == "(Y + 1) // 2"
    assert out.evaluate({"Y": 224}) == 112
    assert out.evaluate({"Y": 7}) == 4


def test_nested_floor_collapses():
    assert Y.floordiv(2).floordiv(2) == Y.floordiv(4)


def test_symbolic_stride_substitutes():
    out = (Y - 1).floordiv(S) + 1
    assert out.subs({"s": Size.of(2)}) == (Y + 1).floordiv(2)
    assert out.subs({"s": Size.of(1)}) == Y
