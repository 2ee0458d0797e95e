"""The ops added for symmetry against hand-written references: blurpool as a binomial filter,
P4Conv as four rotated convolutions, orbit as stacked turns; FLOPs and parameters as counted by
torch."""

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402


def _one(src, block="B", **sizes):
    return archdsl.compile_source(src).module(block, **sizes).eval().double()


@pytest.mark.parametrize("mode, pad", [("circular", "circular"), ("reflect", "reflect"), ("zeros", "constant")])
def test_blurpool_is_a_binomial_filter_then_subsampling(mode, pad):
    m = _one(f"block B(x: [C, Y, X]) -> [C, Y, X] {{\n    return blurpool[Y X](x, stride = 2, mode = {mode})\n}}\n")
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64)
    k = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    w = (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3)
    ref = F.conv2d(F.pad(x, (1, 1, 1, 1), mode=pad), w, groups=3)[..., ::2, ::2]
    torch.testing.assert_close(m(x), ref)


def test_blurpool_keeps_other_axes_in_place():
    m = _one("block B(x: [Y, X, D]) -> [Y, X, D] {\n    return blurpool[Y X](x, kernel = 5)\n}\n")
    assert m(torch.randn(2, 8, 8, 3, dtype=torch.float64)).shape == (2, 4, 4, 3)


def test_p4_lifting_is_four_rotated_convolutions():
    src = "block B[C = 2, F = 3](x: [C, Y, X]) -> [R, F, Y, X] {\n" \
          "    return P4Conv[C -> F R over Y X](x, kernel = 3, padding = 1)\n}\n"
    m = _one(src)
    w, b = m.weight, m.bias
    with torch.no_grad():
        b.copy_(torch.randn_like(b))
    x = torch.randn(2, 2, 7, 7, dtype=torch.float64)
    ref = torch.stack([F.conv2d(x, torch.rot90(w, r, (2, 3)), b, padding=1) for r in range(4)], 1)
    torch.testing.assert_close(m(x), ref)


def test_p4_group_conv_rolls_the_rotation_axis_of_its_filter():
    src = "block B[C = 2, F = 3](x: [C, R, Y, X]) -> [R, F, Y, X] {\n" \
          "    return P4Conv[C R -> F R over Y X](x, kernel = 3, padding = 1, bias = false)\n}\n"
    m = _one(src)
    w = m.weight  # [F, C, 4, k, k]
    x = torch.randn(2, 2, 4, 6, 6, dtype=torch.float64)
    outs = []
    for r in range(4):  # out[r] = sum_s x[s] * rot^r(w[(s - r) % 4])
        wr = torch.stack([torch.rot90(w[:, :, (s - r) % 4], r, (2, 3)) for s in range(4)], 2)
        outs.append(F.conv2d(x.flatten(1, 2), wr.flatten(1, 2), padding=1))
    torch.testing.assert_close(m(x), torch.stack(outs, 1))


def test_orbit_and_unorbit():
    src = """block O(x: [Y, X]) -> [G, Y, X] {
    return orbit[G over Y X](x, group = rot90)
}
block U(x: [Y, X]) -> [G, Y, X] {
    return unorbit[G over Y X](orbit[G over Y X](x, group = rot90), group = rot90)
}
"""
    prog = archdsl.compile_source(src)
    x = torch.randn(2, 5, 5, dtype=torch.float64)
    o = prog.module("O")(x)
    torch.testing.assert_close(o, torch.stack([torch.rot90(x, g, (1, 2)) for g in range(4)], 1))
    torch.testing.assert_close(prog.module("U")(x), x[:, None].expand(2, 4, 5, 5))


def test_flip_and_rot90():
    src = """block B(x: [Y, X, D]) -> [Y, X, D] {
    return rot90[Y X](flip[X](x), k = 3)
}
"""
    x = torch.randn(2, 4, 6, 3, dtype=torch.float64)
    torch.testing.assert_close(_one(src)(x), torch.rot90(x.flip(2), 3, (1, 2)))


def test_p4cnn_flops_and_parameters_match_torch():
    prog = archdsl.compile_file(ROOT / "examples/symmetry/p4.arch")
    stats = prog.stats("P4CNN", Y=9, X=9)
    model = prog.module("P4CNN").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 9, 9))
    assert counter.get_total_flops() == stats["flops"]
    assert sum(p.numel() for p in model.parameters()) == stats["params"]


def test_aps_keeps_the_phase_with_the_largest_norm():
    m = _one("block B(x: [T, C, Y, X]) -> [T, C, Y, X] {\n    return aps[C over Y X](x, stride = 2)\n}\n")
    x = torch.randn(3, 2, 4, 6, 8, dtype=torch.float64)
    out = m(x)
    for b in range(3):
        for t in range(2):  # the phase is chosen per position of T (broadcast)
            phases = [x[b, t, :, i::2, j::2] for i in range(2) for j in range(2)]
            best = max(phases, key=lambda p: float(p.norm()))
            torch.testing.assert_close(out[b, t], best)
