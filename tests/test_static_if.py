"""`if` on block parameters (`if shift > 0`, `if causal`), decided per instance: both branches
are checked, the module builds only the chosen branch's weights and writes a Python `if`, the
interpreter and parameter counts agree per binding, symmetry verdicts hold for both branches
(proven only when both are), and a branch that changes a type is refused (E226)."""

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError, ArchErrors  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402
from archdsl.symmetry import check_contracts  # noqa: E402

SRC = """
block B[C = 4, shift = 1, squash = 0](x: [T, C]) -> [T, C] {
    if shift > 0 { x = x + Linear[C -> C](x) as fc } else { x = relu(x) }
    if squash == 1 { x = tanh(x) }
    return x
}

block Top[C = 4](x: [T, C]) -> [T, C] {
    x = B[C = C, shift = 0](x)
    x = B[C = C, squash = 1](x)
    return B[C = C, shift = 2](x)
}

block Outer[C = 4, causal = false](x: [T, C]) -> [T, C] {
    if causal { x = Linear[C -> C](x) as extra }
    return B[C = C, squash = 1, shift = 0](x)
}

block Root[C = 4](x: [T, C]) -> [T, C] {
    return Outer[C = C, causal = true](Outer[C = C](x))
}

block S[C = 4, deep = 0](x: [T, C]) -> [T, C] equivariant perm(T) {
    if deep > 0 { x = x + Linear[C -> C](x) }
    return relu(x)
}

block Ordered[C = 4, deep = 0](x: [T, C]) -> [T, C] equivariant perm(T) {
    if deep > 0 { x = cumsum[T](x) }
    return relu(x)
}
"""


def test_each_instance_keeps_its_branch():
    prog = archdsl.compile_source(SRC)
    m = prog.module("Top")
    assert [len(b.fc) for b in (m.b1, m.b2, m.b3)] == [0, 1, 1]  # only the chosen branch has weights
    x = torch.randn(2, 5, 4)
    h = F.relu(x)  # shift = 0: the else branch
    h = torch.tanh(h + m.b2.fc[0](h))  # shift = 1, squash
    h = h + m.b3.fc[0](h)
    torch.testing.assert_close(m(x), h)
    assert sum(p.numel() for p in m.parameters()) == prog.stats("Top", T=5)["params"] == 40
    assert prog.stats("B", T=5, shift=0)["params"] == 0
    assert compare(prog, "Top", seed=3).ok  # fused and unfused, against the interpreter


def test_a_flag_passed_through_calls_is_decided_per_instance():
    prog = archdsl.compile_source(SRC)
    m = prog.module("Root")
    assert [len(m.outer1.extra), len(m.outer2.extra)] == [0, 1]  # only `causal = true` builds it
    x = torch.randn(2, 5, 4)
    h = torch.tanh(F.relu(x))  # Outer(causal = false): B with shift 0 (relu) and squash (tanh)
    h = torch.tanh(F.relu(m.outer2.extra[0](h)))
    torch.testing.assert_close(m(x), h)
    assert sum(p.numel() for p in m.parameters()) == prog.stats("Root", T=5)["params"] == 20
    assert compare(prog, "Outer", {"causal": True, "T": 3}, seed=5).ok


def test_generated_code_is_an_if():
    code = archdsl.compile_source(SRC).source()
    assert "self.fc = nn.ModuleList([nn.Linear(C, C)] if shift > 0 else [])" in code
    assert "if not (self.shift > 0):" in code and "if self.squash == 1:" in code
    assert "self.extra = nn.ModuleList([nn.Linear(C, C)] if causal else [])" in code


def test_fx_and_torchscript_take_the_branches():
    m = archdsl.compile_source(SRC).module("Top")
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(torch.jit.script(m)(x), m(x))
    torch.testing.assert_close(torch.fx.symbolic_trace(m)(x), m(x))


def test_report_and_diagram_read_the_branch_per_instance():
    from archdsl.passes.report import report
    prog = archdsl.compile_source(SRC)
    rows = report(prog.table, prog.block("Top"), {"T": 5}, 3, 1)["rows"]
    assert [r["params"] for r in rows if r["depth"] == 1] == [0, 20, 20]
    assert [r["layer"] for r in rows if r["path"].startswith("1.")] == [
        "if shift > 0 (not taken)", "Linear C → C", "+", "else of shift > 0 (taken)", "relu",
        "if squash == 1 (not taken)", "tanh"]
    dot = prog.diagram("B", shift=0).source
    assert "if shift &gt; 0: not taken" in dot and "else (if not shift &gt; 0): taken" in dot


def test_symmetry_needs_both_branches():
    prog = archdsl.compile_source(SRC)
    (s,) = check_contracts(prog.table, prog.block("S"))
    assert s.verdict == "proven"
    (o,) = check_contracts(prog.table, prog.block("Ordered"))
    assert o.verdict != "proven"  # the cumsum branch breaks it where `deep` is set


@pytest.mark.parametrize("body, code", [
    ("if wide > 0 { x = concat[C, C -> C](x, x) }", "E226"),
    ("if C > 2 { x = Linear[C -> D](x) }", "E226"),
    ("if T > 2 { x = relu(x) }", "E225"),
    ("if wide < true { x = relu(x) }", "E225"),
])
def test_refused(body, code):
    src = f"block B[C = 4, D = 3, wide = 0, flag = true](x: [T, C]) -> [T, C] {{\n    {body}\n    return x\n}}"
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(src)
    errors = getattr(info.value, "errors", [info.value])
    assert [e.code for e in errors] == [code], [str(e) for e in errors]
