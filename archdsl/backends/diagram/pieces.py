"""Facts the drawer reads off the IR: skip wires, source lines, broadcast axes, bound axes and
an op's own costs (for the hover text)."""

from __future__ import annotations

from pathlib import Path

import graphviz
import networkx as nx

from ...ir import BlockIR, Graph, Node
from ...names import dot_text
from ...ops import REGISTRY
from ...sizes import Size
from ...types import TensorType


def op_costs(node: Node, ins: list[TensorType]) -> tuple[Size, Size]:
    """An op's parameters and FLOPs, counted as the stats pass counts them."""
    op = REGISTRY[node.op]
    params = Size.of(0)
    for shape in op.parameters(node, ins, node.types[0]).values():
        n = Size.of(1)
        for s in shape:
            n = n * s
        params = params + n
    return params, op.flops(node, ins, node.types[0])


def repeat_title(node: Node, count: str) -> str:
    """A repeat's fence title; a branch of an `if` on block parameters says its condition and
    whether this instance takes it (`count` is 1 or 0 once the parameters are known)."""
    if "branch" not in node.attrs:
        return f"repeat ×{count}"
    text, then = node.attrs["branch"]
    title = f"if {text}" if then else f"else (if not {text})"
    return title + {"1": ": taken", "0": ": not taken"}.get(count, "")


def skip_edges(g: Graph) -> set[tuple[int, int]]:
    """(u, v) wires that skip ahead: v is also reached from u through another consumer."""
    skips = set()
    for u in g.g.nodes:
        succ = sorted(set(g.g.successors(u)))
        for v in succ:
            if any(w != v and nx.has_path(g.g, w, v) for w in succ):
                skips.add((u, v))
    return skips


def where_text(node: Node, block: BlockIR) -> str:
    """`transformer.arch:5: x = x + ...`: the line a node comes from."""
    lines = block.ast.source.splitlines()
    i = node.span.line - block.ast.span.line
    text = lines[i].strip() if 0 <= i < len(lines) else ""
    return f"{Path(block.file).name}:{node.span.line}: {text}"


def where(node: Node, block: BlockIR) -> graphviz.nohtml:
    return graphviz.nohtml(dot_text(where_text(node, block)))


def broadcast_axes(ins: list[TensorType], acted: set[str]) -> list[str]:
    """The axes of the inputs an op does not act on: those it is mapped over, in order."""
    seen: list[str] = []
    for t in ins:
        seen += [n for n in t.names if n not in acted and n not in seen]
    return seen


def bound_axes(node: Node, callee: BlockIR) -> list[str]:
    """The caller's axes the callee's signature acts on, after axis bindings."""
    out: list[str] = []
    for _, t in callee.inputs:
        for name in t.names:
            target = node.attrs["binding"].caller_axes(name)
            text = f"({' '.join(target)})" if len(target) > 1 else target[0]
            if text not in out:
                out.append(text)
    return out
