"""Pointwise math against PyTorch's own functions (random inputs), the interpreter through the
differential comparison, the frontend's readings of `sqrt(...)` and `**`, and the bounds check."""

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402
from archdsl.symmetry import check_contracts  # noqa: E402

CORPUS = ROOT / "tests" / "fuzz_corpus" / "pointwise.arch"

UNARY = {
    "softplus(x, beta = 2.0)": lambda x: F.softplus(x, beta=2.0),
    "softplus(x * 30.0)": lambda x: F.softplus(x * 30),
    "log(abs(x))": lambda x: torch.log(x.abs()),
    "sqrt(abs(x))": lambda x: x.abs().sqrt(),
    "rsqrt(abs(x))": lambda x: x.abs().rsqrt(),
    "x ** 3": lambda x: x ** 3,
    "abs(x) ** 0.5": lambda x: x.abs() ** 0.5,
    "x ** -1": lambda x: 1 / x,
    "cos(x)": torch.cos,
    "elu(x, alpha = 0.3)": lambda x: F.elu(x, alpha=0.3),
    "relu6(x * 5.0)": lambda x: F.relu6(x * 5),
    "hardswish(x * 5.0)": lambda x: F.hardswish(x * 5),
    "hardsigmoid(x * 5.0)": lambda x: F.hardsigmoid(x * 5),
    "hardtanh(x)": F.hardtanh,
    "hardtanh(x, min_val = 0.0, max_val = 0.5)": lambda x: F.hardtanh(x, 0.0, 0.5),
    "clamp(x, min = -0.2)": lambda x: x.clamp(min=-0.2),
    "clamp(x, min = -0.2, max = 0.3)": lambda x: x.clamp(-0.2, 0.3),
}


def _module(src, block="B", **sizes):
    return archdsl.compile_source(src).module(block, **sizes).eval().double()


@pytest.mark.parametrize("expr", list(UNARY))
def test_unary_matches_torch(expr):
    m = _module(f"block B(x: [T, D]) -> [T, D] {{\n    return {expr}\n}}\n")
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    torch.testing.assert_close(m(x), UNARY[expr](x))
    with FlopCounterMode(display=False) as counter:
        m(x)
    assert counter.get_total_flops() == 0  # what `stats` counts for a pointwise op


def test_choices_broadcast_by_axis_name():
    src = ("block B(a: [T, D], b: [D, T], c: [D], m: [T, D] bool) -> [T, D] {\n"
           "    return minimum(a, b) + maximum(c, a) * where(m, b, c)\n}\n")
    a, b, c = (torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 4, 3, dtype=torch.float64),
               torch.randn(4, dtype=torch.float64))
    m = torch.rand(2, 3, 4) > 0.5
    bt = b.transpose(1, 2)
    ref = torch.minimum(a, bt) + torch.maximum(c, a) * torch.where(m, bt, c)
    torch.testing.assert_close(_module(src)(a, b, c, m), ref)


@pytest.mark.parametrize("block", ["Smooth", "Hard"])
def test_module_and_interpreter_agree(block):
    report = compare(archdsl.compile_file(CORPUS), block, {}, seed=0, batch=(2, 3))
    assert report.ok, str(report)


def test_sqrt_of_a_size_stays_a_number_and_of_a_tensor_is_an_op():
    src = "block B[D = 4](x: [T, D]) -> [T, D] {\n    return sqrt(x * x) * sqrt(D)\n}\n"
    x = torch.randn(3, 4, dtype=torch.float64)
    torch.testing.assert_close(_module(src)(x), x.abs() * 2)


@pytest.mark.parametrize("src, code", [
    ("hardtanh(x, min_val = 1.0, max_val = 0.0)", "E380"),
    ("clamp(x, min = 1, max = -1)", "E380"),
    ("x ** x", "E326"),
    ("2 ** x", "E326"),
    ("where(x, x, x)", "E304"),
])
def test_refusals(src, code):
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(f"block B(x: [T, D]) -> [T, D] {{\n    return {src}\n}}\n").check()
    assert err.value.code == code


@pytest.mark.parametrize("body, verdict", [
    ("relu6(x) + minimum(x, hardswish(x)) * softplus(x) ** 2", "proven"),
    ("maximum(x, Param[Y, X, D](Y = 8, X = 8))", "refuted"),  # the learned operand does not move with x
])
def test_pointwise_symmetry(body, verdict):
    src = f"block B[D = 2](x: [Y = 8, X = 8, D]) -> [Y, X, D] equivariant shift(Y, X) {{\n    return {body}\n}}\n"
    prog = archdsl.compile_source(src)
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert v.verdict == verdict, v.reason


def test_relu6_overwrites_only_a_dead_fresh_value_and_keeps_gradients():
    src = ("block B[C = 3](x: [C, Y, X]) -> [C, Y, X] {\n    h = BatchNorm[C](x)\n"
           "    return relu6(h) + hardtanh(BatchNorm[C](x)) * h + relu6(x)\n}\n")
    prog = archdsl.compile_source(src)
    source = prog.source("B")
    assert source.count("inplace=True") == 1 and "F.hardtanh(" in source  # h is read again; x is the input
    m = prog.module("B").double().train()
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    m(x).sum().backward()
    x2 = x.detach().clone().requires_grad_()
    h = F.batch_norm(x2, None, None, m.h_norm.weight, m.h_norm.bias, training=True)
    g = F.batch_norm(x2, None, None, m.norm.weight, m.norm.bias, training=True)
    ref = F.relu6(h) + F.hardtanh(g) * h + F.relu6(x2)
    ref.sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
