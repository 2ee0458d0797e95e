"""The seed architectures against hand-written PyTorch (copied weights) and FlopCounterMode."""

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402
from benchmarks import reference_models as ref  # noqa: E402

# every top-level block of the seed files, at its default (published) size
DEFAULTS = [("vit.arch", "ViT"), ("convnext.arch", "ConvNeXtT"), ("mixer.arch", "MixerB16"),
            ("efficientnet.arch", "EfficientNetB0"), ("unet.arch", "UNet"), ("espcn.arch", "ESPCN")]


def _program(file: str):
    return archdsl.compile_file(ROOT / "examples" / file)


@pytest.mark.slow
@pytest.mark.parametrize("file, block", DEFAULTS, ids=[d[1] for d in DEFAULTS])
def test_default_size_flops_forward_and_backward(file, block):
    prog = _program(file)
    stats = prog.stats(block)
    model = prog.module(block, fuse=False)
    x = torch.randn(1, *stats["inputs"][prog.block(block).inputs[0][0]])
    with FlopCounterMode(display=False) as counter:
        y = model(x)
    assert counter.get_total_flops() == stats["flops"]
    assert list(y.shape) == [1, *stats["outputs"][0]]
    assert sum(p.numel() for p in model.parameters()) == stats["params"]
    y.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


SMALL = [  # (file, block, sizes, reference, loader, image side)
    ("vit.arch", "ViT", dict(Y=32, X=32, P=8, D=32, L=2, H=4, F_=48, E=10),
     lambda: ref.VisionTransformer(32, 8, 3, 10, 32, 2, 4, 48), ref.copy_vit, 32),
    ("convnext.arch", "ConvNeXtT", dict(D=8, E=10),
     lambda: ref.ConvNeXt(3, 10, dims=(8, 16, 32, 64)), ref.copy_convnext, 64),
    ("mixer.arch", "MixerB16", dict(Y=32, X=32, P=8, D=32, L=2, S=12, F_=48, E=10),
     lambda: ref.MlpMixer(32, 8, 3, 10, 32, 2, 12, 48), ref.copy_mixer, 32),
]


@pytest.mark.parametrize("file, block, sizes, make_ref, load, side", SMALL, ids=[s[1] for s in SMALL])
@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
def test_matches_hand_written_reference(file, block, sizes, make_ref, load, side, fuse):
    torch.manual_seed(0)
    reference = make_ref().eval()
    ours = _program(file).module(block, fuse=fuse, **sizes).eval()
    with torch.no_grad():  # random layer scales and position embeddings, so every path matters
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    load(reference, ours)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    x = torch.randn(2, 3, side, side)
    torch.testing.assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-4)


def test_espcn_matches_hand_written_reference():
    r, c = 3, 1
    convs = torch.nn.ModuleList([torch.nn.Conv2d(c, 64, 5, padding=2), torch.nn.Conv2d(64, 32, 3, padding=1),
                                 torch.nn.Conv2d(32, c * r * r, 3, padding=1)])

    def reference(x):
        x = torch.tanh(convs[0](x))
        x = torch.tanh(convs[1](x))
        return torch.nn.functional.pixel_shuffle(convs[2](x), r)

    ours = _program("espcn.arch").module("ESPCN", r=r, C=c)
    for mine, theirs in zip([m for m in ours.modules() if isinstance(m, torch.nn.Conv2d)], convs):
        mine.load_state_dict(theirs.state_dict())
    x = torch.randn(2, c, 17, 23)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-5)
    assert ours(x).shape == (2, c, 17 * r, 23 * r)


def test_unet_refuses_input_the_skips_cannot_align():
    model = _program("unet.arch").module("UNet", B=4)
    assert model(torch.randn(1, 3, 32, 48)).shape == (1, 2, 32, 48)
    with pytest.raises(ValueError, match="Y % 16 == 0"):
        model(torch.randn(1, 3, 40, 48))


def test_efficientnet_stage_preconditions_and_depthwise_convolution():
    prog = _program("efficientnet.arch")
    stats = prog.stats("EfficientNetB0", Y=64, X=96)
    assert stats["outputs"] == [[1000]]
    code = prog.source()
    assert "groups=E" in code  # depthwise convolution: one group per expanded channel
    with pytest.raises(ValueError, match=r"\(n - 1\) >= 0"):
        prog.module("MBStage", C=8, F_=16, n=0)
    with pytest.raises(ValueError, match=r"k == \(2 \* \(k // 2\) \+ 1\)"):
        prog.module("MBStage", C=8, F_=16, n=2, k=4)  # even kernels would not keep the size


def test_class_token_is_shared_across_the_batch():
    ours = _program("vit.arch").module("ViT", Y=16, X=16, P=8, D=8, L=1, H=2, F_=8, E=3).eval()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[1:2], ours(x[1:2]), atol=1e-6, rtol=1e-5)


def _double_conv(c: int, f: int) -> torch.nn.Sequential:
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(c, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
                         nn.Conv2d(f, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), nn.ReLU())


class _UNetReference(torch.nn.Module):
    """U-Net as PyTorch ports write it, modules registered in the order the generated one uses."""

    def __init__(self, c: int, b: int, e: int):
        super().__init__()
        widths = [b, 2 * b, 4 * b, 8 * b, 16 * b]
        self.down = torch.nn.ModuleList([_double_conv(i, o) for i, o in zip([c] + widths, widths)])
        self.up = torch.nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(torch.nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.up.append(_double_conv(2 * w, w))
        self.head = torch.nn.Conv2d(b, e, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(torch.nn.functional.max_pool2d(x, 2) if i else x)
            skips.append(x)
        for up, conv, skip in zip(self.up[::2], self.up[1::2], reversed(skips[:-1])):
            x = conv(torch.cat([skip, up(x)], dim=1))
        return self.head(x)


def test_unet_matches_hand_written_reference():
    torch.manual_seed(0)
    reference = _UNetReference(3, 4, 2)
    ours = _program("unet.arch").module("UNet", B=4)
    theirs, mine = reference.state_dict(), ours.state_dict()
    assert [v.shape for v in theirs.values()] == [v.shape for v in mine.values()]
    ours.load_state_dict(dict(zip(mine, theirs.values())))
    x = torch.randn(2, 3, 32, 48)
    torch.testing.assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-4)  # training-mode BN


def _conv_bn(c: int, f: int, k: int = 1, s: int = 1, groups: int = 1, act: bool = True):
    nn = torch.nn
    layers = [nn.Conv2d(c, f, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(f)]
    return nn.Sequential(*layers, *([nn.SiLU()] if act else []))


class _SqueezeExcite(torch.nn.Module):
    def __init__(self, c: int, s: int):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Conv2d(c, s, 1), torch.nn.Conv2d(s, c, 1)

    def forward(self, x):
        g = self.fc2(torch.nn.functional.silu(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(g)


class _MBConv(torch.nn.Module):
    def __init__(self, c: int, f: int, e: int, k: int, s: int):
        super().__init__()
        hidden = c * e
        layers = [_conv_bn(c, hidden)] if e != 1 else []
        layers += [_conv_bn(hidden, hidden, k, s, groups=hidden), _SqueezeExcite(hidden, max(1, c // 4)),
                   _conv_bn(hidden, f, act=False)]
        self.block = torch.nn.Sequential(*layers)
        self.residual = s == 1 and c == f

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


class _EfficientNetB0Reference(torch.nn.Module):
    """torchvision's efficientnet_b0 structure, written out (torchvision is not a dependency)."""

    TABLE = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
             (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]  # expand ratio, kernel, stride, channels, layers

    def __init__(self, classes: int = 1000):
        super().__init__()
        layers, c = [_conv_bn(3, 32, 3, 2)], 32
        for e, k, s, f, n in self.TABLE:
            for i in range(n):
                layers.append(_MBConv(c, f, e, k, s if i == 0 else 1))
                c = f
        self.features = torch.nn.Sequential(*layers, _conv_bn(c, 1280))
        self.classifier = torch.nn.Linear(1280, classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


def test_efficientnet_matches_hand_written_reference():
    torch.manual_seed(0)
    reference = _EfficientNetB0Reference().eval()
    assert sum(p.numel() for p in reference.parameters()) == 5_288_548
    with torch.no_grad():  # non-trivial batch-norm statistics, so every norm matters in eval mode
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    ours = _program("efficientnet.arch").module("EfficientNetB0").eval()
    theirs, mine = reference.state_dict(), ours.state_dict()
    assert [v.numel() for v in theirs.values()] == [v.numel() for v in mine.values()]
    ours.load_state_dict({k: v.reshape(mine[k].shape) for k, v in zip(mine, theirs.values())})
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=1e-4)
