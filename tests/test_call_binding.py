"""Block calls bind by name and broadcast over every other axis of their arguments, whatever
position a batch-free argument takes and whichever arguments carry a broadcast axis
(issue 10: a learned tensor as a call's first argument crashed; arguments that broadcast over
different axes ran at batch 1 and failed at batch 2)."""

import pytest

import archdsl

torch = pytest.importorskip("torch")

SPEC = """
block Attend[D](q: [N, D], x: [T, D]) -> [N, D] {
    w = softmax[T](dot[D](q, x))
    return dot[T](w, x)
}
block Pool[D = 4, N = 3](x: [T, D]) -> [N, D] {
    q = Param[N, D]()
    return Attend[D = D](q, x)
}
block Add2(a: [T, D], b: [T, D]) -> [T, D] { return a + b }
block Mix[D = 4](x: [H, T, D], y: [T, D]) -> [H, T, D] { return Add2(x, y) }
block MixBack[D = 4](x: [H, T, D], y: [T, D]) -> [H, T, D] { return Add2(y, x) }
block Add1(a: [D], b: [D]) -> [D] { return a + b }
block Outer[D = 4](x: [H, D], y: [W, D]) -> [H, W, D] { return Add1(x, y) }
"""


@pytest.fixture(scope="module")
def program():
    return archdsl.compile_source(SPEC)


def _rand(*shape):
    return torch.randn(*shape, dtype=torch.float64)


@pytest.mark.parametrize("fuse", [True, False])
def test_learned_tensor_as_first_argument(program, fuse):
    m = program.module("Pool", fuse=fuse).double()
    with torch.no_grad():
        m.q.normal_()
    x = _rand(2, 3, 7, 4)
    w = torch.softmax(torch.einsum("nd,abtd->abnt", m.q, x), -1)
    assert torch.allclose(m(x), torch.einsum("abnt,abtd->abnd", w, x))


@pytest.mark.parametrize("block", ["Mix", "MixBack"])
@pytest.mark.parametrize("fuse", [True, False])
def test_arguments_with_different_broadcast_axes(program, block, fuse):
    m = program.module(block, fuse=fuse)
    x, y = _rand(2, 3, 5, 4), _rand(2, 5, 4)
    assert torch.allclose(m(x, y), x + y[:, None])


def test_each_argument_brings_its_own_broadcast_axis(program):
    """`x: [H, D]` and `y: [W, D]` into a block on `[D]`: the result is mapped over H and W."""
    assert str(program.block("Outer").outputs[0]) == "[*, H, W, D]"
    x, y = _rand(2, 3, 4), _rand(2, 5, 4)
    assert torch.allclose(program.module("Outer")(x, y), x[:, :, None] + y[:, None])


def test_inputs_with_different_leading_shapes_broadcast(program):
    m = program.module("Add2")
    a, b = _rand(2, 3, 5, 4), _rand(3, 5, 4)
    assert torch.allclose(m(a, b), a + b)
    assert m(_rand(5, 4), _rand(5, 4)).shape == (5, 4)


def test_a_path_no_file_can_have_still_compiles_through_the_api():
    """`compile_source` takes any name for its text; a NUL byte or a lone surrogate in it is
    escaped in the output, never a crash (hostile-input review)."""
    src = archdsl.compile_source("block B(x: [T]) -> [T] { return relu(x) }", "a\x00b\udcff.arch").source()
    compile(src, "generated", "exec")
    assert "\x00" not in src and "\udcff" not in src
