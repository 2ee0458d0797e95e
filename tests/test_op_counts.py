"""The generated forward of a ConvNeXt, ResNet and ViT block asks PyTorch for no more copies,
allocations and allocated bytes than the timm/torchvision code it is compared with in
benchmarks/models.py (tests/reference_layouts.py): structure, counted by the profiler, not time.
Train mode too (forward and backward), where a `select` per q/k/v would pad each gradient with
zeros and an in-place op on a view would cost autograd a copy. Permute and transpose views are
not compared: they launch no kernel (the generated attention permutes q, k and v where timm
permutes once and transposes). Swin's block copies no more than timm's since its mask patterns
are built once and its windows stay together, but still allocates more (27 tensors to 20 in a
forward: the mask picked per window each call, the attention mask expanded to the batch): a
known gap, a strict xfail until it closes."""

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
import reference_layouts as lay  # noqa: E402

import archdsl  # noqa: E402
from benchmarks import op_counts  # noqa: E402

BLOCKS = {
    # name: (file, block, sizes, reference constructor, input shape)
    "convnext": ("stdlib/vision.arch", "CNBlock", {"C": 32}, lambda: lay.ConvNeXtBlock(32), (2, 32, 14, 14)),
    "resnet": ("stdlib/nn.arch", "Bottleneck", {"C": 64}, lambda: lay.Bottleneck(64, 16), (2, 64, 14, 14)),
    "vit": ("examples/vit.arch", "EncoderBlock", {"D": 64, "H": 4, "F": 256}, lambda: lay.Block(64, 4),
            (2, 17, 64)),
    "swin": ("stdlib/windows.arch", "SwinBlock", {"D": 32, "H": 2, "M": 7},
             lambda: lay.SwinTransformerBlock(32, 14, 2, 7), (2, 14, 14, 32)),
}


def _counts(model, x, train):
    model.train(train)
    if not train:
        return op_counts.summary(op_counts.aten_counts(lambda: model(x)))
    return op_counts.summary(op_counts.aten_counts(lambda: model(x).sum().backward(), grad=True))


@pytest.mark.parametrize("train", [False, True], ids=["forward", "train"])
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="known gap"))
                                  if n == "swin" else n for n in BLOCKS])
def test_no_more_copies_permutes_or_allocations_than_the_reference(name, train):
    file, block, sizes, make_ref, shape = BLOCKS[name]
    torch.manual_seed(0)
    ours = archdsl.compile_file(ROOT / file).module(block, **sizes)
    ref, x = make_ref(), torch.randn(shape)
    mine, theirs = _counts(ours, x, train), _counts(ref, x, train)
    for kind in ("copies", "allocs", "MB"):
        assert mine[kind] <= theirs[kind], (kind, mine, theirs)
