"""Symmetry as part of a block's type (DESIGN §1.6, §6).

Public entry points (the CLI, `archc verify` and the docs call only these):

- `check_contracts(table, block) -> list[Verdict]`: one verdict per declared contract
  (`equivariant perm(T)`, `invariant shift(Y, X) by 4`, ...).
- `infer_symmetries(table, block) -> list[Verdict]`: the symmetries the analysis proves (or
  proves approximately) for a block whether or not it declares any, each at its largest
  subgroup ("invariant shift(Y, X) by 32").
- `validate_contracts(block)`: the declared contracts checked against the signature (S102-S107);
  `compile_file` runs it for every block.

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

from dataclasses import replace
from typing import TYPE_CHECKING

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
