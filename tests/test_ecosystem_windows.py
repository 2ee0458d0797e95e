"""(System tests.) torch.fx, TorchScript and pickling on window-attention models: Swin-T (Swin-T's
depths and heads, 24 channels, 2 x 2 windows on 64 x 64 images) and a MaxViT block, each compared
with the eager module on the same weights; eager mode still checks its inputs. (ONNX export of
Swin is not supported yet: see README.)"""

import pickle

import pytest
import torch

from archdsl import compile_file

CONFIGS = {"SwinT": ("swin.arch", dict(D=24, M=2, E=10), (2, 3, 64, 64)),
           "MaxViTBlock": ("maxvit.arch", dict(D=16, Dh=8, P=2), (2, 16, 8, 8))}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def case(request, root):
    file, sizes, shape = CONFIGS[request.param]
    torch.manual_seed(0)
    m = compile_file(root / "examples" / file).module(request.param, **sizes).eval()
    for p in m.parameters():  # not the default init: a swapped weight would show
        p.data.normal_(0, 0.2)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    return m, x, m(x).detach()


def test_fx_symbolic_trace(case):
    m, x, y = case
    torch.testing.assert_close(torch.fx.symbolic_trace(m)(x), y, rtol=1e-6, atol=1e-6)


def test_torchscript(case):
    m, x, y = case
    torch.testing.assert_close(torch.jit.script(m)(x), y, rtol=1e-5, atol=1e-5)


def test_pickle_and_eager_checks(case):
    m, x, y = case
    torch.testing.assert_close(pickle.loads(pickle.dumps(m))(x), y, rtol=0, atol=0)
    with pytest.raises(ValueError, match="must end in"):
        m(x[:, :-1])  # one channel short
