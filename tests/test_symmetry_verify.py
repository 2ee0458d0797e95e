"""Symmetry claims against numbers: `archc verify` on every seed example, and a soundness fuzz
that composes random blocks from the op registry and checks every claim the analysis proves."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_symmetry import RULE_CASES, rule_block  # noqa: E402

import archdsl  # noqa: E402
from archdsl.symmetry import Action, Contract  # noqa: E402
from archdsl.symmetry.verdicts import judge  # noqa: E402
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


# -- soundness fuzz -------------------------------------------------------------------------------
# A random chain of ops over h: [T, Y, X, D]; `lvl` counts the stride-2 stages (Y = X = 8 / 2**lvl).
STEPS = [
    "relu({h})", "tanh({h})", "-{h}", "{h} * 0.5", "dropout({h}, p = 0.2)", "Linear[D -> D]({h})",
    "Linear[T -> T]({h})", "LayerNorm[D]({h})", "BatchNorm[D]({h})", "softmax[T]({h})", "softmax[Y]({h})",
    "{h} + Param[T, D]()", "{h} + Param[D]()", "{h} + {v}", "{h} * {v}",
    "Conv[D -> D over Y X]({h}, kernel = 3, padding = 1, mode = circular)",
    "Conv[D -> D over Y X]({h}, kernel = 3, padding = 1)",
    "Conv[D -> D over Y]({h}, kernel = 1)",
    "roll[Y]({h}, shift = 1)", "roll[Y]({h}, shift = 2)", "flip[Y]({h})", "flip[X]({h})", "rot90[Y X]({h})",
    "maxpool[Y X]({h}, kernel = 3, stride = 1, padding = 1)",
    "blurpool[Y X]({h}, stride = 1, mode = circular)",
    "merge[A B -> Y](relu(split[Y -> A B]({h}, B = 2)))",
    "Inner({h})", "Inner[T = Y]({h})", "Inner[T = (Y X)]({h})", "Inner[T = X, D = D]({h})",
    "ATTN", "DOWN", "UP", "REPEAT",
]
# A called block: attention along its T with a residual, broadcast over the caller's other axes.
INNER = """block Inner[D](x: [T, D]) -> [T, D] {
    k = rename[T -> S](x)
    return x + dot[S](softmax[S](dot[D](x, k)), k)
}
"""
DOWN = ["Conv[D -> D over Y X]({h}, kernel = 2, stride = 2)",
        "Conv[D -> D over Y X]({h}, kernel = 3, stride = 2, padding = 1, mode = circular)",
        "blurpool[Y X]({h}, stride = 2, mode = circular)", "maxpool[Y X]({h}, kernel = 2)",
        "aps[T D over Y X]({h}, stride = 2)"]
UP = "upsample[Y X]({h}, scale = 2)"
ACTIONS = [("perm", ("T",)), ("perm", ("Y",)), ("perm", ("D",)), ("shift", ("Y",)), ("shift", ("Y", "X")),
           ("flip", ("Y",)), ("flip", ("X",)), ("rot90", ("Y", "X"))]
ENDS = ["{h}", "mean[T]({h})", "sum[Y X]({h})", "max[T Y X]({h})", "mean[Y]({h})"]


@st.composite
def random_block(draw):
    lines, level, names = [], {"x": 0}, ["x"]
    h = "x"
    for i in range(draw(st.integers(1, 6))):
        step = draw(st.sampled_from(STEPS))
        lvl = level[h]
        new = f"h{i}"
        if step == "ATTN":
            lines.append(f"k{i} = rename[T -> S]({h})")
            expr = f"dot[S](softmax[S](dot[D]({h}, k{i})), k{i})"
        elif step == "DOWN":
            if lvl == 2:
                continue
            expr, lvl = draw(st.sampled_from(DOWN)).format(h=h), lvl + 1
        elif step == "REPEAT":
            lines.append(f"{new} = {h}")
            lines.append(f"repeat 2 {{ {new} = Inner[T = Y](relu({new})) }}")
            level[new], h = lvl, new
            names.append(new)
            continue
        elif step == "UP":
            if lvl == 0:
                continue
            expr, lvl = UP.format(h=h), lvl - 1
        else:
            same = [n for n in names if level[n] == lvl]
            expr = step.format(h=h, v=draw(st.sampled_from(same)))
        lines.append(f"{new} = {expr}")
        level[new], h = lvl, new
        names.append(new)
    end = draw(st.sampled_from(ENDS))
    out = [a for a in ("T", "Y", "X", "D") if a not in {"{h}": (), "mean[T]({h})": ("T",),
                                                        "sum[Y X]({h})": ("Y", "X"), "max[T Y X]({h})": ("T", "Y", "X"),
                                                        "mean[Y]({h})": ("Y",)}[end]]
    body = "\n".join(f"    {line}" for line in lines)
    return (INNER + f"block Fuzz[T = 3, D = 3](x: [T, Y = 8, X = 8, D]) -> [{', '.join(out)}] {{\n{body}\n"
            f"    return {end.format(h=h)}\n}}\n"), out


def _check_proven(src: str, out: list[str]) -> int:
    """Numerically check every claim over ACTIONS that the analysis proves; returns how many."""
    try:
        prog = archdsl.compile_source(src, "fuzz.arch")
    except archdsl.ArchError:
        return 0  # an ill-typed composition (sizes that do not line up) is not a claim
    block = prog.block("Fuzz")
    claims = []
    for group, axes in ACTIONS:
        kept = [a in out for a in axes]
        if any(kept) and not all(kept):
            continue
        kind = "equivariant" if all(kept) else "invariant"
        v = judge(prog.table, block, Contract(kind, Action(group, axes)))
        if v.verdict == "proven":
            claims.append(v)
        elif v.subgroup_verdict == "proven" and v.subgroup_claim is not None:
            claims.append(replace(v, claim=v.subgroup_claim, verdict="proven"))
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
