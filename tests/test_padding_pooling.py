"""Padding and pooling against PyTorch formulations written by hand: `pad` per side, Conv with
`causal = true` (pad before, as WaveNet and Mamba's conv1d) and `same = true` (TensorFlow's
SAME, any stride), avgpool's `count_include_pad`, adaptive pooling; the interpreter on each;
FLOPs against FlopCounterMode; the init options against `nn.init` under one seed."""

import math

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402
from archdsl.symmetry import check_contracts  # noqa: E402


def _prog(body, sig="(x: [C, Y, X]) -> [C, Y, X]", params="[C = 3, F = 4]"):
    return archdsl.compile_source(f"block B{params}{sig} {{\n    return {body}\n}}\n")


def _module(body, **kw):
    return _prog(body, **kw).module("B").eval().double()


def _random_(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p))
    return module


@pytest.mark.parametrize("body, ref", [
    ("pad[Y X](x, before = 2, after = 1)", lambda x: F.pad(x, (2, 1, 2, 1))),
    ("pad[X](x, width = 2, after = 0, value = 1.5)", lambda x: F.pad(x, (2, 0), value=1.5)),
    ("pad[Y](x, before = 1, after = 2, mode = reflect)",
     lambda x: torch.cat([x[:, :, 1:2], x, x[:, :, -3:-1].flip(2)], dim=2)),
    ("pad[X](x, after = 3, mode = circular)", lambda x: torch.cat([x, x[..., :3]], dim=-1)),
])
def test_pad_per_side(body, ref):
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(_module(body, sig="(x: [C, Y, X]) -> [C, Y, X]")(x), ref(x))


def test_causal_conv_is_left_padding_then_valid_conv():
    m = _random_(_module("Conv[C -> F over T](x, kernel = 3, dilation = 2, causal = true)",
                         sig="(x: [C, T]) -> [F, T]"))
    x = torch.randn(2, 3, 10, dtype=torch.float64)
    ref = F.conv1d(F.pad(x, (4, 0)), m.conv.weight, m.conv.bias, dilation=2)
    torch.testing.assert_close(m(x), ref)
    y = m(x[..., :6])  # causality: a prefix of the input gives the prefix of the output
    torch.testing.assert_close(y, ref[..., :6])


def _tf_same(x, w, b, stride):
    """TensorFlow's SAME: ceil(n / s) outputs, the odd padding position after."""
    pads = []
    for n, k in zip(reversed(x.shape[2:]), reversed(w.shape[2:])):
        total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.conv2d(F.pad(x, pads), w, b, stride=stride)


@pytest.mark.parametrize("kernel, stride, y, x", [(3, 2, 7, 8), (4, 2, 9, 6), (4, 1, 5, 5), (1, 2, 5, 4)])
def test_same_conv_matches_tensorflow_padding(kernel, stride, y, x):
    m = _random_(_module(f"Conv[C -> F over Y X](x, kernel = {kernel}, stride = {stride}, same = true)",
                         sig="(x: [C, Y, X]) -> [F, Y, X]"))
    img = torch.randn(2, 3, y, x, dtype=torch.float64)
    out = m(img)
    assert out.shape[-2:] == (math.ceil(y / stride), math.ceil(x / stride))
    torch.testing.assert_close(out, _tf_same(img, m.conv.weight, m.conv.bias, stride))


@pytest.mark.parametrize("body, sizes", [
    ("Conv[C -> C over Y X](x, kernel = 3, stride = 2, same = true)", dict(Y=7, X=4)),
    ("Conv[C -> C over Y X](x, kernel = 2, dilation = 2, causal = true)", dict(Y=5, X=6)),
    ("avgpool[Y X](x, kernel = 3, stride = 2, padding = 1, count_include_pad = false)", dict(Y=7, X=6)),
    ("adaptive_avgpool[Y X](x, size = 3)", dict(Y=7, X=5)),
    ("adaptive_maxpool[Y X](x, size = 4)", dict(Y=3, X=9)),
    ("pad[Y X](x, before = 2, after = 0, mode = replicate)", dict(Y=3, X=4)),
])
def test_interpreter_agrees(body, sizes):
    report = compare(_prog(body, sig="(x: [C, Y, X]) -> [C, Y, X]", params="[C = 3]"), "B",
                     sizes, seed=0, batch=(2, 3))
    assert report.ok, str(report)


def test_avgpool_count_include_pad_false_divides_by_the_inside_positions():
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    m = _module("avgpool[Y X](x, kernel = 3, stride = 1, padding = 1, count_include_pad = false)")
    ones = torch.ones(1, 1, 5, 6, dtype=torch.float64)
    count = F.conv2d(F.pad(ones, (1, 1, 1, 1)), torch.ones(1, 1, 3, 3, dtype=torch.float64))
    total = F.conv2d(F.pad(x.reshape(6, 1, 5, 6), (1, 1, 1, 1)), torch.ones(1, 1, 3, 3, dtype=torch.float64))
    torch.testing.assert_close(m(x), (total / count).reshape(2, 3, 5, 6))


@pytest.mark.parametrize("fn, size, y, x", [("avg", 3, 7, 5), ("max", 2, 5, 5), ("avg", 4, 3, 2)])
def test_adaptive_pool_bins(fn, size, y, x):
    img = torch.randn(2, 3, y, x, dtype=torch.float64)
    out = _module(f"adaptive_{fn}pool[Y X](x, size = {size})")(img)
    ref = torch.empty(2, 3, size, size, dtype=torch.float64)
    for i in range(size):
        for j in range(size):
            box = img[..., i * y // size:-(-(i + 1) * y // size), j * x // size:-(-(j + 1) * x // size)]
            ref[..., i, j] = box.mean((-2, -1)) if fn == "avg" else box.amax((-2, -1))
    torch.testing.assert_close(out, ref)


def test_flops_of_one_sided_convolutions_match_torch():
    prog = _prog("Conv[C -> F over Y X](x, kernel = 3, stride = 2, same = true) + "
                 "adaptive_avgpool[Y X](Conv[C -> F over Y X](x, kernel = 2, causal = true), size = 4)",
                 sig="(x: [C, Y = 8, X = 7]) -> [F, Y, X]")
    m = prog.module("B").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        m(torch.randn(1, 3, 8, 7))
    assert counter.get_total_flops() == prog.stats("B")["flops"]


@pytest.mark.parametrize("body, verdict", [
    ("Conv[C -> C over Y X](x, kernel = 3, causal = true, mode = circular)", "E381"),
    ("Conv[C -> C over Y X](x, kernel = 3, same = true, padding = 1)", "E381"),
    ("Conv[C -> C over Y X](x, kernel = 3, same = true, causal = true)", "E381"),
    ("Linear[C -> C](x, std = 0.1)", "E204"),
    ("Conv[C -> C over Y X](x, kernel = 1, bias = false, bias_init = zeros)", "E204"),
])
def test_refusals(body, verdict):
    with pytest.raises(ArchError) as err:
        _prog(body).check()
    assert err.value.code == verdict


def test_causal_conv_symmetry_is_shift_up_to_boundary():
    src = ("block B[C = 2](x: [C, T = 8]) -> [C, T] equivariant shift(T) {\n"
           "    return Conv[C -> C over T](x, kernel = 3, causal = true)\n}\n")
    prog = archdsl.compile_source(src)
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert v.verdict == "approximate", v.reason


@pytest.mark.parametrize("options, init", [
    ("init = normal, std = 0.5", lambda w: nn.init.normal_(w, std=0.5)),
    ("init = trunc_normal", lambda w: nn.init.trunc_normal_(w, std=0.02)),
    ("init = xavier_uniform", nn.init.xavier_uniform_),
    ("init = zeros, bias_init = ones", nn.init.zeros_),
])
def test_linear_init_equals_nn_init_under_one_seed(options, init):
    prog = archdsl.compile_source(f"block B[D = 16, E = 32](x: [D]) -> [E] {{\n"
                                  f"    return Linear[D -> E](x, {options})\n}}\n")
    torch.manual_seed(7)
    m = prog.module("B")
    torch.manual_seed(7)
    ref = nn.Linear(16, 32)
    init(ref.weight)
    if "bias_init = ones" in options:
        nn.init.ones_(ref.bias)
    torch.testing.assert_close(m.proj.weight, ref.weight)
    torch.testing.assert_close(m.proj.bias, ref.bias)


def test_conv_kaiming_init_is_torchvisions_fan_out():
    prog = _prog("Conv[C -> F over Y X](x, kernel = 3, init = kaiming_normal, bias_init = zeros)",
                 sig="(x: [C, Y, X]) -> [F, Y, X]")
    torch.manual_seed(3)
    m = prog.module("B")
    torch.manual_seed(3)
    ref = nn.Conv2d(3, 4, 3)
    nn.init.kaiming_normal_(ref.weight, mode="fan_out", nonlinearity="relu")
    torch.testing.assert_close(m.conv.weight, ref.weight)
    assert not m.conv.bias.any()
