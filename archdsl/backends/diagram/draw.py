"""The drawer: one walk over a block's graph through the one dispatcher, each op drawn
through its own `label`, each call through its `CallBinding` record (see the package doc)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

import graphviz

from ... import static
from ...ir import BlockIR, Dispatch, Graph, Node
from ...names import dot_label
from ...ops import REGISTRY
from ...sizes import Size
from ...types import TensorType
from ..contracts import contract_rows
from .fold import call_runs, direction, single_run, u_turn, unrolled_runs, varying
from .labels import Labels
from .pieces import bound_axes, broadcast_axes, op_costs, repeat_title, skip_edges, where
from .style import BROADCAST, FUSED_FILL, GREY, LEARNED_PEN, SKIP, bold, framed, small

if TYPE_CHECKING:
    from ...ir import BlockTable

Link = Callable[[tuple[str, str]], "str | None"]


@dataclass(frozen=True)
class _Scope:
    """Where a graph is drawn: its dot container, expansion level, size substitution and the
    values of the flags its block was called with (to leave out disabled options)."""

    dot: graphviz.Digraph
    level: int
    subst: dict[str, Size]  # this graph's size symbols -> sizes of the top-level block
    block: BlockIR  # whose source the graph's nodes come from (for tooltips)
    values: dict[str, Any] = field(default_factory=dict)
    path: tuple[int, ...] = ()  # ids of the calls and repeats the graph is inside (names a call for the site)


@dataclass(frozen=True)
class _In:
    """A wire into a node being drawn: its dot source, tensor type, and whether it skips."""

    source: str
    type: TensorType
    skip: bool


class Drawer(Labels):
    def __init__(self, table: BlockTable, depth: int, env: dict[str, int] | None, fused: bool,
                 link: Link | None, unfold: bool, toggled: str | None = None):
        self.table, self.depth, self.env, self.fused, self.link = table, depth, env, fused, link
        self.unfold, self.toggled = unfold, toggled
        self.calls: list[str] = []  # the key of every call drawn, as its box's or fence's class
        self._vary: dict[int, dict[str, str]] = {}  # id() of a folded run's first call -> its varying bindings
        self._draw = Dispatch(op=self._box, call=self._call, repeat=self._repeat)
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.count = 0
        self.turn: int | None = None  # the first dot id drawn climbing back up (a U-Net's decoder)
        self._top: graphviz.Digraph | None = None  # the fence of the block drawn
        self._learned: dict[tuple[str, str], bool] = {}
        self._into: dict[str, set[str]] = {}  # dot id -> the shapes of the wires into it (a wire
        # out that repeats the one shape in goes unlabelled)

    # -- the whole picture ------------------------------------------------------------------
    def draw(self, block: BlockIR) -> graphviz.Digraph:
        g = graphviz.Digraph(block.name, graph_attr={
            "fontname": "Helvetica", "fontsize": "11", "nodesep": "0.25",
            "ranksep": "0.2", "newrank": "true", "compound": "true"},
            node_attr={"fontname": "Helvetica", "fontsize": "11", "shape": "box", "height": "0.3",
                       "margin": "0.08,0.04"},
            edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.6", "color": "#333333"})
        body = self.table.body(block, self.fused)
        ports = {}
        with g.subgraph(name="inputs", graph_attr={"rank": "source"}) as src:
            for nid, (name, _) in zip(body.inputs, block.inputs):
                ports[nid] = self._terminal(src, name)
        values = {p.name: p.default for p in block.params.values() if p.kind != "size"}
        with g.subgraph(name="cluster_top") as top:
            self._top = top
            self._fence(top, self._block_title(block), self._contracts(block), self._learned_block(block))
            outs = self._graph(body, _Scope(top, 0, {}, block, values), ports)
        with g.subgraph(name="outputs", graph_attr={} if self.turn else {"rank": "sink"}) as sink:
            for i, (src_id, t) in enumerate(zip(outs, block.outputs)):
                out = self._terminal(sink, "out" if len(outs) == 1 else f"out{i + 1}")
                self._wire(src_id, out, t, {}, skip=False, terminal=True)
        g.graph_attr["rankdir"] = "TB" if self.turn else direction([(t, h) for t, h, _ in self.edges])
        for tail, head, attrs in self.edges:
            self._edge(g, tail, head, attrs)
        return g

    def _edge(self, g: graphviz.Digraph, tail: str, head: str, attrs: dict[str, str]) -> None:
        """A wire; in a U, one within the climbing half is laid out reversed (drawn pointing
        up), and a skip across the U does not pull its ends apart."""
        def climbing(dot_id: str) -> bool:
            return self.turn is not None and int(dot_id[1:]) >= self.turn

        if climbing(tail) and climbing(head):
            g.edge(head, tail, dir="back", **attrs)
        elif climbing(head) and attrs.get("class") == "skip":
            g.edge(tail, head, constraint="false", **attrs)
        else:
            g.edge(tail, head, **attrs)

    # -- one graph (a block body or a repeat body) ----------------------------------------------
    def _graph(self, g: Graph, scope: _Scope, ports: dict[int, str]) -> list[str]:
        """Draw `g`'s nodes into the scope; `ports` are the dot ids standing for its inputs.
        Returns the dot ids that produce its outputs."""
        ends: dict[tuple[int, int], str] = {(nid, 0): dot_id for nid, dot_id in ports.items()}
        skips = skip_edges(g)
        unrolled = [] if self.unfold else unrolled_runs(g)
        later = {nid: first for u in unrolled for nid, first in u.later.items()}
        opens, closes = {u.copies[0][0]: u for u in unrolled}, {u.copies[0][-1]: u for u in unrolled}
        def bound(ids: list[int]) -> list[dict[str, str]]:
            return [self._bound(g.node(i), scope.subst) for i in ids]

        for u in unrolled:  # a call's bindings that differ between the copies
            for j, nid in enumerate(u.copies[0]):
                if g.node(nid).kind == "call":
                    self._vary[id(g.node(nid))] = varying(bound([c[j] for c in u.copies]))
        runs = {} if self.unfold else {f: ids for f, ids in call_runs(g, lambda n: self._bound(n, scope.subst)).items()
                                        if not any(i in later or i in opens for i in ids)}
        turn = u_turn(g, skips) if scope.dot is self._top else None
        folded = {nid: first for first, ids in runs.items() for nid in ids[1:]}
        self._vary.update({id(g.node(first)): varying(bound(ids)) for first, ids in runs.items()})
        outer, fence = scope, None
        for node in g.operations():
            try:
                if node.id in later:  # drawn once, as the first copy
                    ends.update({(node.id, i): ends[(later[node.id], i)] for i in range(len(node.types))})
                    continue
                if node.id in opens:
                    fence = scope.dot.subgraph(name=self._cluster())
                    c = fence.__enter__()
                    self._fence(c, f"repeat ×{opens[node.id].count}", [small("an indexed repeat, unrolled")], False,
                                dashed=True, tooltip=where(node, scope.block))
                    scope = replace(outer, dot=c)
                if node.id == turn:
                    self.turn = self.count + 1
                if node.id in folded:
                    ends[(node.id, 0)] = ends[(folded[node.id], 0)]
                    continue
                wires = [_In(ends[r], g.type_of(r), (r[0], node.id) in skips) for r in g.args(node.id)]
                if self._disabled(node, scope):
                    ends[(node.id, 0)] = wires[0].source
                    continue
                times = str(len(runs[node.id])) if node.id in runs else None
                outs = self._draw(node, g, scope, wires, times)
                ends.update({(node.id, i): o for i, o in enumerate(outs)})
            finally:  # also after a `continue`
                if node.id in closes and fence is not None:
                    fence.__exit__(None, None, None)
                    scope, fence = outer, None
        return [ends[r] for r in g.outputs]

    def _disabled(self, node: Node, scope: _Scope) -> bool:
        """An op switched off by its `enabled` option (directly or through a block's flag)."""
        flag = node.attrs.get("kw", {}).get("enabled", True) if node.kind == "op" else True
        if isinstance(flag, static.Real) and flag.op == "param":
            flag = scope.values.get(flag.args[0], True)
        return flag is False

    def _box(self, node: Node, g: Graph, scope: _Scope, wires: list[_In], times: str | None) -> list[str]:
        """One box for the node, its inputs wired in."""
        if node.kind == "op":
            box = self._op(node, g, scope)
        else:
            box = self._collapsed_call(node, g, scope, times)
        for w in wires:
            self._wire(w.source, box, w.type, scope.subst, w.skip)
        return [box] * len(node.types)

    def _call(self, node: Node, g: Graph, scope: _Scope, wires: list[_In], times: str | None) -> list[str]:
        """A fence when the call is within `depth` (or is the one toggled), else a box."""
        self.calls.append(_key(scope, node))
        if (scope.level < self.depth) != (_key(scope, node) == self.toggled):
            return self._expanded_call(node, scope, wires, times)
        return self._box(node, g, scope, wires, times)

    def _op(self, node: Node, g: Graph, scope: _Scope) -> str:
        op = REGISTRY[node.op]
        label = op.label(node)
        ins = [g.type_of(r) for r in g.args(node.id)]
        attrs = {"class": f"op {node.op}", "tooltip": self._tip(node, scope, ins, op_costs(node, ins))}
        lines = [bold(label) if op.learned else dot_label(label), *_instance(node)]
        per = broadcast_axes(ins, op.acts_on(node)) if op.spec != "none" else []
        fill = None
        if op.is_fused(node):
            lines.append(small("fused kernel"))
            fill = FUSED_FILL
        if per:
            attrs.update(shape="plain")
            return self._node(scope.dot, framed(lines, per, op.learned, fill, False), attrs)
        if fill:
            attrs.update(style="rounded,filled", fillcolor=fill)
        elif op.learned:
            attrs.update(penwidth=LEARNED_PEN)
        elif node.op in ("binary", "neg") and len(label) <= 1:
            attrs.update(shape="circle", width="0.3", margin="0.02")
        else:
            attrs.update(style="rounded")
        return self._node(scope.dot, "<" + "<BR/>".join(lines) + ">", attrs)

    def _collapsed_call(self, node: Node, g: Graph, scope: _Scope, times: str | None) -> str:
        callee = self.table[node.attrs["callee"]]
        binding = node.attrs["binding"]
        learned = self._learned_block(callee)
        title = self._call_title(node, callee, scope.subst, times)
        lines = [bold(title) if learned else dot_label(title), *_instance(node), *self._varies(node)]
        sig = " ".join(bound_axes(node, callee))
        if sig:
            lines.append(dot_label(f"on {sig}"))
        ins = [g.type_of(r) for r in g.args(node.id)]
        attrs = {"class": f"call {_key(scope, node)}", "tooltip": self._tip(node, scope, ins, self._call_costs(node, callee), times)}
        href = self._href(node.attrs["callee"])
        if href:
            attrs["href"] = href
        if binding.broadcast:
            attrs["shape"] = "plain"
            return self._node(scope.dot, framed(lines, list(binding.broadcast_names), learned, None, True), attrs)
        attrs["peripheries"] = "2"
        if learned:
            attrs["penwidth"] = LEARNED_PEN
        return self._node(scope.dot, "<" + "<BR/>".join(lines) + ">", attrs)

    def _expanded_call(self, node: Node, scope: _Scope, wires: list[_In], times: str | None) -> list[str]:
        callee = self.table[node.attrs["callee"]]
        binding = node.attrs["binding"]
        subst = {k: v.subs(scope.subst) for k, v in binding.sizes.items()}
        body = self.table.body(callee, self.fused)
        outer = scope.dot
        if binding.broadcast:  # the broadcast axes run around the whole fence
            frame = outer.subgraph(name=self._cluster())
            outer = frame.__enter__()
            outer.attr(label=f"<{small('∀ ' + ' '.join(binding.broadcast_names))}>", style="dashed",
                       color=BROADCAST, labeljust="l", fontsize="9")
        with outer.subgraph(name=self._cluster()) as c:
            self._fence(c, self._call_title(node, callee, scope.subst, times), _instance(node) + self._varies(node) + list(self._contracts(callee)),
                        self._learned_block(callee), href=self._href(node.attrs["callee"]), cls=f"fence {_key(scope, node)}",
                        tooltip=self._tip(node, scope, [w.type for w in wires], self._call_costs(node, callee), times))
            ports = self._ports(c, body, [name for name, _ in callee.inputs], wires, scope)
            inner = _Scope(c, scope.level + 1, subst, callee, self._values(callee, binding, scope), scope.path + (node.id,))
            outs = self._graph(body, inner, ports)
        if binding.broadcast:
            frame.__exit__(None, None, None)
        return outs

    def _values(self, callee: BlockIR, binding, scope: _Scope) -> dict[str, Any]:
        values = {p.name: p.default for p in callee.params.values() if p.kind != "size"}
        for k, v in binding.values.items():
            values[k] = scope.values.get(v.args[0]) if isinstance(v, static.Real) and v.op == "param" else v
        return values

    def _repeat(self, node: Node, g: Graph, scope: _Scope, wires: list[_In], times: str | None) -> list[str]:
        body: Graph = node.attrs["body"]
        count = self._size(node.attrs["count"], scope.subst)
        if self.unfold and count.isdigit():
            return self._unrolled(node, scope, wires, int(count))
        calls = None if self.unfold or "branch" in node.attrs else \
            single_run(body, lambda n: self._bound(n, scope.subst))
        if calls is not None:  # drawn once, as its first call, with the count of calls in all
            if len(calls) > 1:
                per = [self._bound(c, scope.subst) for c in calls] * (int(count) if count.isdigit() else 1)
                self._vary[id(calls[0])] = varying(per)
                count = str(len(calls) * int(count)) if count.isdigit() else f"{len(calls)}·{count}"
            return self._call(calls[0], body, replace(scope, path=scope.path + (node.id,)), wires, count)
        with scope.dot.subgraph(name=self._cluster()) as c:
            self._fence(c, repeat_title(node, count), [], False, dashed=True, tooltip=where(node, scope.block))
            ports = self._ports(c, body, node.attrs["inputs"], wires, scope)
            return self._graph(body, replace(scope, dot=c, path=scope.path + (node.id,)), ports)

    def _unrolled(self, node: Node, scope: _Scope, wires: list[_In], count: int) -> list[str]:
        """Every iteration of a repeat, each in its own dashed fence, chained."""
        body: Graph = node.attrs["body"]
        names, carried = node.attrs["inputs"], node.attrs["carried"]
        outs = [w.source for w in wires[:len(carried)]]
        for i in range(count):
            with scope.dot.subgraph(name=self._cluster()) as c:
                self._fence(c, f"repeat {i + 1}/{count}", [], False, dashed=True, tooltip=where(node, scope.block))
                now = [_In(outs[carried.index(n)], w.type, False) if n in carried else w
                       for n, w in zip(names, wires)]
                ports = self._ports(c, body, names, now, scope) if i == 0 else {
                    nid: w.source for nid, w in zip(body.inputs, now)}
                outs = self._graph(body, replace(scope, dot=c, path=scope.path + (node.id,)), ports)
        return outs

    def _ports(self, c: graphviz.Digraph, body: Graph, names: list[str], wires: list[_In],
               scope: _Scope) -> dict[int, str]:
        """One port node per input of a fenced body, wired from the caller's side."""
        ports = {}
        for nid, name, w in zip(body.inputs, names, wires):
            ports[nid] = self._port(c, name)
            self._wire(w.source, ports[nid], w.type, scope.subst, w.skip)
        return ports

    # -- pieces -------------------------------------------------------------------------------
    def _node(self, container: graphviz.Digraph, label: str, attrs: dict[str, str]) -> str:
        self.count += 1
        dot_id = f"n{self.count}"
        container.node(dot_id, label=label, id=dot_id, **attrs)
        return dot_id

    def _cluster(self) -> str:
        self.count += 1
        return f"cluster_{self.count}"

    def _terminal(self, container: graphviz.Digraph, name: str) -> str:
        return self._node(container, f"<<I>{dot_label(name)}</I>>", {"shape": "plaintext", "class": "terminal"})

    def _port(self, container: graphviz.Digraph, name: str) -> str:
        return self._node(container, f"<<I>{dot_label(name)}</I>>",
                          {"shape": "plaintext", "fontsize": "9", "fontcolor": GREY, "class": "port",
                           "height": "0.1"})

    def _fence(self, c: graphviz.Digraph, title: str, notes: list[str], learned: bool,
               dashed: bool = False, href: str | None = None, tooltip: str | None = None,
               cls: str | None = None) -> None:
        lines = [bold(title) if learned else dot_label(title), *notes]
        attrs = {"label": "<" + "<BR ALIGN=\"LEFT\"/>".join(lines) + "<BR ALIGN=\"LEFT\"/>>",
                 "labeljust": "l", "style": "rounded,dashed" if dashed else "rounded",
                 "color": "#555555", "penwidth": LEARNED_PEN if learned else "1", "fontsize": "10"}
        if href:
            attrs["href"] = href
        if tooltip:
            attrs["tooltip"] = tooltip
        if cls:
            attrs["class"] = cls
        c.attr(**attrs)

    def _contracts(self, block: BlockIR) -> list[str]:
        return [small(f"{text}: {verdict}") for text, verdict in contract_rows(self.table, block)]

    def _href(self, callee: tuple[str, str]) -> str | None:
        return self.link(callee) if self.link else None

    def _wire(self, tail: str, head: str, t: TensorType, subst: dict[str, Size], skip: bool, terminal: bool = False) -> None:
        text = self._type(t, subst)
        same = not skip and not terminal and self._into.get(tail) == {text}
        attrs = {} if same else {"label": f"<{dot_label(text)}>"}
        self._into.setdefault(head, set()).add(text)
        if skip:
            attrs.update(style="dashed", color=SKIP, fontcolor=SKIP, weight="0", **{"class": "skip"})
        else:
            attrs["weight"] = "2"
        self.edges.append((tail, head, attrs))

def _instance(node: Node) -> list[str]:
    """A named submodule's line: `as qkv` where it is built, `shared: qkv` where it is used
    again (the weights of both boxes are one)."""
    if "instance" in node.attrs:
        return [small(f"shared: {node.attrs['instance']}")]
    return [small(f"as {node.attrs['label']}")] if "label" in node.attrs else []


def _key(scope: _Scope, node: Node) -> str:
    """`c4_17`: a call's name in the diagram, from the ids of the calls and repeats it is inside
    and its own; the same in every variant of one block's diagram."""
    return "c" + "_".join(map(str, (*scope.path, node.id)))
