"""Symmetry contracts, statically (no torch): every seed verdict through the CLI's JSON, contract
validation diagnostics, the sound default for ops without a rule, and the rules table in the docs."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

import archdsl
from archdsl import ArchError
from archdsl.ops import REGISTRY, Op
from archdsl.ops.base import register
from archdsl.symmetry import check_contracts, infer_symmetries

SYMMETRY = sorted((ROOT / "examples/symmetry").glob("*.arch"))

# (file, block, contract, verdict, subgroup, line of the span or None)
EXPECTED = [
    ("deepsets.arch", "DeepSet", "invariant perm(N)", "proven", None, None),
    ("transformer.arch", "Encoder", "equivariant perm(T)", "proven", None, None),
    ("transformer.arch", "PositionalEncoder", "equivariant perm(T)", "refuted", None, 13),
    ("vit.arch", "ViTMean", "invariant shift(Y, X) by P", "proven", "invariant shift(Y, X) by P", 9),
    ("vit.arch", "ViTMean", "invariant shift(Y, X)", "refuted", "invariant shift(Y, X) by P", 9),
    ("cnn.arch", "CircularCNN", "invariant shift(Y, X) by 4", "proven", "invariant shift(Y, X) by 4", 8),
    ("cnn.arch", "CircularCNN", "invariant shift(Y, X)", "refuted", "invariant shift(Y, X) by 4", 8),
    ("cnn.arch", "ZeroPadCNN", "invariant shift(Y, X) by 4", "approximate", "invariant shift(Y, X) by 4", 15),
    ("cnn.arch", "BlurPoolCNN", "invariant shift(Y, X) by 4", "proven", "invariant shift(Y, X) by 4", 24),
    ("cnn.arch", "BlurPoolCNN", "invariant shift(Y, X)", "approximate", "invariant shift(Y, X) by 4", 24),
    ("cnn.arch", "APSCNN", "invariant shift(Y, X)", "proven", None, None),
    ("windows.arch", "WindowAttention", "equivariant shift(Y, X) by M", "proven", "equivariant shift(Y, X) by M", 8),
    ("windows.arch", "AxialLayer", "equivariant perm(Y)", "proven", None, None),
    ("windows.arch", "AxialLayer", "equivariant perm(X)", "proven", None, None),
    ("p4.arch", "P4CNN", "invariant rot90(Y, X)", "proven", None, None),
    ("p4.arch", "PlainCNN", "invariant rot90(Y, X)", "refuted", None, 14),
    ("p4.arch", "FrameAveraged", "invariant rot90(Y, X)", "proven", None, None),
    ("p4.arch", "FrameAveragedMap", "equivariant rot90(Y, X)", "proven", None, None),
    ("resnet50.arch", "ShiftInvariantResNet50", "invariant shift(Y, X)", "refuted",
     "invariant shift(Y, X) by 32", None),
    ("graph.arch", "GCNLayer", "equivariant perm(N ~ M)", "proven", None, None),
    ("graph.arch", "GCN", "invariant perm(N ~ M)", "proven", None, None),
    ("graph.arch", "MPNNLayer", "equivariant perm(N ~ M)", "proven", None, None),
    ("graph.arch", "GraphTransformer", "equivariant perm(N ~ M)", "proven", None, None),
    ("p4m.arch", "D4Averaged", "invariant dihedral(Y, X)", "proven", None, None),
    ("p4m.arch", "D4AveragedMap", "equivariant dihedral(Y, X)", "proven", None, None),
    ("p4m.arch", "SquarePools", "invariant dihedral(Y, X)", "proven", None, None),
    ("p4m.arch", "P4Only", "invariant dihedral(Y, X)", "refuted", "invariant rot90(Y, X)", 36),
    ("strided.arch", "Downsample", "equivariant shift(Y, X) by 2 -> shift(Y, X)", "proven",
     "equivariant shift(Y, X) by 2 -> shift(Y, X)", 9),
    ("strided.arch", "Encoder", "equivariant shift(Y, X) by 4 -> shift(Y, X)", "proven",
     "equivariant shift(Y, X) by 4 -> shift(Y, X)", None),
    ("strided.arch", "Upsampler", "equivariant shift(Y, X) -> shift(Y, X) by 2", "proven", None, None),
    ("strided.arch", "P4Lift", "equivariant rot90(Y, X) -> rot90(Y, X) roll(R)", "proven", None, None),
    ("strided.arch", "P4Layer", "equivariant rot90(Y, X) roll(R)", "proven", None, None),
]


def _archc(*args):
    return subprocess.run([sys.executable, "-m", "archdsl", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def records():
    r = _archc("check", "--symmetry", "--format", "json", *[str(p.relative_to(ROOT)) for p in SYMMETRY])
    assert r.returncode == 1, r.stderr  # the refuted seed contracts are errors
    assert "Traceback" not in r.stderr  # --format json: diagnostics are JSON lines on stderr too
    assert "S101" in [json.loads(line)["code"] for line in r.stderr.splitlines()]
    return json.loads(r.stdout)


@pytest.mark.parametrize("file, block, contract, verdict, subgroup, line", EXPECTED,
                         ids=[f"{e[1]}:{e[2]}" for e in EXPECTED])
def test_seed_verdicts(records, file, block, contract, verdict, subgroup, line):
    (rec,) = [r for r in records["contracts"] if r["block"] == block and r["contract"] == contract]
    assert rec["verdict"] == verdict, rec["reason"]
    assert rec["subgroup"] == subgroup
    if line is not None:
        assert rec["span"]["file"].endswith(file) and rec["span"]["line"] == line


def test_every_symmetry_contract_is_listed(records):
    assert len(records["contracts"]) == len(EXPECTED)


def test_refutations_name_the_operation(records):
    by = {(r["block"], r["contract"]): r for r in records["contracts"]}
    assert "Param[T, D]" in by[("PositionalEncoder", "equivariant perm(T)")]["reason"]
    resnet = by[("ShiftInvariantResNet50", "invariant shift(Y, X)")]
    assert "stride-2 Conv" in resnet["reason"] and resnet["span"]["file"] == "<std>/nn.arch"
    assert resnet["site"]["file"].endswith("resnet50.arch") and resnet["subgroup_verdict"] == "approximate"
    assert by[("CircularCNN", "invariant shift(Y, X) by 4")]["requires"] == ["Y % 4 == 0", "X % 4 == 0"]


def test_inferred_symmetries_without_contracts():
    prog = archdsl.compile_file(ROOT / "examples/transformer.arch")
    found = {b: [v.contract for v in infer_symmetries(prog.table, prog.block(b))] for b in prog.block_names()}
    assert found["EncoderLayer"] == ["equivariant perm(T)"]
    assert found["Encoder"] == ["equivariant perm(T)"]  # through `repeat L` (a fixpoint)
    assert found["DecoderLayer"] == []  # causal: order matters
    assert found["GPT"] == []  # learned positional embedding
    std = archdsl.compile_file(ROOT / "stdlib/nn.arch")
    (v,) = infer_symmetries(std.table, std.block("SelfAttention"))  # a flag read at its default is said
    assert (v.contract, v.verdict, v.requires) == ("equivariant perm(T)", "proven", ("causal = false",))
    resnet = archdsl.compile_file(ROOT / "examples/resnet.arch")
    (v,) = infer_symmetries(resnet.table, resnet.block("ResNet18"))
    assert (v.contract, v.verdict) == ("invariant shift(Y, X) by 32", "approximate")


def test_text_output_shows_inferred_and_contracts():
    r = _archc("check", "--symmetry", "examples/symmetry/cnn.arch")
    assert "symmetry: invariant shift(Y, X) by 4 (proven; requires Y % 4 == 0, X % 4 == 0)" in r.stdout
    assert "warning[S201]: ZeroPadCNN" in r.stderr and "cnn.arch:8:14: error[S101]" in r.stderr
    assert r.returncode == 1
    assert _archc("check", "--symmetry", "examples/symmetry/deepsets.arch").returncode == 0


BAD_CONTRACTS = [
    ("invariant spin(N)", "S102"),
    ("invariant perm(Q)", "S103"),
    ("equivariant perm(N)", "S105"),
    ("invariant rot90(N)", "S106"),
    ("invariant perm(N) by 2", "S107"),
    ("invariant perm(N) -> perm(N)", "S120"),
    ("invariant shift(N) roll(D)", "S122"),
]


@pytest.mark.parametrize("contract, code", BAD_CONTRACTS)
def test_contract_validation(contract, code):
    src = f"block B[D = 2](x: [N, D]) -> [D] {contract} {{\n    return sum[N](x)\n}}\n"
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(src, "c.arch")
    assert err.value.code == code and err.value.span.line == 1


def test_invariant_axis_must_leave_the_output():
    src = "block B(x: [N, D]) -> [N, D] invariant perm(N) {\n    return x\n}\n"
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(src)
    assert err.value.code == "S104"


def test_attention_cancels_the_renamed_permutation():
    src = """block A[D = 4](x: [T, D]) -> [T, D] equivariant perm(T) {
    k = rename[T -> S](x)
    return dot[S](softmax[S](dot[D](x, k)), k)
}
block Mixed[D = 4](x: [T, D], y: [T, D]) -> [T, D] equivariant perm(T) {
    k = rename[T -> S](y)
    w = softmax[S](dot[D](x, k))
    return dot[S](w, rename[T -> S](x))
}
"""
    prog = archdsl.compile_source(src)
    assert check_contracts(prog.table, prog.block("A"))[0].verdict == "proven"
    # both inputs move by the same permutation (the action acts on every input with T)
    assert check_contracts(prog.table, prog.block("Mixed"))[0].verdict == "proven"


def test_op_without_a_rule_is_unproven_not_proven():
    @register
    class Shuffle(Op):  # a new op that forgot its symmetry rule
        name = "test_shuffle"
        spec = "axes"
        summary = example = "test only"

        def infer(self, node, ins, ctx):
            return ins[0]

    try:
        src = "block B[D = 2](x: [N, D]) -> [N, D] equivariant perm(N) equivariant perm(D) {\n" \
              "    return test_shuffle[N](x)\n}\n"
        prog = archdsl.compile_source(src)
        by_n, by_d = check_contracts(prog.table, prog.block("B"))
        assert by_n.verdict == "unproven" and "declares no symmetry rule" in by_n.reason
        assert by_d.verdict == "proven"  # it broadcasts over D
    finally:
        del REGISTRY["test_shuffle"]


def test_rules_table_in_docs_is_current():
    from archdsl.symmetry.table import rules_table
    doc = (ROOT / "docs/symmetry.md").read_text()
    assert rules_table() in doc, "regenerate: python -m archdsl.symmetry.table --write docs/symmetry.md"


def test_symmetry_check_does_not_import_torch():
    code = ("import archdsl, sys; from archdsl.symmetry import infer_symmetries; "
            "p = archdsl.compile_file('examples/symmetry/p4.arch'); "
            "[infer_symmetries(p.table, p.block(b)) for b in p.block_names()]; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


RULE_CASES = [  # (body, contract, verdict): single rules, each against its DESIGN §6 row
    ("return flip[Y](x)", "equivariant flip(Y)", "proven"),
    ("return roll[Y](flip[Y](x), shift = 2)", "equivariant shift(Y)", "refuted"),  # moves by -g
    ("return sum[Y](flip[Y](x))", "invariant shift(Y)", "proven"),
    ("return rot90[Y X](x)", "equivariant rot90(Y, X)", "proven"),
    ("return rot90[Y X](x)", "equivariant perm(Y)", "refuted"),  # Y's permutation now acts on X
    ("return mean[G](unorbit[G over Y](Conv[D -> D over Y](orbit[G over Y](x, group = flip), kernel = 3, "
     "padding = 1), group = flip))", "equivariant flip(Y)", "proven"),  # frame averaging
    ("return Conv[D -> D over Y X](x, kernel = 3, padding = 1, mode = circular)", "equivariant flip(Y)",
     "refuted"),
    ("return Conv[D -> D over Y X](x, kernel = 3, padding = 1, mode = circular)", "equivariant shift(Y, X)",
     "proven"),
    ("return upsample[Y X](maxpool[Y X](x, kernel = 2), scale = 2)", "equivariant shift(Y, X) by 2", "proven"),
    ("return upsample[Y X](maxpool[Y X](x, kernel = 2), scale = 2)", "equivariant shift(Y, X)", "refuted"),
    ("return x + rename[Y -> X, X -> Y](x)", "equivariant shift(Y, X)", "refuted"),
    ("return x + rename[Y -> X, X -> Y](x)", "equivariant rot90(Y, X)", "refuted"),
    ("return softmax[Y](x)", "equivariant rot90(Y, X)", "refuted"),
    ("return pad[Y](x, width = 1, mode = circular)", "equivariant perm(D)", "proven"),
    # a different action on the output (`->`): stride 2 halves a shift, upsampling doubles it
    ("return maxpool[Y X](x, kernel = 2, stride = 2)", "equivariant shift(Y, X) by 2 -> shift(Y, X)", "proven"),
    ("return maxpool[Y X](x, kernel = 2, stride = 2)", "equivariant shift(Y, X) -> shift(Y, X)", "refuted"),
    ("return maxpool[Y X](x, kernel = 2, stride = 2)", "equivariant shift(Y) by 4 -> shift(Y)", "refuted"),
    ("return upsample[Y X](x, scale = 2)", "equivariant shift(Y, X) -> shift(Y, X) by 2", "proven"),
    ("return upsample[Y X](x, scale = 2)", "equivariant shift(Y) by 2 -> shift(Y)", "refuted"),
]


def rule_block(body: str, contract: str) -> str:
    out = "[X, D]" if contract.startswith("invariant") else "[Y, X, D]"
    return f"block B[D = 2](x: [Y = 8, X = 8, D]) -> {out} {contract} {{\n    {body}\n}}\n"


@pytest.mark.parametrize("body, contract, verdict", RULE_CASES)
def test_single_rules(body, contract, verdict):
    prog = archdsl.compile_source(rule_block(body, contract))
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert v.verdict == verdict, v.reason


def test_fused_attention_keeps_the_verdict():
    from dataclasses import replace

    from archdsl.passes.fuse import fuse_block
    from archdsl.symmetry.verdicts import judge
    src = """block A[D = 4](x: [T, Y, D], y: [T, Y, D]) -> [T, Y, D] equivariant perm(T) equivariant perm(Y) {
    k = rename[T -> S](x)
    v = rename[T -> S](y)
    return dot[S](softmax[S](dot[D](x, k) / 2.0), v)
}
block P[D = 4, Y = 3](x: [T, Y, D]) -> [T, Y, D] equivariant perm(T) equivariant perm(Y) {
    k = rename[T -> S](x + Param[Y, D]())
    return dot[S](softmax[S](dot[D](x, k)), k)
}
"""
    prog = archdsl.compile_source(src)
    for name, want in (("A", ["proven", "proven"]), ("P", ["proven", "refuted"])):
        block = prog.block(name)
        fused = replace(block, body=fuse_block(block, prog.table))
        assert any(n.op == "attention" for n in fused.body.order())
        got = [judge(prog.table, fused, c.claim).verdict for c in check_contracts(prog.table, block)]
        assert got == [v.verdict for v in check_contracts(prog.table, block)] == want


def test_split_undoes_merge():
    src = """block B[D = 2, X = 4](x: [Y = 4, X, D]) -> [Y, X, D] equivariant perm(Y) equivariant flip(X) {
    n = merge[Y X -> N](x)
    k = rename[N -> S](n)
    return split[N -> Y X](dot[S](softmax[S](dot[D](n, k)), k), X = X)
}
"""
    prog = archdsl.compile_source(src)
    assert [v.verdict for v in check_contracts(prog.table, prog.block("B"))] == ["proven", "proven"]


def test_cli_usage_and_user_errors():
    r = _archc("check", "--format", "json", "examples/symmetry/deepsets.arch")
    assert r.returncode == 0 and list(json.loads(r.stdout)) == ["blocks"]
    r = _archc("verify", "examples/symmetry/deepsets.arch", "--block", "Nope")
    assert r.returncode == 1 and "error[E215]" in r.stderr and "Traceback" not in r.stderr
    assert _archc("verify", "examples/symmetry/deepsets.arch", "--trials", "0").returncode == 2
