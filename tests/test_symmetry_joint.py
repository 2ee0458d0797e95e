"""Joint permutations `perm(N ~ M)` and the dihedral group `dihedral(Y, X)`, statically (no
torch): parsing and printing, validation (S104, S105, S108, S109), the size condition, and one
verdict per rule row (tests/test_symmetry_joint_verify.py measures the same rows numerically)."""

import pytest

import archdsl
from archdsl import ArchError
from archdsl.symmetry import check_contracts, infer_symmetries

GRAPH = "block B[D = 2, N = 5](x: [N, D], adj: [N, M = 5]) -> {out} {contract} {{\n    {body}\n}}\n"
PLANE = "block B[D = 2](x: [Y = 6, X = 6, D]) -> {out} {contract} {{\n    {body}\n}}\n"
AGG = "dot[M](adj, rename[N -> M](x))"  # the message sum of a graph layer, A X

# (template, body, output type, contract, static verdict): one row per rule the new actions use
JOINT_RULES = [
    (GRAPH, f"return {AGG}", "[N, D]", "equivariant perm(N ~ M)", "proven"),  # contraction cancels
    (GRAPH, f"return {AGG}", "[N, D]", "equivariant perm(N)", "refuted"),  # M must move with N
    (GRAPH, "return x * sum[M](relu(adj))", "[N, D]", "equivariant perm(N ~ M)", "proven"),  # reduce
    (GRAPH, "return dot[M](softmax[M](adj), rename[N -> M](x))", "[N, D]", "equivariant perm(N ~ M)",
     "proven"),  # softmax over the neighbours
    (GRAPH, "return dot[N](rename[N -> M, M -> N](adj), x)", "[M, D]", "equivariant perm(N ~ M)",
     "proven"),  # the transpose: both names carry the same permutation
    (GRAPH, "return dot[D](x, rename[N -> M](x)) * adj", "[N, M]", "equivariant perm(N ~ M)", "proven"),
    (GRAPH, f"return sum[N](Linear[D -> D]({AGG}))", "[D]", "invariant perm(N ~ M)", "proven"),
    (GRAPH, "return dot[M](adj, rename[N -> M](x + Param[N, D](std = 1.0)))", "[N, D]",
     "equivariant perm(N ~ M)", "refuted"),  # a learned per-node embedding
    (GRAPH, "return dot[M](adj, rename[N -> M](cumsum[N](x)))", "[N, D]", "equivariant perm(N ~ M)",
     "refuted"),  # order along N matters
    (PLANE, "return relu(x)", "[Y, X, D]", "equivariant dihedral(Y, X)", "proven"),
    (PLANE, "return mean[Y X](x)", "[D]", "invariant dihedral(Y, X)", "proven"),
    (PLANE, "return maxpool[Y X](x, kernel = 3, stride = 1, padding = 1)", "[Y, X, D]",
     "equivariant dihedral(Y, X)", "proven"),  # a square, centred window
    (PLANE, "return Conv[D -> D over Y X](x, kernel = 1)", "[Y, X, D]", "equivariant dihedral(Y, X)",
     "proven"),  # pointwise over the plane
    (PLANE, "return Conv[D -> D over Y X](x, kernel = 3, padding = 1)", "[Y, X, D]",
     "equivariant dihedral(Y, X)", "refuted"),  # a learned kernel
    (PLANE, "return softmax[Y](x)", "[Y, X, D]", "equivariant dihedral(Y, X)", "refuted"),
    (PLANE, "return mean[G](unorbit[G over Y X](Conv[D -> D over Y X](orbit[G over Y X](x, group = "
     "dihedral), kernel = 3, padding = 1), group = dihedral))", "[Y, X, D]", "equivariant dihedral(Y, X)",
     "proven"),  # frame averaging over D4
    (PLANE, "return mean[G Y X](Conv[D -> D over Y X](orbit[G over Y X](x, group = dihedral), kernel = 3, "
     "padding = 1))", "[D]", "invariant dihedral(Y, X)", "proven"),
    (PLANE, "return mean[G](unorbit[G over Y X](Conv[D -> D over Y X](orbit[G over Y X](x, group = "
     "rot90), kernel = 3, padding = 1), group = rot90))", "[Y, X, D]", "equivariant dihedral(Y, X)",
     "unproven"),  # C4 averaging: the reflections are not averaged out
    (PLANE, "return x + flip[Y](x)", "[Y, X, D]", "equivariant dihedral(Y, X)", "refuted"),
]


def rule_source(template, body, out, contract):
    return template.format(body=body, out=out, contract=contract)


@pytest.mark.parametrize("template, body, out, contract, verdict", JOINT_RULES,
                         ids=[f"{r[3]}:{r[1][7:40]}" for r in JOINT_RULES])
def test_rule_rows(template, body, out, contract, verdict):
    prog = archdsl.compile_source(rule_source(template, body, out, contract))
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert v.verdict == verdict, v.reason


def test_joint_contract_text_and_condition():
    src = "block B(x: [N, D], adj: [N, M]) -> [N, D] equivariant perm(M ~ N) {\n    return x * sum[M](adj)\n}\n"
    prog = archdsl.compile_source(src)
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert (v.contract, v.verdict, v.requires) == ("equivariant perm(M ~ N)", "proven", ("M == N",))
    src = f"block B(x: [N, D], adj: [N, M]) -> [N, D] equivariant perm(N ~ M, D) {{\n    return {AGG}\n}}\n"
    prog = archdsl.compile_source(src)  # the block already requires M == N; D: another generator
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert (v.contract, v.verdict, v.requires) == ("equivariant perm(N ~ M, D)", "proven", ())


def test_joint_permutation_is_inferred_for_an_adjacency():
    prog = archdsl.compile_source(rule_source(GRAPH, f"return {AGG}", "[N, D]", ""))
    found = {v.contract: v.verdict for v in infer_symmetries(prog.table, prog.block("B"))}
    assert found == {"equivariant perm(D)": "proven", "equivariant perm(N ~ M)": "proven"}


def test_dihedral_names_the_generator_that_fails_and_the_subgroup():
    body = "return mean[Y X](max[R](P4Conv[D -> D R over Y X](x, kernel = 3, padding = 1)))"
    prog = archdsl.compile_source(rule_source(PLANE, body, "[D]", "invariant dihedral(Y, X)"))
    (v,) = check_contracts(prog.table, prog.block("B"))
    assert v.verdict == "refuted" and v.reason.startswith("under flip(Y)")
    assert (v.subgroup, v.subgroup_verdict) == ("invariant rot90(Y, X)", "proven")


BAD = [
    ("[N, D]", "equivariant shift(N ~ M)", "S108"),  # `~` is for permutations
    ("[N, D]", "invariant perm(N ~ M)", "S104"),  # the output keeps N
    ("[D]", "equivariant perm(N ~ M)", "S105"),  # the output has neither
    ("[N, D]", "equivariant dihedral(N)", "S106"),
    ("[N, D]", "equivariant dihedral(N, M) by 2", "S107"),
]


@pytest.mark.parametrize("out, contract, code", BAD)
def test_contract_validation(out, contract, code):
    body = "return x * sum[M](adj)" if out == "[N, D]" else "return sum[N](x)"
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(rule_source(GRAPH, body, out, contract), "c.arch")
    assert err.value.code == code and err.value.span.line == 1


def test_sizes_that_can_never_be_equal_are_refused():
    src = ("block B[D = 2](x: [N, D], adj: [N, M]) -> [N, D] equivariant perm(N ~ M) {\n"
           "    return dot[M](adj, rename[N -> M](pad[N](x, width = 1)))\n}\n")  # M == N + 2
    with pytest.raises(ArchError) as err:
        archdsl.compile_source(src, "c.arch")
    assert err.value.code == "S109" and "can never be equal" in err.value.message


def test_dihedral_is_inferred_in_place_of_its_generators():
    body = "return mean[Y X](maxpool[Y X](x, kernel = 3, stride = 1, padding = 1))"
    prog = archdsl.compile_source(rule_source(PLANE, body, "[D]", ""))
    found = {v.contract: (v.verdict, v.requires) for v in infer_symmetries(prog.table, prog.block("B"))}
    assert found["invariant dihedral(Y, X)"] == ("proven", ("X == Y",))
    assert not {"invariant rot90(Y, X)", "invariant flip(Y)", "invariant flip(X)"} & set(found)


def test_fmt_spaces_the_joint_axes():
    from archdsl.fmt import format_source
    src = "block B(x: [N, D], adj: [N, M]) -> [N, D]  equivariant perm(N~M) {\n    return x\n}\n"
    assert "equivariant perm(N ~ M) {" in format_source(src)
