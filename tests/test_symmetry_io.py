"""Numeric checks of contracts whose output moves differently (`->`, `roll(R)`) and of what
`archc verify` draws and prints: integer inputs over their valid range, error and sizes for
every measured claim."""

from __future__ import annotations

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from archdsl import cli  # noqa: E402
from archdsl.passes.stats import resolve_sizes  # noqa: E402
from archdsl.symmetry import check_contracts  # noqa: E402
from archdsl.verify import _model, witnessed  # noqa: E402
from archdsl.verify_inputs import int_highs  # noqa: E402

P4 = """block L[C = 3, F = 4](img: [C, Y = 5, X = 5]) -> [R, F, Y, X] \\
        equivariant rot90(Y, X) -> rot90(Y, X) roll(R)  equivariant rot90(Y, X) -> rot90(X, Y) roll(R) \\
        equivariant rot90(Y, X) -> rot90(Y, X) {
    return P4Conv[C -> F R over Y X](img, kernel = 3, padding = 1)
}
"""


def test_p4_lifting_is_proven_and_wrong_output_actions_have_witnesses():
    prog = archdsl.compile_source(P4, "p4.arch")
    got = {v.contract: v for v in witnessed(prog, "L", check_contracts(prog.table, prog.block("L")))}
    assert got["equivariant rot90(Y, X) -> rot90(Y, X) roll(R)"].verdict == "proven"
    for wrong in ("equivariant rot90(Y, X) -> rot90(X, Y) roll(R)", "equivariant rot90(Y, X) -> rot90(Y, X)"):
        assert got[wrong].verdict == "refuted" and "rot90 Y, X k=" in got[wrong].witness, got[wrong]


def test_integer_inputs_range_over_the_table():
    prog = archdsl.compile_source("block Tok[V = 40, D = 3](tok: [T = 6] int) -> [T, D] equivariant perm(T) {\n"
                                  "    return Embedding[V -> D](tok)\n}\n", "t.arch")
    block = prog.block("Tok")
    env = resolve_sizes(prog.table, block, {})
    model = _model(prog, "Tok", {"V": 40, "D": 3}, 0)
    assert int_highs(model, block, env) == {0: 40}  # not min(V, D, T) = 3


def test_every_measured_claim_prints_its_error_and_sizes(capsys):
    status = cli.main(["verify", str(ROOT / "examples/symmetry/strided.arch"), "--block", "P4Lift", "--trials", "2"])
    out = capsys.readouterr().out
    approximate = [line for line in out.splitlines() if "[approximate]" in line]
    assert status == 0 and approximate, out
    assert all(" error " in line and " at C=3, F=4, Y=9, X=9 " in line for line in approximate), approximate


def test_a_conditional_claim_prints_the_sizes_chosen_for_it(tmp_path, capsys):
    spec = tmp_path / "cond.arch"
    spec.write_text("block Cond[C = 3, E = 2](img: [C, Y = 7, X = 7]) -> [E] invariant shift(Y, X) by 2 {\n"
                    "    h = maxpool[Y X](img, kernel = 2, stride = 2)\n"
                    "    return Linear[C -> E](mean[Y X](h))\n}\n")
    assert cli.main(["verify", str(spec), "--trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "[proven]: error " in out and "(chosen so that Y % 2 == 0, X % 2 == 0)" in out, out


def test_inferred_rescaled_claims_hold_numerically():
    from test_symmetry_rescaled import RESCALED

    from archdsl.verify import assert_symmetries
    prog = archdsl.compile_source(RESCALED, "r.arch")
    for block in ("Down", "Up", "Down4"):
        checks = assert_symmetries(prog, block, trials=2)
        assert any("->" in c.verdict.contract and c.error is not None for c in checks), block


def test_masked_entries_compare_equal_only_where_both_are_masked():
    from archdsl.verify_inputs import relative_error
    y = torch.tensor([[0.0, float("-inf")], [1.0, float("-inf")]], dtype=torch.float64)
    assert relative_error((y.clone(),), (y,), (y,)) == 0.0  # -inf where both are -inf: equal, not nan
    moved = y.clone()
    moved[0, 1] = 0.0
    assert relative_error((moved,), (y,), (y,)) == 1.0  # masked in one output only: an error
