"""What the diagram folds and which way it runs.

Folding: a run of consecutive calls of one block that bind the same axes, each feeding only the
next, is drawn once with "×N" when their bindings (defaults filled in) are all equal or change at
every call; those that differ are listed on the box (`varies: C = 64, 96, …` as DenseNet grows,
`varies: shift = 0, 3` for Swin's regular and shifted blocks); so is a `repeat` whose body is
one call or one such run (ResNet's stages, a Transformer's layers, Swin's stages: ×2·L); and the copies an
indexed `repeat i in N` was unrolled into are drawn as the first in a "repeat ×N" fence, with the
bindings that vary. `--unfold` turns all of these off.

Direction: a picture whose longest chain of boxes is long runs top to bottom (a page scrolls
vertically), a short one left to right."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import networkx as nx

from ...ir import Graph, Node

LONG_CHAIN = 4  # boxes on the longest path above which a diagram runs top to bottom (sizes on wires make a left-to-right strip wide fast)


Values = Callable[[Node], dict[str, str]]  # every binding of a call (defaults included), as drawn


def call_runs(g: Graph, values: Values) -> dict[int, list[int]]:
    """First call id -> the ids of the run it starts (two or more), for runs of equal calls."""
    chains: dict[int, list[int]] = {}
    member: dict[int, int] = {}
    for node in g.operations():
        prev = _feeder(g, node)
        if prev is not None and _same_call(prev, node):
            first = member.get(prev.id, prev.id)
            chains.setdefault(first, [first]).append(node.id)
            member[node.id] = first
    runs: dict[int, list[int]] = {}
    for ids in chains.values():
        for run in _split(ids, [values(g.node(i)) for i in ids]):
            runs[run[0]] = run
    return runs


def _split(ids: list[int], per: list[dict[str, str]]) -> list[list[int]]:
    """A chain of calls is one run when its bindings are all equal (`×3`) or change at every
    step (Swin's `shift = 0, 3`, DenseNet's growing `C`); otherwise each stretch of equal calls
    is its own run (`A ×3` then `A[F=2]`, not `A ×4` varying `F = 4, 4, 4, 2`)."""
    if all(a != b for a, b in zip(per, per[1:])) or all(p == per[0] for p in per):
        return [ids]
    out, start = [], 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or per[i] != per[start]:
            if i - start > 1:
                out.append(ids[start:i])
            start = i
    return out


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
    """Calls of one block binding the same axes (their sizes and values may differ)."""
    return a.attrs["callee"] == b.attrs["callee"] and _axes(a) == _axes(b)


def _axes(node: Node) -> tuple:
    return tuple((k, str(v)) for k, v in node.attrs["axes"].items())


MAX_SHOWN = 4  # values of a varying binding listed before an ellipsis and the last


def varying(per: list[dict[str, str]]) -> dict[str, str]:
    """The bindings that differ along a folded run, each with its values in order
    (`64, 96, 128, …, 224`)."""
    out = {}
    for key in per[0]:
        seq = [v.get(key, "?") for v in per]
        if len(set(seq)) > 1:
            shown = seq if len(seq) <= MAX_SHOWN + 1 else [*seq[:MAX_SHOWN], "…", seq[-1]]
            out[key] = ", ".join(shown)
    return out


def single_run(body: Graph, values: Values) -> list[Node] | None:
    """The calls a repeat body consists of when they are one run (usually one call) carrying
    its only value through, if so."""
    ops = list(body.operations())
    if not ops or len(body.inputs) != 1 or len(body.outputs) != 1:
        return None
    if len(ops) > 1 and call_runs(body, values).get(ops[0].id) != [n.id for n in ops]:
        return None
    if ops[0].kind != "call" or body.args(ops[0].id) != [(body.inputs[0], 0)] or body.outputs != [(ops[-1].id, 0)]:
        return None
    return ops


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


@dataclass
class Unrolled:
    """The copies an indexed `repeat i in N` was elaborated into, drawn as the first copy in a
    "repeat ×N" fence (their nodes carry `Node.unrolled`)."""

    line: int
    count: int
    copies: list[list[int]]  # node ids of each iteration, in drawing order

    @property
    def later(self) -> dict[int, int]:
        """A node of a later copy -> its counterpart in the first."""
        return {c[j]: self.copies[0][j] for c in self.copies[1:] for j in range(len(c))}


def unrolled_runs(g: Graph) -> list[Unrolled]:
    """Indexed repeats of `g` whose copies have one shape (the same ops and calls in the same
    order; a static `if` on the index can break that, and such a repeat is drawn in full) and
    whose first copy is drawn without anything else in between."""
    ops = list(g.operations())
    pos = {n.id: i for i, n in enumerate(ops)}
    found: dict[tuple[int, int], dict[int, list[int]]] = {}
    for n in ops:
        if n.unrolled is not None:
            line, k, count = n.unrolled
            found.setdefault((line, count), {}).setdefault(k, []).append(n.id)
    out = []
    for (line, count), iters in found.items():
        if count < 2 or len(iters) != count:
            continue
        copies = [iters[k] for k in range(count)]
        shapes = {tuple((g.node(i).kind, g.node(i).op, str(g.node(i).attrs.get("callee"))) for i in c) for c in copies}
        first = [pos[i] for i in copies[0]]
        if len(shapes) == 1 and first == list(range(first[0], first[0] + len(first))):
            out.append(Unrolled(line, count, copies))
    return out
