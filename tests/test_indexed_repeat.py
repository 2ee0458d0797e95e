"""Indexed repeat (`repeat i in 4 { ... }`, unrolled): per-iteration options and a growing
carried axis. DenseNet-121 against a hand-written torch model laid out as torchvision's
densenet121 (its parameter names and registration order), a dilated stack against torch
convolutions, the interpreter, and the refusals."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError, ArchErrors  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class _DenseLayer(nn.Module):  # torchvision.models.densenet._DenseLayer
    def __init__(self, c: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.BatchNorm2d(c), nn.Conv2d(c, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))


class _DenseNet(nn.Module):  # torchvision.models.densenet.DenseNet(32, (6, 12, 24, 16), 64)
    def __init__(self, blocks=(6, 12, 24, 16), growth=32, classes=1000) -> None:
        super().__init__()
        f = nn.Sequential()
        f.add_module("conv0", nn.Conv2d(3, 64, 7, 2, 3, bias=False))
        f.add_module("norm0", nn.BatchNorm2d(64))
        f.add_module("relu0", nn.ReLU())
        f.add_module("pool0", nn.MaxPool2d(3, 2, 1))
        c = 64
        for i, n in enumerate(blocks):
            block = nn.ModuleDict()
            for j in range(n):
                block[f"denselayer{j + 1}"] = _DenseLayer(c + j * growth, growth, 4)
            f.add_module(f"denseblock{i + 1}", block)
            c += n * growth
            if i < len(blocks) - 1:
                f.add_module(f"transition{i + 1}", nn.Sequential(
                    nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2, 2)))
                c //= 2
        f.add_module("norm5", nn.BatchNorm2d(c))
        self.features, self.classifier = f, nn.Linear(c, classes)

    def forward(self, x):
        for module in self.features.children():
            if isinstance(module, nn.ModuleDict):
                for layer in module.values():
                    x = torch.cat([x, layer(x)], 1)
            else:
                x = module(x)
        return self.classifier(F.adaptive_avg_pool2d(F.relu(x), 1).flatten(1))


def test_densenet121_matches_a_torchvision_layout_reference():
    prog = archdsl.compile_file(EXAMPLES / "densenet.arch")
    ref = _DenseNet()
    assert prog.stats("DenseNet121")["params"] == sum(p.numel() for p in ref.parameters()) == 7_978_856
    ours = prog.module("DenseNet121")
    theirs, mine = ref.state_dict(), ours.state_dict()
    assert [tuple(v.shape) for v in theirs.values()] == [tuple(v.shape) for v in mine.values()]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for v in theirs.values():
            if v.is_floating_point():
                v.copy_(torch.rand(v.shape, generator=gen) * 0.5 + 0.25 if v.dim() == 1 else
                        torch.randn(v.shape, generator=gen) * (2 / v[0].numel()) ** 0.5)
    ours.load_state_dict(dict(zip(mine, theirs.values())))
    x = torch.randn(2, 3, 32, 32, generator=gen)
    torch.testing.assert_close(ours.eval()(x), ref.eval()(x), atol=1e-4, rtol=1e-4)


DILATED = """
block Dilated[C = 4](x: [C, T]) -> [C, T] {
    repeat i in 4 {
        x = x + Conv[C -> C over T](relu(x), kernel = 3, padding = 2 ** i, dilation = 2 ** i)
    }
    return x
}
block Grow[C = 3, k = 2](x: [C, T]) -> [F, T] {
    repeat i in 3 { x = concat[C, G -> C](x, Linear[C -> G, G = k + i](x)) }
    return rename[C -> F](x)
}
"""


def test_per_iteration_options_and_growth_against_torch_and_the_interpreter():
    prog = archdsl.compile_source(DILATED)
    m = prog.module("Dilated", fuse=False)
    convs = [c for c in m.modules() if isinstance(c, nn.Conv1d)]
    assert [c.dilation[0] for c in convs] == [1, 2, 4, 8]
    x = torch.randn(2, 4, 20)
    want = x
    for c in convs:
        want = want + F.conv1d(F.relu(want), c.weight, c.bias, padding=c.dilation[0], dilation=c.dilation[0])
    torch.testing.assert_close(m(x), want)
    out = prog.block("Grow").outputs[0]
    assert str(out.size("F")) in ("C + 3 * k + 3", "3 * k + C + 3")  # 3 + (2 + 0) + (2 + 1) + (2 + 2)
    for block in ("Dilated", "Grow"):
        report = compare(prog, block, seed=4)
        assert report.ok, str(report)


@pytest.mark.parametrize("body, code", [
    ("repeat i in L { x = relu(x) }", "E223"),
    ("repeat C in 2 { x = relu(x) }", "E224"),
    ("repeat x in 2 { x = relu(x) }", "E224"),
])
def test_refused(body, code):
    src = f"block B[C = 4, L = 2](x: [T, C]) -> [T, C] {{\n    {body}\n    return x\n}}"
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    errors = getattr(info.value, "errors", [info.value])
    assert [e.code for e in errors] == [code], [str(e) for e in errors]


def _wavenet_reference(m, x):
    """WaveNet written out in torch with the module's weights: causal convolutions by left
    padding (as WaveNet implementations do), dilations 1..512 three times."""
    t = x.shape[-1]
    h = F.conv1d(F.pad(x, (1, 0)), m.causal.weight, m.causal.bias)
    acc = 0
    layers = [m.wave_net_layer1, *m.wave_net_layers, m.wave_net_layer2]
    for k in range(30):
        layer = layers[k]
        d = 2 ** (k % 10)
        f = F.conv1d(F.pad(h, (d, 0)), layer.filter_conv.weight, layer.filter_conv.bias, dilation=d)
        g = F.conv1d(F.pad(h, (d, 0)), layer.gate_conv.weight, layer.gate_conv.bias, dilation=d)
        z = torch.tanh(f) * torch.sigmoid(g)
        acc = acc + layer.skip(z)
        h = h + layer.residual(z)
    assert h.shape[-1] == t
    return m.conv2(F.relu(m.conv1(F.relu(acc))))


def test_wavenet_is_causal_and_matches_torch():
    prog = archdsl.compile_file(EXAMPLES / "wavenet.arch")
    m = prog.module("WaveNet", Q=16, C=8, S=8).eval()
    assert len(m.wave_net_layers) == 28  # the indexed repeat's layers are one list
    assert "wave_net_layers.27.skip.weight" in m.state_dict()
    x = torch.randn(2, 16, 40)
    torch.testing.assert_close(m(x), _wavenet_reference(m, x), atol=1e-5, rtol=1e-5)
    y = x.clone()
    y[..., 25:] = torch.randn(2, 16, 15)  # the future changes; the past outputs do not
    torch.testing.assert_close(m(y)[..., :25], m(x)[..., :25])
    assert sum(p.numel() for p in m.parameters()) == prog.stats("WaveNet", Q=16, C=8, S=8, T=40)["params"]


IFS = """
block B[C = 4](x: [T, C]) -> [T, C] {
    repeat i in 3 {
        if i == 0 { x = relu(x) } else { x = x + Linear[C -> C](x) }
        if i % 2 == 1 { x = tanh(x) }
    }
    return x
}
"""


def test_static_if_keeps_the_chosen_branch():
    prog = archdsl.compile_source(IFS)
    m = prog.module("B", fuse=False)
    projs = [c for c in m.modules() if isinstance(c, nn.Linear)]
    assert len(projs) == 2  # iterations 1 and 2 only
    x = torch.randn(2, 5, 4)
    want = torch.relu(x)
    want = torch.tanh(want + projs[0](want))
    want = want + projs[1](want)
    torch.testing.assert_close(m(x), want)
    report = compare(prog, "B", seed=5)
    assert report.ok, str(report)


@pytest.mark.parametrize("cond", ["T > 2", "flag < true", "flag > false"])
def test_static_if_refuses_a_condition_known_only_when_built(cond):
    src = f"block B[C = 4, flag = true](x: [T, C]) -> [T, C] {{\n    if {cond} {{ x = relu(x) }}\n    return x\n}}"
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    errors = getattr(info.value, "errors", [info.value])
    assert [e.code for e in errors] == ["E225"], [str(e) for e in errors]
