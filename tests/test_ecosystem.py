"""Generated modules work with PyTorch's tools: torch.fx, TorchScript, torch.export, autocast,
channels_last and half precision, on small ResNet-18 and ViT configurations, each compared with
the eager module (the definition) on the same weights."""

import copy

import pytest
import torch

from archdsl import compile_file

CONFIGS = {"ResNet18": ("resnet.arch", dict(E=10)),
           "ViT": ("vit.arch", dict(Y=32, X=32, P=8, D=32, L=2, H=2, F=64, E=10))}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def model(request, root):
    file, sizes = CONFIGS[request.param]
    torch.manual_seed(0)
    m = compile_file(root / "examples" / file).module(request.param, **sizes).eval()
    for p in m.parameters():  # not the default init: a swapped weight would show
        p.data.normal_(0, 0.2)
    return m


@pytest.fixture(scope="module")
def image():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_fx_symbolic_trace(model, image):
    traced = torch.fx.symbolic_trace(model)
    torch.testing.assert_close(traced(image), model(image), rtol=0, atol=0)
    assert any(n.op == "call_module" for n in traced.graph.nodes)


def test_torchscript(model, image):
    scripted = torch.jit.script(model)
    torch.testing.assert_close(scripted(image), model(image), rtol=1e-6, atol=1e-6)


def test_eager_still_checks_inputs(model):
    with pytest.raises(ValueError, match="must end in"):
        model(torch.randn(1, 4, 32, 32))


def test_torch_export(model, image):
    exported = torch.export.export(model, (image,))
    torch.testing.assert_close(exported.module()(image), model(image), rtol=1e-6, atol=1e-6)


def test_channels_last_and_half_precision(model, image):
    expected = model(image)
    cl = model(image.to(memory_format=torch.channels_last))
    torch.testing.assert_close(cl, expected, rtol=1e-5, atol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto = model(image)
    assert auto.dtype == torch.bfloat16
    torch.testing.assert_close(auto.float(), expected, rtol=0.1, atol=0.1)
    half = copy.deepcopy(model).to(torch.bfloat16)(image.bfloat16())
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), expected, rtol=0.1, atol=0.1)


def test_pickles_after_its_module_is_dropped(model, image):
    """A fuzz campaign drops generated modules from sys.modules to free memory; an instance made
    before still pickles (the source travels on its class) and loads as the same function."""
    import pickle
    import sys

    name = type(model).__module__
    saved = sys.modules.pop(name)
    try:
        clone = pickle.loads(pickle.dumps(model))
    finally:
        sys.modules.setdefault(name, saved)
    torch.testing.assert_close(clone(image), model(image))
