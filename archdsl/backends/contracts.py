"""Symmetry contracts as diagrams and docs show them: the declared text and a verdict.

`contract_rows` is the one place diagrams and docs pages get a verdict from; it asks the
symmetry checker (`archdsl.symmetry.check_contracts`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast
from ..ir import BlockIR

if TYPE_CHECKING:
    from ..ir import BlockTable

RULES_ONLY = "(rules only)"  # a refutation by the checker's rules, with no numeric witness sought


def contract_text(block: ast.Block, contract: ast.Contract) -> str:
    """`equivariant perm(T)`, `invariant shift(Y, X) by 2`: the contract as written."""
    text = f"{contract.kind} {_motion(block, contract.action)}"
    return text + (f" -> {_motion(block, contract.out)}" if contract.out is not None else "")


def _motion(block: ast.Block, action: ast.Action) -> str:
    text = f"{action.group}({', '.join(action.axes)})"
    if action.by is not None:
        text += f" by {_source_of(block, action.by.span)}"
    return " ".join([text, *(_motion(block, c) for c in action.companions)])


def contract_rows(table: BlockTable, block: BlockIR) -> list[tuple[str, str]]:
    """(contract text, verdict) for every contract the block declares, in source order; the
    verdict names the subgroup that holds when the contract does not ("refuted; holds: ...").
    The checker's "refuted" comes from its rules; only `archc check --symmetry` and `archc
    verify` look for a numeric witness (which needs the front end), so here it is labelled
    as the rules' verdict: "refuted (rules only)"."""
    from ..symmetry import check_contracts
    rows = []
    for c, v in zip(block.ast.contracts, check_contracts(table, block)):
        verdict = v.verdict if v.verdict != "refuted" or v.witness else f"{v.verdict} {RULES_ONLY}"
        if v.verdict != "proven" and v.subgroup:
            verdict += f"; holds{' approximately' if v.subgroup_verdict == 'approximate' else ''}: {v.subgroup}"
        rows.append((contract_text(block.ast, c), verdict))
    return rows


def _source_of(block: ast.Block, span) -> str:
    """The text a span covers in the block's source (whole lines from its first line)."""
    lines = block.source.splitlines()
    first, last = span.line - block.span.line, span.end_line - block.span.line
    if first != last:
        return " ".join(line.strip() for line in lines[first:last + 1])
    return lines[first][span.column - 1:span.end_column - 1]
