"""What the diagram folds and which way it runs.

Folding: a run of consecutive calls of one block with equal bindings, each feeding only the
next, is drawn once with "×N"; so is a `repeat` whose body is one call (ResNet's stages, a
Transformer's layers). `--unfold` turns both off.

Direction: a picture whose longest chain of boxes is long runs top to bottom (a page scrolls
vertically), a short one left to right."""

from __future__ import annotations

import networkx as nx

from ... import static
from ...ir import Graph, Node

LONG_CHAIN = 4  # boxes on the longest path above which a diagram runs top to bottom (sizes on wires make a left-to-right strip wide fast)


def call_runs(g: Graph) -> dict[int, list[int]]:
    """First call id -> the ids of the run it starts (two or more), for runs of equal calls."""
    runs: dict[int, list[int]] = {}
    member: dict[int, int] = {}
    for node in g.operations():
        prev = _feeder(g, node)
        if prev is not None and _same_call(prev, node):
            first = member.get(prev.id, prev.id)
            runs.setdefault(first, [first]).append(node.id)
            member[node.id] = first
    return runs


def _feeder(g: Graph, node: Node) -> Node | None:
    """The call whose only use is `node`'s only argument, if there is one."""
    if node.kind != "call":
        return None
    args = g.args(node.id)
    if len(args) != 1 or args[0][1] != 0:
        return None
    prev = g.node(args[0][0])
    if prev.kind != "call" or len(prev.types) != 1 or g.uses(args[0]) != 1:
        return None
    return prev


def _same_call(a: Node, b: Node) -> bool:
    return a.attrs["callee"] == b.attrs["callee"] and _bindings(a) == _bindings(b)


def _bindings(node: Node) -> tuple:
    sizes = tuple((k, static.show(v)) for k, v in node.attrs["sizes"].items())
    axes = tuple((k, str(v)) for k, v in node.attrs["axes"].items())
    return sizes, axes, tuple((k, static.show(v)) for k, v in node.attrs["binding"].values.items())


def single_call(body: Graph) -> Node | None:
    """The one call a repeat body consists of, carrying its only value through, if so."""
    ops = list(body.operations())
    if len(ops) != 1 or ops[0].kind != "call" or len(body.inputs) != 1 or len(body.outputs) != 1:
        return None
    call = ops[0]
    if body.args(call.id) != [(body.inputs[0], 0)] or body.outputs != [(call.id, 0)]:
        return None
    return call


def direction(edges: list[tuple[str, str]]) -> str:
    """"TB" for a long picture, "LR" for a short one (by the longest path of drawn wires)."""
    g = nx.DiGraph(edges)
    longest = nx.dag_longest_path_length(g) if nx.is_directed_acyclic_graph(g) else len(g)
    return "TB" if longest > LONG_CHAIN else "LR"


def u_turn(g: Graph, skips: set[tuple[int, int]]) -> int | None:
    """Where a U-Net-shaped graph turns back up: its skip wires nest (the first source feeds the
    last target, the second the one before, ...), so the nodes past the midpoint of the
    innermost skip are drawn climbing back beside those they are wired to. None if not a U."""
    pos = {n.id: i for i, n in enumerate(g.order())}
    pairs = sorted(skips, key=lambda e: pos[e[0]])
    if len(pairs) < 2 or len({u for u, _ in pairs}) != len(pairs):
        return None
    targets = [pos[v] for _, v in pairs]
    if any(a <= b for a, b in zip(targets, targets[1:])) or pos[pairs[-1][0]] >= min(targets):
        return None
    mid = (pos[pairs[-1][0]] + pos[pairs[-1][1]]) / 2
    return next(n.id for n in g.order() if pos[n.id] > mid)
