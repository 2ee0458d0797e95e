"""MobileNetV2 (examples/mobilenetv2.arch) against a hand-written model in torchvision's layout
(benchmarks/mobilenet_reference.py): parameter count, outputs with copied weights and random
batch-norm statistics, FLOPs against FlopCounterMode, and relu6 emitted as F.relu6."""

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402
from benchmarks import mobilenet_reference  # noqa: E402
from benchmarks.reference_models import copy_in_order  # noqa: E402

PATH = ROOT / "examples" / "mobilenetv2.arch"


@pytest.fixture(scope="module")
def prog():
    return archdsl.compile_file(PATH)


def test_parameter_count_is_torchvisions(prog):
    reference = mobilenet_reference.MobileNetV2()
    assert sum(p.numel() for p in reference.parameters()) == 3_504_872
    assert prog.stats("MobileNetV2")["params"] == 3_504_872


def test_outputs_equal_the_reference_with_copied_weights(prog):
    torch.manual_seed(0)
    reference = mobilenet_reference.MobileNetV2(num_classes=10).eval()
    with torch.no_grad():
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    ours = prog.module("MobileNetV2", E=10).eval()
    copy_in_order(reference, ours)
    x = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=1e-4)


def test_flops_match_the_flop_counter(prog):
    ours = prog.module("MobileNetV2").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        ours(torch.randn(1, 3, 64, 64))
    assert counter.get_total_flops() == prog.stats("MobileNetV2", Y=64, X=64)["flops"]


def test_relu6_is_torchs_fused_function(prog):
    source = prog.source("MobileNetV2")
    assert "F.relu6(" in source and "relu(" not in source.replace("relu6(", "")
