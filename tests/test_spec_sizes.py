"""A map spec sizes the new axes it makes (`Linear[W -> V, V = 2 * W]`): parameter counts
against PyTorch's own modules, outputs against the interpreter, and the refusals."""

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from archdsl.errors import ArchError, ArchErrors  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402

SRC = """
block B[W = 8](x: [T, W]) -> [T, W] {
    h = Linear[W -> V, V = 2 * W](x)
    return rename[U -> W](Linear[V -> U, U = W](relu(h)))
}
block C[C = 3](img: [C, Y, X]) -> [Y, X] {
    return mean[F](Conv[C -> F over Y X, F = 4 * C](img, kernel = 3, padding = 1))
}
"""


def test_sized_new_axes_match_torch_and_the_interpreter():
    prog = archdsl.compile_source(SRC)
    want = sum(p.numel() for p in [*torch.nn.Linear(6, 12).parameters(), *torch.nn.Linear(12, 6).parameters()])
    assert prog.stats("B", W=6)["params"] == want
    assert sum(p.numel() for p in prog.module("B", W=6).parameters()) == want
    assert prog.stats("C", C=2)["params"] == sum(p.numel() for p in torch.nn.Conv2d(2, 8, 3).parameters())
    for block, sizes in (("B", {"W": 6}), ("C", {"C": 2})):
        report = compare(prog, block, sizes, seed=2)
        assert report.ok, str(report)


@pytest.mark.parametrize("spec, code", [
    ("Linear[W -> W, W = 3](x)", "E221"),
    ("Linear[W -> V, V = 3, V = 4](x)", "E221"),
    ("Linear[W -> V, V = T](x)", "E311"),
    ("Linear[W -> V, V = 5 / 2](x)", "E332"),
])
def test_refused(spec, code):
    with pytest.raises((ArchError, ArchErrors)) as info:
        archdsl.compile_source(f"block B[W = 8](x: [T, W]) -> [T, V] {{\n    return {spec}\n}}")
    errors = getattr(info.value, "errors", [info.value])
    assert [e.code for e in errors] == [code], [str(e) for e in errors]
