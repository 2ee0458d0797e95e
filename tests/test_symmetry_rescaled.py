"""Inferred symmetries whose output moves by a fixed fraction of the input's shift: a stride
divides it, an upsampling multiplies it (`shift(Y, X) by 2 -> shift(Y, X)`)."""

from __future__ import annotations

import pytest

import archdsl
from archdsl.symmetry import infer_symmetries

RESCALED = """block Down[C = 3, F = 4](img: [C, Y = 8, X = 8]) -> [F, Y, X] {
    return relu(Conv[C -> F over Y X](img, kernel = 3, stride = 2, padding = 1, mode = circular))
}
block Up[C = 3](img: [C, Y = 8, X = 8]) -> [C, Y, X] {
    return upsample[Y X](img, scale = 2)
}
block Down4[C = 3](img: [C, Y = 8, X = 8]) -> [C, Y, X] {
    return maxpool[Y X](maxpool[Y X](img, kernel = 2, stride = 2), kernel = 2, stride = 2)
}
block Mixed[C = 3](img: [C, Y = 8, X = 8]) -> [C, Y, X] {
    return img + upsample[Y X](maxpool[Y X](img, kernel = 2, stride = 2), scale = 2)
}
"""


@pytest.mark.parametrize("block, contract, requires", [
    ("Down", "equivariant shift(Y, X) by 2 -> shift(Y, X)", ("Y % 2 == 0", "X % 2 == 0")),
    ("Up", "equivariant shift(Y, X) -> shift(Y, X) by 2", ()),
    ("Down4", "equivariant shift(Y, X) by 4 -> shift(Y, X)", ("Y % 4 == 0", "X % 4 == 0")),
])
def test_strides_and_upsampling_are_inferred(block, contract, requires):
    prog = archdsl.compile_source(RESCALED, "r.arch")
    got = {v.contract: v for v in infer_symmetries(prog.table, prog.block(block))}
    assert got[contract].verdict == "proven" and got[contract].requires == requires, got.keys()


def test_no_rescaled_claim_when_the_output_moves_as_the_input():
    prog = archdsl.compile_source(RESCALED, "r.arch")
    texts = [v.contract for v in infer_symmetries(prog.table, prog.block("Mixed"))]
    assert "equivariant shift(Y, X) by 2" in texts and not any("->" in t for t in texts), texts
