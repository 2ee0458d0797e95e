"""The bare Fourier ops (fft, ifft, rfft, irfft, lowmodes, fillmodes, real, imag, abs of a
complex tensor, complex Param) against torch.fft written out here with the module's own
weights; the interpreter (explicit DFT sums) on each; FLOPs against FlopCounterMode; the phase
rules of the symmetry checker, proven claims seen numerically and lost phases not proven."""

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402
from archdsl.errors import ArchError  # noqa: E402
from archdsl.interpret.differential import compare  # noqa: E402
from archdsl.symmetry import check_contracts  # noqa: E402

GLOBAL = """block B[C = 3, Y = 6, X = 5](x: [Y, X, C]) -> [Y, X, C] equivariant shift(Y, X) {
    w = Param[Y, F, C](F = X // 2 + 1, dtype = complex)
    return irfft[Y, F -> X](w * rfft[Y, X -> F](x), n = X)
}
"""

FNO = """block B[W = 3, V = 4, m = 2](x: [W, Y = 8, X = 7]) -> [V, Y, X] equivariant shift(Y, X) {
    z = lowmodes[Y -> KY](lowmodes[F -> KX](rfft[Y, X -> F](x), modes = m), modes = m, signed = true)
    z = dot[W](z, Param[W, V, KY, KX](KY = 2 * m, KX = m, dtype = complex))
    return irfft[Y, F -> X](fillmodes[KY -> Y](fillmodes[KX -> F](z, n = X // 2 + 1), n = Y, signed = true), n = X)
}
"""


def _block(body: str, out: str = "[C, T]", contract: str = "", sizes: str = "C = 3, T = 8") -> str:
    return f"block B[{sizes}](x: [C, T]) -> {out} {contract} {{\n    return {body}\n}}\n"


def _module(src: str, **sizes):
    m = archdsl.compile_source(src).module("B", **sizes).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p))
    return m


@pytest.mark.parametrize("body, out, ref", [
    ("real(ifft[T](fft[T](x) * 2.0))", "[C, T]", lambda x: 2 * x),
    ("abs(fft[C T](x))", "[C, T]", lambda x: torch.fft.fftn(x, dim=(-2, -1)).abs()),
    ("imag(fft[T](x))", "[C, T]", lambda x: torch.fft.fft(x).imag),
    ("irfft[C, F -> T](rfft[C, T -> F](x), n = T)", "[C, T]", lambda x: x),
    ("irfft[F -> T](complex(real(rfft[T -> F](x)), imag(rfft[T -> F](x)) * 0.0), n = T)", "[C, T]",
     lambda x: torch.fft.irfft(torch.fft.rfft(x).real, n=8)),
    ("real(rfft[T -> F](x)) + imag(rfft[T -> F](x))", "[C, F]",
     lambda x: torch.fft.rfft(x).real + torch.fft.rfft(x).imag),
    ("abs(lowmodes[T -> K](fft[T](x), modes = 3, signed = true))", "[C, K]",
     lambda x: torch.fft.fft(x)[..., [0, 1, 2, 5, 6, 7]].abs()),
    ("real(ifft[T](fillmodes[K -> T](lowmodes[T -> K](fft[T](x), modes = 2, signed = true), n = T, signed = true)))",
     "[C, T]", lambda x: torch.fft.ifft(torch.fft.fft(x) * torch.tensor([1., 1, 0, 0, 0, 0, 1, 1])).real),
    ("irfft[F -> T](fillmodes[K -> F](lowmodes[F -> K](rfft[T -> F](x), modes = 2), n = 5), n = T)",
     "[C, T]", lambda x: torch.fft.irfft(torch.fft.rfft(x) * torch.tensor([1., 1, 0, 0, 0]), n=8)),
])
def test_ops_match_torch_fft_and_the_interpreter(body, out, ref):
    src = _block(body, out)
    x = torch.randn(2, 3, 8, dtype=torch.float64)
    torch.testing.assert_close(_module(src)(x), ref(x))
    report = compare(archdsl.compile_source(src), "B", {}, seed=0, batch=(2, 3))
    assert report.ok, str(report)


def test_global_filter_matches_torch_fft_with_random_complex_weights():
    m = _module(GLOBAL)
    w = torch.view_as_complex(m.w)  # (Y, X // 2 + 1, C), as GFNet's complex_weight
    x = torch.randn(2, 6, 5, 3, dtype=torch.float64)
    ref = torch.fft.irfft2(torch.fft.rfft2(x, dim=(1, 2)) * w, s=(6, 5), dim=(1, 2))
    torch.testing.assert_close(m(x), ref)
    assert archdsl.compile_source(GLOBAL).stats("B")["params"] == 6 * 3 * 3 * 2
    assert compare(archdsl.compile_source(GLOBAL), "B", {}, seed=1, batch=(2,)).ok


def test_fno_layer_matches_the_corner_formulation_and_counts_flops():
    prog = archdsl.compile_source(FNO)
    m = _module(FNO)
    (w,) = (torch.view_as_complex(p) for p in m.parameters())  # (W, V, 2 m, m)
    x = torch.randn(2, 3, 8, 7, dtype=torch.float64)
    xf = torch.fft.rfft2(x)
    out = torch.zeros(2, 4, 8, 4, dtype=torch.complex128)
    out[:, :, :2, :2] = torch.einsum("bixy,ioxy->boxy", xf[:, :, :2, :2], w[:, :, :2])
    out[:, :, -2:, :2] = torch.einsum("bixy,ioxy->boxy", xf[:, :, -2:, :2], w[:, :, 2:])
    torch.testing.assert_close(m(x), torch.fft.irfft2(out, s=(8, 7)))
    assert prog.stats("B")["params"] == 3 * 4 * 4 * 2 * 2
    with FlopCounterMode(display=False) as counter:
        prog.module("B")(torch.randn(1, 3, 8, 7))
    assert counter.get_total_flops() == prog.stats("B")["flops"] == 2 * 3 * 4 * 4 * 2
    assert compare(prog, "B", {}, seed=2, batch=(2, 3)).ok


@pytest.mark.parametrize("src, shape, axes", [
    (GLOBAL, (6, 5, 3), (-3, -2)), (FNO, (3, 8, 7), (-2, -1)),
    (_block("abs(rfft[T -> F](x))", "[C, F]", "invariant shift(T)"), (3, 8), (-1,))])
def test_phase_rules_prove_shift_symmetry_and_it_holds(src, shape, axes):
    prog = archdsl.compile_source(src)
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert v.verdict == "proven", v.reason
    m, x = _module(src), torch.randn(2, *shape, dtype=torch.float64)
    shifts = tuple(2 + i for i in range(len(axes)))
    expect = m(x) if "invariant" in src else torch.roll(m(x), shifts, axes)
    torch.testing.assert_close(m(torch.roll(x, shifts, axes)), expect)


@pytest.mark.parametrize("body, out", [
    ("irfft[F -> T](rfft[T -> F](x) + Param[F](F = T // 2 + 1, dtype = complex), n = T)", "[C, T]"),  # affine
    ("irfft[F -> T](rfft[T -> F](x) * rfft[T -> F](x), n = T)", "[C, T]"),  # the phase squares
    ("real(rfft[T -> F](x))", "[C, F]"),  # real part of a rotated spectrum
    ("irfft[F -> T](rfft[T -> F](x), n = 9)", "[C, T]"),  # resampled to another length
])
def test_lost_phases_are_not_proven(body, out):
    src = _block(body, out, "equivariant shift(T)" if "T]" in out else "invariant shift(T)")
    prog = archdsl.compile_source(src)
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert v.verdict != "proven", v.reason


def test_lost_phase_is_a_real_counterexample():
    src = _block("irfft[F -> T](rfft[T -> F](x) + Param[F](F = T // 2 + 1, dtype = complex), n = T)")
    m, x = _module(src), torch.randn(2, 3, 8, dtype=torch.float64)
    assert not torch.allclose(m(torch.roll(x, 3, -1)), torch.roll(m(x), 3, -1))


def test_complex_results_and_mixed_dot_are_refused():
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(_block("rfft[T -> F](x)", "[C, F]"))
    assert "E382" in str(err.value)
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(_block("irfft[F -> T](dot[C](rfft[T -> F](x), Param[C]()), n = T)", "[T]"))
    assert "E304" in str(err.value)


def test_circular_longconv_over_two_axes_matches_a_padded_convolution():
    src = ("block B[C = 3, Y = 6, X = 5](u: [C, Y, X]) -> [C, Y, X] equivariant shift(Y, X) {\n"
           "    return longconv[Y X](u, Param[C, Y, X](), mode = circular)\n}\n")
    prog, m = archdsl.compile_source(src), _module(src)
    (k,) = m.parameters()  # (C, Y, X): y[t] = sum_j k[j] u[t - j], periodic
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64)
    ref = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (4, 0, 5, 0), mode="circular"),
                                     k.flip(-2, -1).unsqueeze(1), groups=3)
    torch.testing.assert_close(m(x), ref)
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert v.verdict == "proven", v.reason
    assert compare(prog, "B", {}, seed=3, batch=(2,)).ok
    with pytest.raises(ArchError, match="E204"):
        archdsl.compile_source(src.replace(", mode = circular", ""))


def test_fno_layer_scripts_and_traces():
    """The generated spectral code (complex weights, zero-filled modes) is plain tensor code:
    TorchScript and FX accept it and compute the same."""
    m = archdsl.compile_source(FNO).module("B").eval()
    x = torch.randn(2, 3, 8, 7)
    for other in (torch.jit.script(m), torch.fx.symbolic_trace(m)):
        torch.testing.assert_close(other(x), m(x))
