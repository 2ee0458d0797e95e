"""Messages of the symmetry checker: the culprit is the operation (with its span), the two
sides of a mismatch are told apart, and a callee's axis names are said in the caller's."""

from __future__ import annotations

import archdsl
from archdsl.symmetry import check_contracts
from archdsl.symmetry.blame import translate


def _verdict(src: str, block: str = "B"):
    prog = archdsl.compile_source(src, "m.arch")
    (v,) = check_contracts(prog.table, prog.block(block))
    return v


def test_a_strided_output_blames_the_convolution_not_the_return():
    v = _verdict("block B[C = 3, F = 4](img: [C, Y = 8, X = 8]) -> [F, Y, X] equivariant shift(Y, X) {\n"
                 "    return relu(Conv[C -> F over Y X](img, kernel = 3, stride = 2, padding = 1, mode = circular))\n}\n")
    assert v.verdict == "refuted" and (v.span.line, v.span.column) == (2, 17), v.span
    assert "scaled by 1 / 2, where the contract says shift(" in v.reason, v.reason


def test_a_positional_table_is_blamed_where_it_is_made():
    v = _verdict("block B[D = 4, My = 2, Mx = 2](x: [T = 4, D], g: [My, Mx]) -> [T, D] equivariant perm(T) {\n"
                 "    s = rename[T -> S](x)\n"
                 "    b = RelPosBias[My Mx -> T S](g)\n"
                 "    a = softmax[S](dot[D](x, s) + b)\n"
                 "    return dot[S](a, s)\n}\n")
    assert v.verdict == "refuted" and v.span.line == 3, (v.span, v.reason)
    assert "the `RelPosBias` at 3:9 does not move along S while the `dot` at 4:20 moves by perm(S)" in v.reason


def test_the_moving_operand_is_named():
    v = _verdict("block B[D = 4, T = 5](x: [T, D]) -> [T, D] equivariant perm(T) {\n"
                 "    return x + Param[T, D]()\n}\n")
    assert "`x` (an input) moves by perm(T)" in v.reason and v.span.line == 2, v.reason


def test_callee_axis_names_are_translated():
    src = ("block Inner[D, T = 5](x: [T, D]) -> [T, D] {\n    return x + Param[T, D]()\n}\n"
           "block B[D = 4, S = 5](x: [S, D]) -> [S, D] equivariant perm(S) {\n    return Inner[T = S](x)\n}\n")
    v = _verdict(src)
    assert "along S" in v.reason and "along T" not in v.reason and "`Param[T, D]`" in v.reason, v.reason


def test_translate_keeps_quoted_code():
    assert translate("`Linear[T -> T]` mixes T", {"T": "S"}) == "`Linear[T -> T]` mixes S"
    assert translate("moves T and TT", {"T": "(Wy My)"}) == "moves (Wy My) and TT"
