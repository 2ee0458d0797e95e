"""The constructs the seed architectures needed, checked without torch: floor-division algebra,
inferred divisibility preconditions, sized Params, `select`, axis-and-size bindings."""

import json

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

import archdsl
from archdsl import ArchError
from archdsl.cli import main as archc
from archdsl.sizes import Size

Y, X, P = (Size.of(n) for n in "YXP")

# (file, block, parameter count): the published counts (torchvision where it has the model)
PUBLISHED = [
    ("vit.arch", "ViT", 86_567_656),  # vit_b_16
    ("convnext.arch", "ConvNeXtT", 28_589_128),  # convnext_tiny
    ("mixer.arch", "MixerB16", 59_880_472),  # Mixer-B/16, Tolstikhin et al. Table 1 config
    ("efficientnet.arch", "EfficientNetB0", 5_288_548),  # efficientnet_b0
]


@pytest.mark.parametrize("file, block, params", PUBLISHED, ids=[p[1] for p in PUBLISHED])
def test_archc_stats_reports_published_parameter_count(file, block, params, capsys):
    assert archc(["stats", str(ROOT / "examples" / file), "--block", block, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == params


def test_floor_division_by_a_symbol_pulls_out_whole_terms():
    assert (Y - P).floordiv(P) + 1 == Y.floordiv(P)  # a stride-P, kernel-P convolution
    assert (Y + 2 * P).floordiv(P) == Y.floordiv(P) + 2
    assert str(Y.floordiv(P)) == "Y // P"
    assert (Y - P).floordiv(P).evaluate({"Y": 230, "P": 16}) == 13


def test_exact_lists_the_divisions_that_must_be_exact():
    value, divisions = (2 * Y.floordiv(16)).exact()
    assert value == Y / 8
    assert divisions == [(Y, Size.of(16))]


def _pool_twice_and_back(levels: int) -> str:
    down = "\n".join(f"    s{i + 1} = maxpool[Y X](s{i}, kernel = 2)" for i in range(levels))
    up = "\n".join(f"    h = concat[C](s{i}, upsample[Y X](h, scale = 2))" for i in reversed(range(levels)))
    return (f"block U(s0: [C, Y, X]) -> [C, Y, X] {{\n{down}\n    h = s{levels}\n{up}\n"
            "    return h\n}")


@pytest.mark.parametrize("levels, modulus", [(1, 2), (2, 4), (4, 16)])
def test_skip_connections_infer_the_strongest_divisibility(levels, modulus):
    prog = archdsl.compile_source(_pool_twice_and_back(levels))
    assert sorted(str(p) for p in prog.block("U").preconditions) == [
        f"X % {modulus} == 0", f"Y % {modulus} == 0"]


def test_unet_precondition_is_inferred_not_written():
    code = [line.split("#")[0] for line in (ROOT / "examples/unet.arch").read_text().splitlines()]
    assert not any("%" in line for line in code)
    prog = archdsl.compile_file(ROOT / "examples/unet.arch")
    assert sorted(str(p) for p in prog.block("UNet").preconditions) == ["X % 16 == 0", "Y % 16 == 0"]
    assert prog.stats("UNet", Y=224, X=160)["outputs"] == [[2, 224, 160]]
    with pytest.raises(ArchError, match=r"Y % 16 == 0.*Y = 200"):
        prog.stats("UNet", Y=200)


def test_param_takes_sizes_by_keyword():
    prog = archdsl.compile_source("block B[D = 8](x: [T, D]) -> [T, D] {\n"
                                  "    return concat[T](Param[T, D](T = 1), x)\n}")
    assert prog.stats("B", T=5)["outputs"] == [[6, 8]]
    assert prog.stats("B")["params"] == 8


def test_param_size_read_from_input_is_refused():
    with pytest.raises(ArchError, match="must be known when the module is built") as err:
        archdsl.compile_source("block B[D = 8](x: [T, D]) -> [T, D] {\n    return x + Param[T, D]()\n}")
    assert err.value.code == "E311"


@pytest.mark.parametrize("call, message", [
    ("select[T](Param[T, D](T = 3), index = 3)", "out of range"),
    ("select[T, D](x, index = 0)", "one axis"),
    ("select[T](x, index = 0.5)", "whole-number"),
])
def test_select_checks_its_index(call, message):
    with pytest.raises(ArchError, match=message):
        archdsl.compile_source(f"block B[T = 4, D = 2](x: [T, D]) -> [D] {{\n    return {call}\n}}")


def test_binding_an_axis_that_is_also_a_size():
    src = ("from std.nn import MLP\n"
           "block B[T = 6, D = 4](x: [T, D]) -> [T, D] {\n    return MLP[D = T, F = 3](x)\n}\n"
           "block C[D = 4, E = 4](x: [D]) -> [D] {\n    return MLP[D = E](x)\n}")
    prog = archdsl.compile_source(src)
    assert prog.stats("B")["params"] == 6 * 3 + 3 + 3 * 6 + 6  # the MLP acts along T, per D
    assert prog.stats("C")["params"] == 4 * 16 + 16 + 16 * 4 + 4  # no axis E: E is D's size


def test_inferred_unet_precondition_is_exactly_when_the_skips_align():
    prog = archdsl.compile_file(ROOT / "examples/unet.arch")
    unet = prog.block("UNet")
    concats = [n for n in unet.body.order() if n.kind == "op" and n.op == "concat"]
    assert len(concats) == 4
    sizes = prog.stats("UNet", Y=32, X=32)["sizes"]
    for y in range(1, 97):
        env = {**sizes, "Y": y}
        aligned = all(unet.body.type_of(a).size("Y").evaluate(env) == unet.body.type_of(b).size("Y").evaluate(env)
                      for n in concats for a, b in [unet.body.args(n.id)])
        assert all(p.holds(env) for p in unet.preconditions) == aligned, y


def test_param_options_that_do_not_apply_are_refused():
    with pytest.raises(ArchError, match="`value` only applies to `init = constant`"):
        archdsl.compile_source("block B[D = 4](x: [D]) -> [D] {\n    return x * Param[D](init = ones, value = 2)\n}")


def test_repeat_count_must_not_be_negative():
    prog = archdsl.compile_source("block B[n = 2, D = 4](x: [D]) -> [D] {\n"
                                  "    repeat n - 1 { x = Linear[D -> D](x) }\n    return x\n}")
    assert [str(p) for p in prog.block("B").preconditions] == ["(n - 1) >= 0"]
    assert prog.stats("B", n=1)["params"] == 0
    with pytest.raises(ArchError, match=r"requires \(n - 1\) >= 0"):
        prog.stats("B", n=0)


def test_unequal_sizes_are_stated_without_shared_terms():
    prog = archdsl.compile_file(ROOT / "examples/efficientnet.arch")
    assert "k == (2 * (k // 2) + 1)" in [str(p) for p in prog.block("MBStage").preconditions]
    assert prog.block("EfficientNetB0").preconditions == []  # k = 3 and k = 5 are odd


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.integers(-5, 5), min_size=4, max_size=4), st.integers(1, 6), st.booleans(),
       st.integers(1, 40), st.integers(1, 9))
def test_floor_division_agrees_with_integers(coeffs, d, symbolic, y, p):
    a, b, c, k = coeffs  # a Y + b P + c Y P + k, divided by d (times P when symbolic)
    num = a * Y + b * P + c * Y * P + k
    den = d * P if symbolic else Size.of(d)
    env = {"Y": y, "P": p}
    assert num.floordiv(den).evaluate(env) == int(num.evaluate(env)) // int(den.evaluate(env))
    nested = num.floordiv(den).floordiv(3)
    assert nested.evaluate(env) == int(num.evaluate(env)) // int(den.evaluate(env)) // 3


@pytest.mark.parametrize("binding, code", [("D = Q", "E315"), ("D = T", "E311")])
def test_axis_binding_errors_name_the_call(binding, code):
    src = f"from std.nn import MLP\nblock B[D = 4](x: [T, D]) -> [T, D] {{\n    return MLP[{binding}](x)\n}}"
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(src, "spec.arch")
    assert err.value.code == code and (err.value.span.line, err.value.span.column) == (3, 12)


def test_strategies_reach_blocks_that_need_large_inputs_and_break_derived_preconditions():
    from archdsl.testing import block_sizes, broken_sizes

    convnext = archdsl.compile_file(ROOT / "examples/convnext.arch")
    espcn = archdsl.compile_file(ROOT / "examples/espcn.arch")
    (pre,) = espcn.block("ESPCN").preconditions  # K % (r ** 2) == 0, K derived as C * r * r

    @settings(max_examples=5, deadline=None, derandomize=True)
    @given(block_sizes(convnext, "ConvNeXtT"), broken_sizes(espcn, "ESPCN", pre))
    def check(sizes, broken):
        assert 32 <= sizes["Y"] <= 64 and 32 <= sizes["X"] <= 64  # a 4x stem, three 2x downsamplings
        assert broken["K"] % broken["r"] ** 2 != 0

    check()


def test_select_breaks_symmetry_along_its_axis_only(tmp_path, capsys):
    path = tmp_path / "select.arch"
    path.write_text("block A[D = 4](x: [T, D]) -> [D]  invariant perm(T) {\n    return select[T](x, index = 0)\n}\n"
                    "block B[D = 4](x: [T, D]) -> [T]  equivariant perm(T) {\n    return select[D](x, index = 0)\n}\n")
    assert archc(["check", "--symmetry", "--format", "json", str(path)]) == 1
    verdicts = {c["block"]: c for c in json.loads(capsys.readouterr().out)["contracts"]}
    assert verdicts["A"]["verdict"] == "refuted" and "`select` keeps the fixed position 0 of T" in verdicts["A"]["reason"]
    assert verdicts["B"]["verdict"] == "proven"


def test_repeat_counts_keep_the_strongest_bound():
    prog = archdsl.compile_source("block B[n = 2, D = 4](x: [D]) -> [D] {\n"
                                  "    repeat n { x = Linear[D -> D](x) }\n"
                                  "    repeat n - 2 { x = Linear[D -> D](x) }\n"
                                  "    repeat n - 1 { x = Linear[D -> D](x) }\n    return x\n}")
    assert [str(p) for p in prog.block("B").preconditions] == ["(n - 2) >= 0"]
