"""Symmetry as part of a block's type (DESIGN §1.6, §6).

Public entry points (the CLI, `archc verify` and the docs call only these):

- `check_contracts(table, block) -> list[Verdict]`: one verdict per declared contract
  (`equivariant perm(T)`, `invariant shift(Y, X) by 4`, ...).
- `infer_symmetries(table, block) -> list[Verdict]`: the symmetries the analysis proves (or
  proves approximately) for a block whether or not it declares any, each at its largest
  subgroup ("invariant shift(Y, X) by 32").
- `validate_contracts(block)`: the declared contracts checked against the signature (S102-S109);
  `compile_file` runs it for every block.

`perm(N ~ M)` is one permutation of several axes (symmetry/joint.py); `dihedral(Y, X)` is D4,
judged through its generators rot90 and flip (symmetry/dihedral.py).

A `Verdict` has `block`, `contract` (text), `verdict` in proven / approximate / refuted /
unproven, `subgroup` (text or None), `span` (the first op that breaks or restricts the claim;
`site` is the call in this block that leads to it when the op sits in a callee), `reason`
and `requires` (size conditions of the proof, such as `Y % 4 == 0`). `Verdict.record()` is its
JSON form.

Soundness: "proven" is claimed only when every op on every path from the inputs to the outputs
has a rule saying it commutes with the tracked action (analysis in eval mode: dropout is the
identity, batch norm uses running statistics). An op without a rule makes the claim "unproven";
"refuted" here means a rule says it is false for generic weights (a learned kernel, a positional
embedding); the commands report it as refuted only with a numeric witness
(`archdsl.verify.witnessed`), unproven otherwise. Through a call, a motion the callee's input
chooses (`aps`) is per-position in the caller when the call broadcasts (`Analysis._per_position`).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import ArchError, SymmetryError
from ..ir import BlockIR
from .actions import Action, Contract, contracts_of
from .verdicts import VERDICTS, Verdict, judge, rescaled

if TYPE_CHECKING:
    from ..ir import BlockTable

__all__ = ["VERDICTS", "Action", "Contract", "Verdict", "check_contracts", "infer_symmetries",
           "validate_contracts"]


def validate_contracts(block: BlockIR) -> list[Contract]:
    return contracts_of(block)


def check_contracts(table: BlockTable, block: BlockIR) -> list[Verdict]:
    return [judge(table, block, c) for c in contracts_of(block)]


def infer_symmetries(table: BlockTable, block: BlockIR) -> list[Verdict]:
    """Try each input axis under perm; where order matters, shift (jointly over the axes where it
    holds), flip, and rot90 of neighbouring axes."""
    axes = list(dict.fromkeys(a.name for _, t in block.inputs for a in t.axes))
    found: list[Verdict] = []
    shifted: list[str] = []
    ordered: list[str] = []  # axes whose order matters (no permutation symmetry)
    for a in axes:
        v = _best(table, block, Action("perm", (a,)))
        if not v:
            ordered.append(a)
            v = _best(table, block, Action("shift", (a,)))
            shifted += [a] if v else []
        found += v
    if len(shifted) > 1:
        joint = _best(table, block, Action("shift", tuple(shifted)))
        if joint:
            found = [v for v in found if v.claim.action.axes[0] not in shifted] + joint
    for a in ordered:
        found += _best(table, block, Action("flip", (a,)))
    for t in (t for _, t in block.inputs):
        names = [a for a in t.names if a in ordered]
        for pair in zip(names, names[1:]):
            found += _best(table, block, Action("rot90", pair))
    found += _infer_joint(table, block, ordered)  # an adjacency [N, M]: perm(N ~ M)
    found = _infer_dihedral(table, block, found)  # rot90 and both flips: D4
    return list({v.contract: v for v in found}.values())


def _best(table: BlockTable, block: BlockIR, action: Action) -> list[Verdict]:
    """The inferred claims for one action: invariant if the axis disappears, else equivariant,
    at the largest subgroup that holds exactly and, when larger, the one that holds
    approximately; empty when nothing holds."""
    gone = all(a not in names for a in action.axes for names in block.output_names)
    kept = all(a in names for a in action.axes for names in block.output_names)
    if not (gone or kept):
        return []
    kind = "invariant" if gone else "equivariant"
    v = judge(table, block, Contract(kind, action), declared=False)
    out = []
    if v.subgroup and v.subgroup != v.contract and v.subgroup_verdict:
        out.append(replace(v, contract=v.subgroup, verdict=v.subgroup_verdict, claim=v.subgroup_claim,
                           reason=f"the largest subgroup that holds ({v.reason})"))
    if v.verdict in ("proven", "approximate") and not (out and out[0].verdict == v.verdict):
        out.append(v)
    if not out and kind == "equivariant" and action.group == "shift":  # a stride or an upsampling
        out = [r for r in [rescaled(table, block, Contract(kind, action))] if r is not None]
    return out


def _infer_joint(table: BlockTable, block: BlockIR, ordered: list[str]) -> list[Verdict]:
    """Joint permutations of two axes that each keep their order alone but appear together in
    one input (an adjacency `[N, M]`) with the same default size (not channels and pixels): the
    inferred verdicts that hold, at most one per pair."""
    from ..passes.feasibility import default_env
    from .joint import equalities
    found = []
    env = default_env(block)
    sizes = {a.name: _evaluate(a.size, env) for _, t in block.inputs for a in t.axes}
    pairs = {p for _, t in block.inputs for p in itertools.combinations([a for a in t.names if a in ordered], 2)
             if sizes[p[0]] is not None and sizes[p[0]] == sizes[p[1]]}
    for pair in sorted(pairs):
        present = [any(a in names for a in pair) for names in block.output_names]
        if any(present) and not all(present):
            continue
        try:
            equal = equalities((pair,), block, None)
        except SymmetryError:  # sizes that can never be equal
            continue
        action = Action("perm", pair, joint=(pair,), equal=equal)
        v = judge(table, block, Contract("equivariant" if all(present) else "invariant", action), declared=False)
        if v.verdict in ("proven", "approximate"):
            found.append(v)
    return found


def _infer_dihedral(table: BlockTable, block: BlockIR, found: list[Verdict]) -> list[Verdict]:
    """Where rot90(Y, X), flip(Y) and flip(X) are all proven, the group they generate, D4, is
    proven too: one `dihedral(Y, X)` claim replaces the three."""
    proven = {(v.claim.kind, v.claim.action.group, v.claim.action.axes): v for v in found
              if v.verdict == "proven"}
    for kind, group, axes in list(proven):
        parts = [(kind, "rot90", axes), (kind, "flip", axes[:1]), (kind, "flip", axes[1:])]
        if group != "rot90" or not all(p in proven for p in parts):
            continue
        v = judge(table, block, Contract(kind, Action("dihedral", axes)), declared=False)
        if v.verdict == "proven":
            drop = {proven[p].contract for p in parts}
            found = [u for u in found if u.contract not in drop] + [v]
    return found


def _evaluate(size, env) -> int | None:
    try:
        return int(size.evaluate(env))
    except (KeyError, ArithmeticError, ValueError, ArchError):  # a size without a default
        return None
