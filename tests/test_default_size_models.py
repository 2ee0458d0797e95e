"""Swin, MaxViT, Hopfield, KAN, DaViT and Hyena at their published default sizes: parameters and
FLOPs from `archc stats` equal the generated module's (FlopCounterMode on the unfused module),
and the fused module runs forward and backward at batch 1."""

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402

CASES = [
    pytest.param("swin.arch", "SwinT", marks=pytest.mark.slow),
    ("maxvit.arch", "MaxViTBlock"),
    ("hopfield.arch", "HopfieldPooling"),
    ("kan.arch", "KANLayer"),
    ("kan.arch", "KAN"),
    ("davit.arch", "ChannelAttention"),
    ("davit.arch", "TokenAttention"),
    pytest.param("hyena.arch", "HyenaOperator", marks=pytest.mark.slow),
    ("gfnet.arch", "GFNetBlock"),
    ("fno.arch", "FNO2d"),
]


@pytest.mark.parametrize("file, block", CASES)
def test_default_size_stats_match_module_and_it_trains(file, block):
    prog = archdsl.compile_file(ROOT / "examples" / file)
    stats = prog.stats(block)
    inputs = [torch.randn(1, *stats["inputs"][name]) for name, _ in prog.block(block).inputs]
    plain = prog.module(block, fuse=False).eval()
    assert sum(p.numel() for p in plain.parameters()) == stats["params"]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = plain(*inputs)
    assert counter.get_total_flops() == stats["flops"]
    assert list(y.shape) == [1, *stats["outputs"][0]]
    fused = prog.module(block)
    fused.load_state_dict(plain.state_dict())
    fused(*inputs).square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in fused.parameters())
