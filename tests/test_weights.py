"""`load_weights` on small blocks: only size-1 axes may differ between a source tensor and its
target, and two equally good candidates are refused rather than guessed. Whole models with
torchvision's and timm's layouts: test_weights_system.py."""

import pytest
import torch

import archdsl
from archdsl.weights import WeightsError, load_weights

SPEC = "block Head[C = 4, F = 6](x: [C]) -> [F] { return Linear[C -> F](x) }"


def test_only_size_one_axes_are_dropped():
    prog = archdsl.compile_source(SPEC)
    conv = torch.nn.Conv2d(4, 6, 1)  # squeeze-excite's 1x1 convolution for a Linear layer
    ours = prog.module("Head")
    report = load_weights(ours, conv.state_dict(), example=torch.randn(4))
    assert [s for _, s, _ in report.transformed] == ["weight"] and [s for _, s in report.matched] == ["bias"]
    x = torch.randn(3, 4)
    torch.testing.assert_close(ours(x), conv(x[:, :, None, None]).flatten(1))
    # the same number of elements in another shape is not a size-1 axis: refused, not reshaped
    transposed = {"weight": torch.randn(4, 6), "bias": torch.randn(6)}
    with pytest.raises(WeightsError) as e:
        load_weights(prog.module("Head"), transposed, example=torch.randn(4))
    assert len(e.value.report.unmatched) == 1 and e.value.report.unused == ["weight"]


def test_two_equal_candidates_are_ambiguous():
    prog = archdsl.compile_source("block P[D = 3](x: [D]) -> [D] { return x * Param[D]() }")
    source = {"a": torch.ones(3), "b": torch.zeros(3)}
    with pytest.raises(WeightsError) as e:
        load_weights(prog.module("P"), source, example=torch.randn(3))
    assert e.value.report.ambiguous
