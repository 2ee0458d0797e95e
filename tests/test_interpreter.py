"""The reference interpreter: every op and node kind has a case; each op, with the options the
examples do not reach, agrees with the generated module (PyTorch's own modules and kernels); a
few semantics checked against torch directly; and the regressions the differential test found."""

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import archdsl  # noqa: E402
from archdsl.interpret import KINDS, OPS, InterpretError, NamedTensor, interpret  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402
from archdsl.ops import REGISTRY  # noqa: E402


def test_every_op_and_node_kind_has_a_case():
    assert set(REGISTRY) <= set(OPS), sorted(set(REGISTRY) - set(OPS))
    assert set(KINDS) == {"input", "op", "call", "repeat"}


def _agree(src: str, block: str = "B", **sizes):
    prog = archdsl.compile_source(src)
    report = compare(prog, block, sizes, seed=1)
    assert report.ok, str(report)
    assert set(report.errors) == {"unfused module", "fused module", "fused interpreter"}


def test_an_unknown_node_kind_or_op_fails_loudly():
    prog = archdsl.compile_source("block B(x: [T]) -> [T] { return relu(x) }")
    module = prog.module("B", fuse=False)
    prog.weight_map()  # made before the node is broken (the code generator would trip on it)
    node = next(n for n in prog.block("B").body.order() if n.kind == "op")
    x = torch.randn(2, 3)
    node.kind = "static_if"
    with pytest.raises(InterpretError, match="kind `static_if`"):
        interpret(prog, "B", module, x)
    node.kind, node.op = "op", "no_such_op"
    with pytest.raises(InterpretError, match="op `no_such_op`"):
        interpret(prog, "B", module, x)


def _one(expr: str, sig: str = "x: [C, Y, X]", out: str = "[C, Y, X]", params: str = "C = 4") -> str:
    return f"block B[{params}]({sig}) -> {out} {{\n    return {expr}\n}}"


SPECS = [
    ("conv strided dilated grouped", _one("Conv[C -> F over Y X](x, kernel = 3, stride = 2, padding = 2, "
                                         "dilation = 2, groups = 2)", out="[F, Y, X]", params="C = 4, F = 6"),
     dict(Y=9, X=8)),
    ("conv circular", _one("Conv[C -> C over Y X](x, kernel = 3, padding = 1, mode = circular)"), dict(Y=5, X=6)),
    ("conv reflect 1d", _one("Conv[C -> F over Y](x, kernel = 3, padding = 1, mode = reflect, bias = false)",
                             out="[F, X, Y]", params="C = 4, F = 3"), dict(Y=5, X=2)),
    ("conv replicate 3d", _one("Conv[C -> C over Z Y X](x, kernel = 2, padding = 1, mode = replicate)",
                               sig="x: [C, Z, Y, X]", out="[C, Z, Y, X]", params="C = 2"), dict(Z=3, Y=4, X=3)),
    ("conv transpose", _one("ConvTranspose[C -> F over Y X](x, kernel = 3, stride = 2, padding = 1, "
                            "output_padding = 1, dilation = 2, groups = 2)", out="[F, Y, X]", params="C = 4, F = 6"),
     dict(Y=3, X=4)),
    ("pools", _one("maxpool[Y X](x, kernel = 3, stride = 2, padding = 1) + avgpool[Y X](x, kernel = 3, "
                   "stride = 2, padding = 1)"), dict(Y=7, X=6)),
    ("avgpool default stride", _one("avgpool[X](x, kernel = 2)"), dict(Y=3, X=6)),
    ("upsample nearest", _one("upsample[Y X](x, scale = 3)"), dict(Y=2, X=3)),
    ("upsample bilinear", _one("upsample[Y X](x, scale = 2, mode = bilinear)"), dict(Y=3, X=4)),
    ("upsample bicubic", _one("upsample[Y X](x, scale = 2, mode = bicubic)"), dict(Y=4, X=5)),
    ("upsample linear", _one("upsample[X](x, scale = 3, mode = linear)"), dict(Y=2, X=4)),
    ("pixel shuffle", _one("pixel_shuffle[C -> F over Y X](x, factor = 2)", out="[F, Y, X]", params="C = 8"),
     dict(Y=2, X=3)),
    ("pad modes", _one("pad[Y X](x, width = 1, value = 0.5) + pad[Y X](x, width = 1, mode = reflect) + "
                       "pad[Y X](x, width = 1, mode = replicate) + pad[Y X](x, width = 1, mode = circular)"),
     dict(Y=3, X=4)),
    ("roll flip rot90", _one("rot90[Y X](flip[X](roll[Y X](x, shift = -2)), k = 3)", out="[C, X, Y]"),
     dict(Y=3, X=5)),
    ("rot90 once", _one("rot90[Y X](x)", out="[C, X, Y]"), dict(Y=2, X=5)),
    ("orbit unorbit rot90", _one("mean[G](unorbit[G over Y X](relu(orbit[G over Y X](x, group = rot90) "
                                 "- 0.3), group = rot90))"), dict(Y=4, X=4)),
    ("orbit flip", _one("sum[G](unorbit[G over X](orbit[G over X](x, group = flip) * Param[G](G = 2), "
                        "group = flip))"), dict(Y=2, X=3)),
    ("select slice", _one("slice[X](select[Y](x, index = -1), start = 1, stop = 3)", out="[C, X]"),
     dict(Y=3, X=4)),
    ("aps two axes", _one("aps[C over Y X](x, stride = 2)"), dict(Y=4, X=6)),
    ("aps one axis", _one("aps[C Y over X](x, stride = 3)"), dict(Y=2, X=6)),
    ("blurpool", _one("blurpool[Y X](x, stride = 2, kernel = 5, mode = circular) + "
                      "blurpool[Y X](x, stride = 2, mode = zeros)"), dict(Y=6, X=7)),
    ("blurpool reflect 1d", _one("blurpool[X](x, stride = 3)"), dict(Y=2, X=7)),
    ("p4 lifting and group", _one("P4Conv[F R -> F R over Y X](P4Conv[C -> F R over Y X](x, kernel = 3, "
                                  "padding = 1), kernel = 3, padding = 1, mode = circular)",
                                  out="[R, F, Y, X]", params="C = 2, F = 3"), dict(Y=5, X=4)),
    ("norms", _one("RMSNorm[Y X](LayerNorm[C](x, bias = false)) + LayerNorm[C X](x, eps = 0.01)",
                   params="C = 4, Y = 3, X = 4"), {}),
    ("batchnorm over four axes", _one("BatchNorm[C](x)", sig="x: [C, A, Z, Y, X]", out="[C, A, Z, Y, X]"),
     dict(A=2, Z=2, Y=3, X=2)),
    ("groupnorm of channels alone", _one("GroupNorm[C](x, groups = 2)", sig="x: [C]", out="[C]"), {}),
    ("activations", _one("gelu(x, approximate = tanh) + gelu(x) + silu(x) + sigmoid(x) + tanh(x) + exp(-x) "
                         "+ sin(x) + dropout(x, p = 0.5) + 2 / (1 + relu(x))"), dict(Y=2, X=3)),
    ("softmax causal", _one("causal_mask[Y X](softmax[Y](x)) + causal_mask[X Y](x, enabled = false)",
                            out="[C, Y, X]"), dict(Y=3, X=4)),
    ("reductions", _one("sum[Y](x) * max[X](x) - mean[Y X](x)", out="[C, X, Y]"), dict(Y=3, X=4)),
    ("dot and linear", _one("dot[K](Linear[C Y -> K](x), Linear[X -> K](x, bias = false))", out="[X, C, Y]",
                            params="C = 2, K = 3, Y = 3, X = 4"), {}),
    ("split merge rename", _one("merge[X Y -> N](rename[A -> Y](split[Y -> A B](x, B = 2)))", out="[C, B, N]"),
     dict(Y=4, X=3)),
    ("concat a learned token", _one("concat[T](Param[T, C](T = 1), merge[Y X -> T](x))", out="[T, C]"),
     dict(Y=2, X=3)),
    ("concat renamed parts", _one("concat[Y, X -> N](x, rename[Y -> X](x))", sig="x: [C, Y]", out="[C, N]"),
     dict(Y=3)),
    ("embedding", _one("Embedding[V -> D](ids)", sig="ids: [T] int", out="[T, D]", params="V = 5, D = 3"),
     dict(T=4)),
    ("longconv channels", _one("longconv[L](u, Param[C, L]())", sig="u: [C, L]", out="[C, L]",
                               params="C = 4, L = 6"), {}),
    ("longconv no channel, short filter", _one("longconv[L](u, Param[L](L = 3), fft_threshold = 2)",
                                               sig="u: [C, L]", out="[C, L]"), dict(L=6)),
    ("longconv two channels", _one("longconv[L](u, Param[C, G, L](G = 2, L = 5), fft_threshold = 2)",
                                   sig="u: [G, C, L]", out="[G, C, L]", params="C = 4, G = 2"), dict(L=4)),
    ("positions", _one("linspace[L](u, start = -1.0, stop = 2.0) * dot[F](fourier_features[L -> F](u, bands = 3), "
                       "Param[F](F = 7))", sig="u: [C, L]", out="[L]"), dict(L=5)),
    ("bspline", _one("bspline[B](x, grid = 4, order = 2, lo = -2.0, hi = 2.0)", sig="x: [C]", out="[C, B]"), {}),
    ("relative bias and window mask", _one("RelPosBias[My Mx -> T S, H](w) + window_mask[Wy My, Wx Mx -> T S]"
                                           "(w, shift = 1)", sig="w: [Wy, My, Wx, Mx]", out="[Wy, Wx, H, T, S]",
                                           params="H = 2, My = 3, Mx = 2"), dict(Wy=2, Wx=3)),
    ("attention with masks, fused", """
block B[K = 3, H = 2, T = 3, S = 4](q: [H, T, K], k: [H, S, K], v: [H, S, F]) -> [H, T, F] {
    return dot[S](softmax[S](dot[K](q, k) * 0.5 + Param[H, T, S]()), v)
}""", dict(F=5)),
    ("causal attention, fused", """
block B[K = 3](q: [T, K], k: [S, K], v: [S, F]) -> [T, F] {
    return dot[S](softmax[S](causal_mask[T, S](dot[K](q, k) / sqrt(K))), v)
}""", dict(T=4, S=4, F=2)),
]


@pytest.mark.parametrize("src, sizes", [s[1:] for s in SPECS], ids=[s[0] for s in SPECS])
def test_op_agrees_with_the_generated_module(src, sizes):
    _agree(src, **sizes)


CALLS = """
block Mix[D](x: [T, D]) -> [T, D] {
    return x + Linear[D -> D](x)
}
block Pair(a: [T, D], b: [T, D]) -> ([T, D], [D]) {
    return a * b, sum[T](a)
}
block Two(a: [U, V]) -> [U, V] {
    return a * softmax[U](sum[V](a))
}
block B[D = 3](x: [Y, X, D]) -> [Y, X, D] {
    w = split[Y -> P Q](x, Q = 2)
    h = Mix[T = (Q X)](w) + Two[U = (P Q), V = (X D)](w)
    s, t = Pair[T = Y](x, Mix[T = Y](x))
    return merge[P Q -> Y](h) + s * t
}
"""


def test_calls_bind_groups_broadcast_and_several_outputs():
    _agree(CALLS, Y=4, X=3)


def test_named_tensors_align_by_name():
    a = NamedTensor(torch.arange(6.0).reshape(2, 3), ("T", "D"))
    b = a.order(("D", "T"))
    assert torch.equal(b.data, a.data.T) and b.names == ("D", "T")
    assert a.aligned(("S", "D", "T")).shape == (1, 3, 2)
    with pytest.raises(ValueError):
        NamedTensor(torch.zeros(2, 2), ("T", "T"))


def _interp(src: str, *xs, block: str = "B", **sizes):
    prog = archdsl.compile_source(src)
    module = prog.module(block, fuse=False, **sizes).double().eval()
    return interpret(prog, block, module, *xs, **sizes), module


def test_rot90_turns_like_torch():
    x = torch.randn(2, 3, 5, dtype=torch.float64)
    (y,), _ = _interp(_one("rot90[Y X](x, k = 1)", sig="x: [Y, X]", out="[X, Y]", params=""), x)
    # torch keeps positions: its dim 1 (our Y) now has X's size; the block returns [X, Y]
    assert torch.equal(y, torch.rot90(x, 1, (1, 2)).transpose(1, 2))


def test_group_norm_takes_statistics_over_each_group_only():
    """`GroupNorm[C]` on [C, Y] normalises each group of C separately at every Y (docs/language.md)."""
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    (y,), m = _interp(_one("GroupNorm[C](x, groups = 2)", sig="x: [C, Y]", out="[C, Y]"), x)
    norm = next(mod for mod in m.modules() if isinstance(mod, torch.nn.GroupNorm))
    want = F.group_norm(x.transpose(1, 2).reshape(6, 4), 2, norm.weight, norm.bias, norm.eps)
    assert torch.allclose(y, want.reshape(2, 3, 4).transpose(1, 2))


# -- regressions found by differential testing ----------------------------------------------

def test_value_defined_before_a_repeat_survives_it():
    _agree("""
block B[D = 4](x: [T, D]) -> [T, D] {
    w = Param[D]()
    y = relu(x)
    repeat 2 { x = Linear[D -> D](x) }
    return x * w + y
}""", T=3)


def test_repeat_count_parameter_of_a_body_without_weights():
    _agree("""
block B[L = 2](x: [T]) -> [T] {
    repeat L { x = relu(x) * 2 - 1 }
    return x
}""", T=3)


def test_nested_repeats():
    """Six layers, not three shared twice: the inner list is built once per outer iteration."""
    _agree("""
block B[D = 4](x: [T, D]) -> [T, D] {
    repeat 2 { repeat 3 { x = Linear[D -> D](x) } }
    return x
}""", T=3)


def test_batch_free_first_argument_of_a_call():
    _agree("""
block Add(a: [L], b: [L]) -> [L] {
    return a + b
}
block B[L = 4](x: [L]) -> [L] {
    return Add(Param[L](), x)
}""")


def test_a_node_whose_value_contradicts_the_checker_is_reported():
    """Every node's value is checked against the type the checker gave it."""
    from archdsl.sizes import Size
    from archdsl.types import Axis

    prog = archdsl.compile_source("block B(x: [T]) -> [T] { return relu(x) }")
    module = prog.module("B", fuse=False)
    node = next(n for n in prog.block("B").body.order() if n.kind == "op")
    node.types = [node.types[0].replace([Axis("T", Size.of("T") + 1)])]
    with pytest.raises(InterpretError, match="checker predicts axes {'T': 4}"):
        interpret(prog, "B", module, torch.randn(2, 3))
