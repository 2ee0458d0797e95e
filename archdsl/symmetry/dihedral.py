"""`dihedral(Y, X)`: the group D4 (p4m) of the quarter turns and reflections of the (Y, X)
plane, checked through its generators. A map commutes with every element of a group when it
commutes with each generator of it, and rot90(Y, X) and flip(Y) generate D4 (flip(X) is
rot90² ∘ flip(Y), the diagonal reflections are turns of flip(Y)). So the verdict is the
conjunction of the two existing analyses, each exact where its rules are: proven when both are
proven; refuted when one is (a generator that fails is an element that fails); otherwise
unproven or approximate. When one generator holds, its group is the proven subgroup.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from ..errors import SymmetryError
from .actions import Action, Contract
from .joint import equalities

if TYPE_CHECKING:
    from ..ir import BlockIR, BlockTable

_WORST = ("refuted", "unproven", "approximate", "proven")  # the first present decides


def generators(contract: Contract) -> list[Contract]:
    """rot90(Y, X) and flip(Y), as contracts of the same kind."""
    y, x = contract.action.axes
    span = contract.action.span
    return [Contract(contract.kind, Action("rot90", (y, x), span=span), contract.span),
            Contract(contract.kind, Action("flip", (y,), span=span), contract.span)]


def judge_dihedral(table: BlockTable, block: BlockIR, contract: Contract, declared: bool, judge: Callable):
    """The verdict on `contract` from `judge` (verdicts.judge) on each generator."""
    parts = [judge(table, block, c, declared) for c in generators(contract)]
    worst = min(parts, key=lambda v: _WORST.index(v.verdict))
    requires = tuple(dict.fromkeys(_square(block, contract) + tuple(r for v in parts for r in v.requires)))
    conditions = tuple(dict.fromkeys(c for v in parts for c in v.conditions))
    if worst.verdict == "proven":
        reason = "its generators rot90 and flip are both proven: " + "; ".join(v.reason for v in parts)
    else:
        reason = f"under {worst.claim.action.text()}: {worst.reason}"
    holding = [v for v in parts if v.verdict in ("proven", "approximate")]
    sub = holding[0] if holding and worst.verdict != "proven" else None
    return replace(worst, contract=contract.text(), claim=contract, reason=reason, requires=requires,
                   conditions=conditions, subgroup=sub.contract if sub else None,
                   subgroup_verdict=sub.verdict if sub else None, subgroup_claim=sub.claim if sub else None)


def _square(block: BlockIR, contract: Contract) -> tuple[str, ...]:
    """`Y == X`, unless the block's preconditions already say so (or make it impossible: then
    the turns have nothing to act on, and the rot90 analysis reports it)."""
    try:
        return tuple(text for _, text in equalities((contract.action.axes,), block, contract.action.span))
    except SymmetryError:
        return ()
