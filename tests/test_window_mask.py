"""Swin's shifted-window mask is emitted two ways: per class of window, built once in `__init__`
and picked per window each call, or whole per call inside a `repeat` body (where the module has
no place for a buffer). Both equal the definition."""

import itertools

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from archdsl.codegen_helpers import _shifted_window_mask, _window_mask_patterns, _window_mask_select  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402


def test_patterns_picked_per_window_equal_the_whole_mask():
    """Every window size 1-3, window count 1-3 and shift 0-7 (beyond the window too) in 1-2 axes."""
    like = torch.zeros(1)
    for k in (1, 2):
        for ms, ws in itertools.product(itertools.product([1, 2, 3], repeat=k), repeat=2):
            for shift in range(8):
                want = _shifted_window_mask(list(zip(ws, ms)), shift, -100.0, like)
                got = _window_mask_select(_window_mask_patterns(list(ms), shift, -100.0), list(ws))
                assert torch.equal(got, want), (ms, ws, shift)


SPEC = """block Masks[M = 2, shift = 1](x: [Y = 4, X = 6, D = 3]) -> [Y, X, D] {
    repeat 2 {
        w = split[Y -> Wy My, X -> Wx Mx](x, My = M, Mx = M)
        m = window_mask[Wy My, Wx Mx -> T S](w, shift = shift)
        x = x + merge[Wy My -> Y, Wx Mx -> X](split[T -> My Mx](sum[S](m) * 0.01, My = M))
    }
    return x
}
"""


def test_the_mask_inside_a_repeat_body_matches_the_interpreter():
    program = archdsl.compile_source(SPEC, "masks.arch")
    for fuse in (True, False):
        source = program.source(fuse=fuse)
        assert "_shifted_window_mask(" in source and "_window_mask_patterns" not in source
    report = compare(program, "Masks")  # fused and unfused modules, random weights, vs the interpreter
    assert report.ok, report
