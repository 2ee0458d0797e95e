"""The checker refuses what cannot run (issue 10, item 5): each minimized spec below was accepted
by `archc check` and then crashed, or printed a precondition no useful size satisfies. Refused
specs must carry their code; accepted ones must run at the sizes the checker chooses."""

from __future__ import annotations

import pytest

import archdsl
from archdsl.errors import ArchError

REFUSED = {
    "residual_around_stride2_conv": ("E350", "block B[C = 4](x: [C, Y, X]) -> [C, Y, X] {\n"
                                     "    return x + Conv[C -> C over Y X](x, kernel = 3, stride = 2, padding = 1)\n}\n"),
    "residual_around_pool": ("E350", "block B(x: [Y]) -> [Y] {\n    return x + maxpool[Y](x, kernel = 2)\n}\n"),
    "defaults_violate_forced_equality": ("E351", "block B[C = 3, F = 4](x: [C]) -> [C] {\n"
                                         "    return x + rename[F -> C](Linear[C -> F](x))\n}\n"),
    "output_shrinks_static_axis": ("E314", "block Shrink[C = 2, Y = 8](x: [C, Y]) -> [C, Y] {\n"
                                   "    return Conv[C -> C over Y](x, kernel = 3)\n}\n"),
    "kernel_zero": ("E306", "block B[C = 4](x: [C, Y]) -> [C, Y] {\n    return Conv[C -> C over Y](x, kernel = 0)\n}\n"),
    "dilation_zero": ("E306", "block B[C = 4](x: [C, Y]) -> [C, Y] {\n"
                      "    return Conv[C -> C over Y](x, kernel = 1, dilation = 0)\n}\n"),
    "groups_zero": ("E306", "block B[C = 4](x: [C, Y]) -> [C, Y] {\n"
                    "    return Conv[C -> C over Y](x, kernel = 1, groups = 0)\n}\n"),
    "pool_padding_over_half_kernel": ("E306", "block B(x: [Y]) -> [Y] {\n"
                                      "    return maxpool[Y](x, kernel = 2, stride = 1, padding = 2)\n}\n"),
    "pool_padding_param_over_half_kernel": ("E350", "block B[k = 2](x: [Y]) -> [Y] {\n"
                                            "    return maxpool[Y](x, kernel = k, stride = 1, padding = k)\n}\n"),
    "reflect_conv_wider_than_input": ("E351", "block B[C = 4](x: [C, Y = 4]) -> [C, Y] {\n"
                                      "    return Conv[C -> C over Y](x, kernel = 9, padding = 4, mode = reflect)\n}\n"),
    "reflect_pad_wider_than_input": ("E351", "block B(x: [Y = 2]) -> [Y] {\n"
                                     "    return pad[Y](x, width = 3, mode = reflect)\n}\n"),
    "select_out_of_range": ("E351", "block B[T = 3](x: [T, D]) -> [D] {\n    return select[T](x, index = 5)\n}\n"),
    "slice_stop_past_axis": ("E351", "block S[P = 4, T = 8](x: [P, D]) -> [P, D] {\n"
                             "    return slice[P](x, stop = T)\n}\n"),
    "conv_transpose_output_padding": ("E306", "block B[C = 4](x: [C, Y]) -> [C, Y] {\n    return "
                                      "ConvTranspose[C -> C over Y](x, kernel = 3, stride = 2, output_padding = 3)\n}\n"),
    "upsample_scale_zero": ("E306", "block B(x: [Y]) -> [Y] {\n    return upsample[Y](x, scale = 0)\n}\n"),
    "duplicate_axis_in_op_output": ("E319", "block B[D = 4, K = 3](x: [T, D]) -> [T] {\n"
                                    "    return sum[K](Linear[D -> K K](x))\n}\n"),
    "param_axis_named_like_option": ("E312", "block B[D = 4](x: [T, D]) -> [T, D] {\n"
                                     "    return x * Param[init](init = ones)\n}\n"),
    "int_input_to_softmax": ("E304", "block B(x: [T] int) -> [T] {\n    return softmax[T](x)\n}\n"),
    "bool_subtraction": ("E304", "block B(x: [T], m: [T] bool) -> [T] {\n    return x - m\n}\n"),
    "repeat_grows_by_size_parameter": ("E317", "block G[C = 4, G = 2](x: [C, Y]) -> [C, Y] {\n"
                                       "    repeat 2 { x = pad[C](x, width = G) }\n    return x\n}\n"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_refused_with_its_code(name):
    code, source = REFUSED[name]
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(source)
    assert err.value.code == code, str(err.value)
    assert err.value.span is not None


def _preconditions(source: str, block: str) -> list[str]:
    return [str(p) for p in archdsl.compile_source(source).block(block).preconditions]


def test_slice_stop_beyond_a_free_axis_is_a_precondition():
    assert _preconditions("block S[T = 8](x: [P, D]) -> [P, D] {\n    return slice[P](x, stop = T)\n}\n",
                          "S") == ["P >= T"]


def test_select_index_on_a_free_axis_is_a_precondition():
    assert _preconditions("block B(x: [T, D]) -> [D] {\n    return select[T](x, index = 5)\n}\n", "B") == ["T >= 6"]


DENSE = """
block Layer[C, G = 32, g = 2](x: [C, Y]) -> [C, Y] {
    h = GroupNorm[C](x, groups = g)
    return rename[D -> C](concat[C, G -> D](x, Linear[C -> G](h)))
}

block Dense[C = 64](x: [C, Y]) -> [C, Y] {
    x = Layer(x)
    x = Layer[g = 4](x)
    x = Layer[g = 4](x)
    return Layer[g = 4](x)
}
"""


def test_growth_chain_divisibility_is_canonical_and_not_redundant():
    """`(C + 32) % 2`, `(C + 64) % 4`, `(C + 96) % 4` are all implied by `C % 4 == 0`."""
    assert _preconditions(DENSE, "Dense") == ["C % 4 == 0"]


FORCED = "block E[N = 50, D = 8](x: [M, D]) -> [M, D] {\n    return x + Param[M, D](M = N)\n}\n"


def test_stats_solve_a_free_size_from_an_equality():
    stats = archdsl.compile_source(FORCED).stats("E")
    assert stats["sizes"]["M"] == 50 and stats["outputs"] == [[50, 8]]


def test_testing_strategies_draw_the_forced_size():
    from hypothesis import given, settings

    from archdsl.testing import block_sizes

    program = archdsl.compile_source(FORCED)

    @settings(max_examples=10, deadline=None)
    @given(block_sizes(program, "E"))
    def check(sizes):
        assert sizes["M"] == sizes["N"]

    check()


ACCEPTED = {
    "odd_kernel_residual": "block B[C = 2, k = 3](x: [C, Y = 6]) -> [C, Y] {\n"
                           "    return x + Conv[C -> C over Y](x, kernel = k, padding = k // 2)\n}\n",
    "circular_padding_within_axis": "block B[C = 2](x: [C, Y = 3]) -> [C, Y] {\n"
                                    "    return Conv[C -> C over Y](x, kernel = 3, padding = 1, mode = circular)\n}\n",
    "bool_mask_multiplies": "block B(x: [T = 5], m: [T] bool) -> [T] {\n    return x * m\n}\n",
    "forced_free_size": FORCED,
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_specs_run_at_the_sizes_the_checker_chooses(name):
    torch = pytest.importorskip("torch")
    from archdsl.testing import run_block

    program = archdsl.compile_source(ACCEPTED[name])
    block = ACCEPTED[name].split("(")[0].split("[")[0].removeprefix("block ")
    sizes = program.stats(block)["sizes"]
    outputs, expected = run_block(program, block, sizes)
    assert [list(o.shape[1:]) for o in outputs] == expected
    assert all(torch.isfinite(o).all() for o in outputs)
