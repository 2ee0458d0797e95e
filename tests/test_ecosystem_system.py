"""Generated modules leave the process: pickled modules load in a fresh interpreter, and both
ONNX exporters produce graphs that onnxruntime runs at a batch size other than the exported one
(small ResNet-18 and ViT configurations, compared with the eager module)."""

import io
import subprocess
import sys

import pytest
import torch

from archdsl import compile_file

CONFIGS = {"ResNet18": ("resnet.arch", dict(E=10)),
           "ViT": ("vit.arch", dict(Y=32, X=32, P=8, D=32, L=2, H=2, F=64, E=10))}


def _model(root, block):
    file, sizes = CONFIGS[block]
    torch.manual_seed(0)
    m = compile_file(root / "examples" / file).module(block, **sizes).eval()
    for p in m.parameters():
        p.data.normal_(0, 0.2)
    return m


def test_module_unpickles_in_a_fresh_process(root, tmp_path):
    m = _model(root, "ResNet18")
    x = torch.randn(1, 3, 32, 32)
    torch.save(m, tmp_path / "m.pt")
    torch.save((x, m(x)), tmp_path / "xy.pt")
    code = ("import torch; m = torch.load('m.pt', weights_only=False); x, y = torch.load('xy.pt');"
            "print(type(m).__name__, torch.equal(m(x), y))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert out.stdout.split() == ["ResNet18", "True"]


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("block", sorted(CONFIGS))
def test_onnx_dynamic_batch(root, tmp_path, block, dynamo):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    m = _model(root, block)
    x = torch.randn(2, 3, 32, 32)
    if dynamo:
        onnx_program = torch.onnx.export(m, (x,), dynamo=True, input_names=["img"],
                                         dynamic_shapes=({0: torch.export.Dim("batch")},))
        onnx_program.save(str(tmp_path / "m.onnx"))
        data = (tmp_path / "m.onnx").read_bytes()
    else:
        buf = io.BytesIO()
        torch.onnx.export(m, (x,), buf, dynamo=False, input_names=["img"], output_names=["out"],
                          dynamic_axes={"img": {0: "batch"}, "out": {0: "batch"}})
        data = buf.getvalue()
    session = ort.InferenceSession(data)
    x3 = torch.randn(3, 3, 32, 32)
    (y,) = session.run(None, {session.get_inputs()[0].name: x3.numpy()})
    torch.testing.assert_close(torch.from_numpy(y), m(x3).detach(), rtol=1e-5, atol=1e-5)
