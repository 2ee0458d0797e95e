"""(System tests: whole models.) `load_weights` converts models with torchvision's and timm's exact layouts (tests/
reference_layouts.py) into the generated modules of the examples, matched by structure alone:
the outputs must then agree, and a model of another architecture is refused with a report."""

import pytest
import torch
from reference_layouts import (
    ConvNeXt,
    EfficientNet,
    MlpMixer,
    MobileNetV2,
    SwinTransformer,
    VisionTransformer,
    deit_small,
    resnet18,
    resnet50,
)

from archdsl import compile_file
from archdsl.weights import WeightsError, load_weights


def randomize(model: torch.nn.Module) -> torch.nn.Module:
    """Weights and batch-norm statistics far from their initial values (which would hide swaps)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5 if "running_var" in name else
                        torch.randn(t.shape, generator=g) * 0.2)
    return model.eval()


def _converted(root, file, block, reference, x, **sizes):
    ours = compile_file(root / "examples" / file).module(block, **sizes).eval()
    before = ours(x)
    report = load_weights(ours, reference, example=x[:1])
    assert report.complete and not report.transformed
    assert not torch.allclose(before, reference(x), atol=1e-3)  # loading is what made them agree
    return ours, report


def test_torchvision_resnet18_from_module_and_from_state_dict(root):
    ref = randomize(resnet18(num_classes=10))
    x = torch.randn(2, 3, 32, 32)
    ours, report = _converted(root, "resnet.arch", "ResNet18", ref, x, E=10)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)
    target_of = {s: t for t, s in report.matched}
    assert torch.equal(ours.state_dict()[target_of["conv1.weight"]], ref.conv1.weight)
    # a state_dict alone is taken in its key order, torchvision's order of use
    again = compile_file(root / "examples" / "resnet.arch").module("ResNet18", E=10).eval()
    load_weights(again, ref.state_dict(), example=x[:1])
    torch.testing.assert_close(again(x), ref(x), rtol=1e-5, atol=1e-5)


def test_timm_convnext(root):
    ref = randomize(ConvNeXt(dims=(16, 32, 64, 128), num_classes=10))
    x = torch.randn(2, 3, 32, 32)
    ours, _ = _converted(root, "convnext.arch", "ConvNeXtT", ref, x, D=16, E=10)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_a_different_architecture_is_refused_untouched(root):
    ref = randomize(ConvNeXt(depths=(3, 3, 3, 3), dims=(16, 32, 64, 128), num_classes=10))
    ours = compile_file(root / "examples" / "convnext.arch").module("ConvNeXtT", D=16, E=10).eval()
    state = {k: v.clone() for k, v in ours.state_dict().items()}
    with pytest.raises(WeightsError) as e:
        load_weights(ours, ref, example=torch.randn(1, 3, 32, 32))
    assert e.value.code == "E700" and e.value.report.unmatched
    assert all(torch.equal(state[k], v) for k, v in ours.state_dict().items())




def test_timm_vit_fused_qkv_and_class_token(root):
    ref = randomize(VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2,
                                      num_classes=10))
    x = torch.randn(2, 3, 32, 32)
    ours = compile_file(root / "examples" / "vit.arch").module("ViT", Y=32, X=32, P=8, D=32, L=2, H=2, F=128,
                                                                E=10).eval()
    report = load_weights(ours, ref, example=x[:1])
    assert report.complete
    # timm's class token and position table carry a size-1 batch axis; its qkv is one GEMM, as ours
    assert sorted(s for _, s, _ in report.transformed) == ["cls_token", "pos_embed"]
    assert "blocks.0.attn.qkv.weight" in {s for _, s in report.matched}
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_torchvision_resnet50(root):
    ref = randomize(resnet50(num_classes=10))
    x = torch.randn(2, 3, 32, 32)
    ours, report = _converted(root, "resnet.arch", "ResNet50", ref, x, E=10)
    assert len(report.matched) == len(ref.state_dict())
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_timm_efficientnet_b0_squeeze_excite_convolutions_for_linear_layers(root):
    ref = randomize(EfficientNet(num_classes=10))
    x = torch.randn(2, 3, 64, 64)
    ours = compile_file(root / "examples" / "efficientnet.arch").module("EfficientNetB0", E=10).eval()
    report = load_weights(ours, ref, example=x[:1])
    assert report.complete
    # timm's squeeze-excite layers are 1x1 convolutions: 16 blocks, reduce and expand weights
    assert sorted({s.rsplit(".", 2)[-2] for _, s, _ in report.transformed}) == ["conv_expand", "conv_reduce"]
    assert len(report.transformed) == 32
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_reference_parameter_counts_are_the_published_ones():
    counts = {SwinTransformer: 28_288_354, deit_small: 22_050_664, MobileNetV2: 3_504_872, MlpMixer: 59_880_472}
    with torch.device("meta"):
        assert {f: sum(p.numel() for p in f().parameters()) for f in counts} == counts


def test_timm_swin_tiny_loads_as_it_is(root):
    """std.windows projects q, k and v with one `qkv` GEMM, as timm does: every tensor loads
    unchanged (the split of a fused qkv into three projections is tests/test_weights.py's)."""
    # Swin-T's depths and heads, narrower (24 channels) on 64 x 64 images with 2 x 2 windows
    ref = randomize(SwinTransformer(64, 4, 24, (2, 2, 6, 2), (3, 6, 12, 24), window_size=2, num_classes=10))
    x = torch.randn(2, 3, 64, 64)
    ours, report = _converted(root, "swin.arch", "SwinT", ref, x, D=24, M=2, E=10)
    assert report.verified
    assert "layers.0.blocks.0.attn.qkv.weight" in {s for _, s in report.matched}
    assert "layers.0.blocks.0.attn.relative_position_bias_table" in {s for _, s in report.matched}
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_timm_deit_small(root):
    ref = randomize(deit_small(img_size=32, num_classes=10, depth=2))  # DeiT-S's width and heads, 2 layers
    x = torch.randn(2, 3, 32, 32)
    ours = compile_file(root / "examples" / "vit.arch").module("ViT", Y=32, X=32, D=384, L=2, H=6, F=1536,
                                                                E=10).eval()
    assert load_weights(ours, ref, example=x[:1]).complete
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_torchvision_mobilenet_v2(root):
    ref = randomize(MobileNetV2(num_classes=10))
    x = torch.randn(2, 3, 32, 32)
    ours, report = _converted(root, "mobilenetv2.arch", "MobileNetV2", ref, x, E=10)
    assert len(report.matched) == len(ref.state_dict())
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_timm_mixer_token_mlp_along_the_patches(root):
    ref = randomize(MlpMixer(img_size=32, patch_size=8, embed_dim=32, num_blocks=2, num_classes=10))
    x = torch.randn(2, 3, 32, 32)
    ours, _ = _converted(root, "mixer.arch", "MixerB16", ref, x, Y=32, X=32, P=8, D=32, L=2, S=16, F=128, E=10)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)
