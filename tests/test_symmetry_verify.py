"""Symmetry claims against numbers: `archc verify` on every seed example, and a soundness fuzz
that composes random blocks from the op registry and checks every claim the analysis proves."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_symmetry import RULE_CASES, rule_block  # noqa: E402

import archdsl  # noqa: E402
from archdsl.symmetry.specgen import DOWN, INNER, STEPS, UP, compose, proven_claims  # noqa: E402
from archdsl.verify import PROVEN_TOL, REFUTED_TOL, assert_symmetries, verify_claims  # noqa: E402

SMALL = ["deepsets.arch", "transformer.arch", "vit.arch", "cnn.arch", "windows.arch", "p4.arch",
         "strided.arch"]


def test_archc_verify_reports_errors_and_counterexamples():
    r = subprocess.run([sys.executable, "-m", "archdsl", "verify", "examples/symmetry/cnn.arch", "--block", "CircularCNN", "--trials", "3",
                        "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    checks = {(c["block"], c["contract"]): c for c in json.loads(r.stdout)}
    assert checks[("CircularCNN", "invariant shift(Y, X) by 4")]["error"] < PROVEN_TOL
    refuted = checks[("CircularCNN", "invariant shift(Y, X)")]
    assert refuted["error"] > REFUTED_TOL and refuted["element"].startswith(("shift Y by", "shift X by"))


@pytest.mark.parametrize("file", SMALL)
def test_verify_seed_examples(file):
    prog = archdsl.compile_file(ROOT / "examples/symmetry" / file)
    for block in prog.block_names():
        checks = assert_symmetries(prog, block, trials=3)  # proven < 1e-6, refuted > 1e-3
        assert checks and not any(c.skipped for c in checks), [c.skipped for c in checks]
        assert all(c.error is not None for c in checks)


def test_blurpool_reduces_the_shift_error():
    prog = archdsl.compile_file(ROOT / "examples/symmetry/cnn.arch")
    errors = {}
    for block in ("CircularCNN", "BlurPoolCNN"):
        (full,) = [v for v in archdsl.symmetry.check_contracts(prog.table, prog.block(block))
                   if v.contract == "invariant shift(Y, X)"]
        (check,) = verify_claims(prog, block, [full], trials=6)
        errors[block] = check.error
    assert errors["BlurPoolCNN"] < errors["CircularCNN"] / 5, errors


@pytest.mark.slow
def test_resnet50_shift_counterexample():
    prog = archdsl.compile_file(ROOT / "examples/symmetry/resnet50.arch")
    checks = assert_symmetries(prog, "ShiftInvariantResNet50", trials=1, sizes=dict(Y=64, X=64, E=10))
    refuted = [c for c in checks if c.verdict.verdict == "refuted"]
    assert refuted and refuted[0].error > REFUTED_TOL


# -- soundness fuzz (the generator: archdsl/symmetry/specgen.py) -----------------------------------
@st.composite
def random_block(draw):
    """A chain of 1-6 steps over h: [T, Y, X, D], calling only `Inner`."""
    return compose(lambda xs: draw(st.sampled_from(list(xs))), draw(st.integers(1, 6)))


def _check_proven(src: str, out: list[str]) -> int:
    """Numerically check every claim over ACTIONS that the analysis proves; returns how many."""
    try:
        prog = archdsl.compile_source(src, "fuzz.arch")
    except archdsl.ArchError:
        return 0  # an ill-typed composition (sizes that do not line up) is not a claim
    claims = proven_claims(prog.table, prog.block("Fuzz"), out)
    for check in verify_claims(prog, "Fuzz", claims, trials=2):
        assert check.skipped or check.error < PROVEN_TOL, (src, check.verdict.contract, check.error,
                                                           check.element)
    return len(claims)


@pytest.mark.parametrize("step", [s for s in STEPS if s not in ("DOWN", "UP", "REPEAT")] + DOWN + [UP])
def test_every_rule_alone_is_sound(step):
    body = ("    k = rename[T -> S](x)\n    h = dot[S](softmax[S](dot[D](x, k)), k)" if step == "ATTN"
            else f"    h = {step.format(h='x', v='x')}")
    src = INNER + f"block Fuzz[T = 3, D = 3](x: [T, Y = 8, X = 8, D]) -> [T, Y, X, D] {{\n{body}\n    return h\n}}\n"
    _check_proven(src, ["T", "Y", "X", "D"])


@pytest.mark.slow
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.nested_given])
@given(random_block())
def test_soundness_fuzz(case):
    _check_proven(*case)


@pytest.mark.parametrize("body, contract, verdict", RULE_CASES)
def test_single_rules_numerically(body, contract, verdict):
    checks = assert_symmetries(archdsl.compile_source(rule_block(body, contract)), "B", trials=3)
    (c,) = [c for c in checks if c.verdict.declared]
    assert c.verdict.verdict == verdict and c.error is not None
