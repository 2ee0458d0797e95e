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


def test_unet_matches_hand_written_reference():
    torch.manual_seed(0)
    reference = ref.UNet(3, 4, 2)
    ours = _program("unet.arch").module("UNet", B=4)
    ref.copy_in_order(reference, ours)
    x = torch.randn(2, 3, 32, 48)
    torch.testing.assert_close(ours(x), reference(x), atol=1e-5, rtol=1e-4)  # training-mode BN


def test_efficientnet_matches_hand_written_reference():
    torch.manual_seed(0)
    reference = ref.EfficientNetB0().eval()
    assert sum(p.numel() for p in reference.parameters()) == 5_288_548
    with torch.no_grad():  # non-trivial batch-norm statistics, so every norm matters in eval mode
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    ours = _program("efficientnet.arch").module("EfficientNetB0").eval()
    ref.copy_in_order(reference, ours)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("file, block, sizes, side", [
    ("vit.arch", "ViT", dict(Y=16, X=16, P=8, D=8, L=1, H=2, F_=8, E=3), 16),
    ("unet.arch", "UNet", dict(B=2), 32),
], ids=["ViT", "UNet"])
def test_dynamo_traces_one_graph(file, block, sizes, side):
    """Class-token concat, `select`, inferred preconditions: no graph breaks (eager backend: the
    check is dynamo's tracing, not inductor's code generation)."""
    model = _program(file).module(block, **sizes).eval()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), atol=1e-5, rtol=1e-5)
