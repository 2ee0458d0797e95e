"""Who is to blame when a claim fails: the operation where the wrong motion starts (not the
block header, not the `+` that meets a positional table), each side of a mismatch told apart
by name and origin, and a callee's axis names said in the caller's.

These only shape messages and spans; no verdict depends on them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .state import Factor, State

if TYPE_CHECKING:
    from ..errors import Span
    from ..ir import Graph, Node, Ref


def first_with(g: Graph, states: dict[Ref, State], f: Factor) -> Span | None:
    """The first operation whose result moves by `f` while none of its arguments does: where a
    wrong motion (a stride's half shift, a conjugated permutation) is made."""
    for node in g.operations():
        outs = _results(node, states)
        args = [states[r] for r in g.args(node.id) if r in states]
        if any(f in s.factors for s in outs) and not any(f in s.factors for s in args):
            return node.span
    return None


def first_dropping(g: Graph, states: dict[Ref, State], gen: tuple[int, ...]) -> Span | None:
    """The first operation that receives a motion of generator `gen` and gives a result that
    no longer moves with it: where the output stops following the input."""
    for node in g.operations():
        outs = _results(node, states)
        args = [states[r] for r in g.args(node.id) if r in states]
        moved_in = any(x.gen == gen for s in args for x in s.factors)
        if moved_in and outs and not any(x.gen == gen for s in outs for x in s.factors):
            return node.span
    return None


def _results(node: Node, states: dict[Ref, State]) -> list[State]:
    return [states[(node.id, i)] for i in range(max(1, len(node.types))) if (node.id, i) in states]


def operand(node: Node) -> str:
    """How a message names an operand: its variable and where it comes from."""
    if node.kind == "input":
        return f"`{node.name}` (an input)"
    where = f" at {node.span.line}:{node.span.column}" if node.span is not None else ""
    return f"the `{node.op}`{where}" if node.op else f"the {node.kind}{where}"


def fixed_source(node: Node, state: State) -> bool:
    """An operand that does not move at all and is made by an operation from sizes or learned
    weights (RelPosBias, window_mask, Param): the culprit is that operation, not the `+`."""
    return node.kind == "op" and not state.factors


def translate(text: str, names: dict[str, str]) -> str:
    """A callee's axis names replaced by the caller's, outside `code` (which quotes the callee)."""
    names = {a: b for a, b in names.items() if a != b}
    if not names:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")\b")
    parts = text.split("`")
    return "`".join(p if i % 2 else pattern.sub(lambda m: names[m.group(1)], p) for i, p in enumerate(parts))
