"""Neural circuit diagrams drawn from the IR (never from generated code).

Conventions, the same at every level:
- a wire is labelled with the axes of the tensor it carries (`T×D`), or their sizes when
  concrete sizes are given (`128×512`);
- a box names the axes its operation acts on (`Linear D → H K`, `softmax S`); the axes it
  is broadcast over follow on a small grey `per …` line (pointwise ops act on no axis and
  omit it: they are applied per element);
- operations that own parameters are bold boxes, pure ones plain rounded boxes;
- a called block is a fenced cluster (a double-bordered box when collapsed by `depth`),
  with its bindings and symmetry contracts on the fence; `repeat L` is one fence `×L`;
- skip and residual wires (a wire whose target is also reached by a longer path from its
  source) are drawn dashed and blue, with no weight, so the main path stays straight;
- fused kernels (with `fused=True`) are filled and marked `fused kernel`.

Node ids are assigned in the IR's deterministic topological order, so the DOT text is
byte-identical across runs. Every piece of spec text passes through `names.dot_label`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import graphviz
import networkx as nx

from .. import static
from ..errors import ArchIOError
from ..ir import BlockIR, Dispatch, Graph, Node
from ..names import dot_label, dot_text
from ..ops import REGISTRY
from ..passes.stats import graph_costs
from ..sizes import Size
from ..types import TensorType
from .contracts import contract_rows

if TYPE_CHECKING:
    from ..ir import BlockTable

FORMATS = ("dot", "svg", "png", "pdf")
INSTALL_HINT = ("install Graphviz: apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS) "
                "or conda install graphviz")
_GREY = "#666666"
_SKIP = "#2b6cb0"
_FUSED_FILL = "#fff1c2"
_LEARNED_PEN = "2.2"

Link = Callable[[tuple[str, str]], "str | None"]


@dataclass(frozen=True)
class _Scope:
    """Where a graph is drawn: its dot container, expansion level and size substitution."""

    dot: graphviz.Digraph
    level: int
    subst: dict[str, Size]  # this graph's size symbols -> sizes of the top-level block
    block: BlockIR  # whose source the graph's nodes come from (for tooltips)


@dataclass(frozen=True)
class _In:
    """A wire into a node being drawn: its dot source, tensor type, and whether it skips."""

    source: str
    type: TensorType
    skip: bool


def diagram(table: BlockTable, block: BlockIR, depth: int = 1, env: dict[str, int] | None = None,
            fused: bool = False, link: Link | None = None) -> graphviz.Digraph:
    """The circuit diagram of `block`: calls expanded `depth` levels deep; `env` gives
    concrete sizes (wires then show numbers); `link(callee)` gives an href for a call."""
    return _Drawer(table, depth, env, fused, link).draw(block)


def render(graph: graphviz.Digraph, fmt: str) -> bytes:
    """The diagram as DOT text or rendered by Graphviz's `dot` (svg, png, pdf)."""
    if fmt == "dot":
        return graph.source.encode("utf-8")
    if shutil.which("dot") is None:
        raise ArchIOError(f"writing {fmt.upper()} needs Graphviz's `dot` program, which is not on PATH",
                          code="E610", help=f"{INSTALL_HINT}; .dot output works without it")
    proc = subprocess.run(["dot", f"-T{fmt}"], input=graph.source.encode("utf-8"), capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ArchIOError(f"Graphviz failed: {err[-1] if err else 'no message'}", code="E611")
    return proc.stdout


class _Drawer:
    def __init__(self, table: BlockTable, depth: int, env: dict[str, int] | None, fused: bool,
                 link: Link | None):
        self.table, self.depth, self.env, self.fused, self.link = table, depth, env, fused, link
        self._draw = Dispatch(op=self._box, call=self._call, repeat=self._repeat)
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.count = 0
        self._learned: dict[tuple[str, str], bool] = {}

    # -- the whole picture ------------------------------------------------------------------
    def draw(self, block: BlockIR) -> graphviz.Digraph:
        g = graphviz.Digraph(block.name, graph_attr={
            "rankdir": "LR", "fontname": "Helvetica", "fontsize": "11", "nodesep": "0.25",
            "ranksep": "0.3", "newrank": "true", "compound": "true"},
            node_attr={"fontname": "Helvetica", "fontsize": "11", "shape": "box", "height": "0.3",
                       "margin": "0.08,0.04"},
            edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.6", "color": "#333333"})
        body = self._body_graph(block)
        ports = {}
        with g.subgraph(name="inputs", graph_attr={"rank": "source"}) as src:
            for nid, (name, _) in zip(body.inputs, block.inputs):
                ports[nid] = self._terminal(src, name)
        with g.subgraph(name="cluster_top") as top:
            self._fence(top, self._block_title(block), self._contracts(block), self._learned_block(block))
            outs = self._graph(body, _Scope(top, 0, {}, block), ports)
        with g.subgraph(name="outputs", graph_attr={"rank": "sink"}) as sink:
            for i, (src_id, t) in enumerate(zip(outs, block.outputs)):
                out = self._terminal(sink, "out" if len(outs) == 1 else f"out{i + 1}")
                self._wire(src_id, out, t, {}, skip=False)
        for tail, head, attrs in self.edges:
            g.edge(tail, head, **attrs)
        return g

    def _body_graph(self, block: BlockIR) -> Graph:
        return self.table.body(block, self.fused)

    # -- one graph (a block body or a repeat body) ----------------------------------------------
    def _graph(self, g: Graph, scope: _Scope, ports: dict[int, str]) -> list[str]:
        """Draw `g`'s nodes into the scope; `ports` are the dot ids standing for its inputs.
        Returns the dot ids that produce its outputs."""
        ends: dict[tuple[int, int], str] = {(nid, 0): dot_id for nid, dot_id in ports.items()}
        skips = _skip_edges(g)
        for node in g.operations():
            wires = [_In(ends[r], g.type_of(r), (r[0], node.id) in skips) for r in g.args(node.id)]
            outs = self._draw(node, g, scope, wires)
            ends.update({(node.id, i): o for i, o in enumerate(outs)})
        return [ends[r] for r in g.outputs]

    def _box(self, node: Node, g: Graph, scope: _Scope, wires: list[_In]) -> list[str]:
        """One box for the node, its inputs wired in."""
        box = self._op(node, g, scope) if node.kind == "op" else self._collapsed_call(node, scope)
        for w in wires:
            self._wire(w.source, box, w.type, scope.subst, w.skip)
        return [box] * len(node.types)

    def _call(self, node: Node, g: Graph, scope: _Scope, wires: list[_In]) -> list[str]:
        if scope.level < self.depth:
            return self._expanded_call(node, scope, wires)
        return self._box(node, g, scope, wires)

    def _op(self, node: Node, g: Graph, scope: _Scope) -> str:
        op = REGISTRY[node.op]
        label = op.label(node)
        ins = [g.type_of(r) for r in g.args(node.id)]
        attrs = {"class": f"op {node.op}", "tooltip": _where(node, scope.block)}
        lines = [_bold(label) if op.learned else dot_label(label), *_instance(node)]
        if op.spec != "none":
            per = _per(ins, op.acts_on(node))
            if per:
                lines.append(_small(f"per {per}"))
        if op.is_fused(node):
            lines.append(_small("fused kernel"))
            attrs.update(style="rounded,filled", fillcolor=_FUSED_FILL)
        elif op.learned:
            attrs.update(penwidth=_LEARNED_PEN)
        elif node.op in ("binary", "neg") and len(label) <= 1:
            attrs.update(shape="circle", width="0.3", margin="0.02")
        else:
            attrs.update(style="rounded")
        return self._node(scope.dot, "<" + "<BR/>".join(lines) + ">", attrs)

    def _collapsed_call(self, node: Node, scope: _Scope) -> str:
        callee = self.table[node.attrs["callee"]]
        learned = self._learned_block(callee)
        title = self._call_title(node, callee)
        lines = [_bold(title) if learned else dot_label(title), *_instance(node)]
        sig = " ".join(_bound_axes(node, callee))
        if sig:
            lines.append(dot_label(f"on {sig}"))
        if node.attrs["binding"].broadcast:
            lines.append(_small(f"per {' '.join(node.attrs['binding'].broadcast_names)}"))
        attrs = {"class": "call", "peripheries": "2", "tooltip": _where(node, scope.block)}
        if learned:
            attrs["penwidth"] = _LEARNED_PEN
        href = self._href(node.attrs["callee"])
        if href:
            attrs["href"] = href
        return self._node(scope.dot, "<" + "<BR/>".join(lines) + ">", attrs)

    def _expanded_call(self, node: Node, scope: _Scope, wires: list[_In]) -> list[str]:
        callee = self.table[node.attrs["callee"]]
        subst = {k: v.subs(scope.subst) for k, v in node.attrs["binding"].sizes.items()}
        body = self._body_graph(callee)
        with scope.dot.subgraph(name=self._cluster()) as c:
            notes = _instance(node) + list(self._contracts(callee))
            if node.attrs["binding"].broadcast:
                notes.insert(0, _small(f"per {' '.join(node.attrs['binding'].broadcast_names)}"))
            self._fence(c, self._call_title(node, callee), notes, self._learned_block(callee),
                        href=self._href(node.attrs["callee"]), tooltip=_where(node, scope.block))
            ports = self._ports(c, body, [name for name, _ in callee.inputs], wires, scope)
            return self._graph(body, _Scope(c, scope.level + 1, subst, callee), ports)

    def _repeat(self, node: Node, g: Graph, scope: _Scope, wires: list[_In]) -> list[str]:
        body: Graph = node.attrs["body"]
        count = node.attrs["count"]
        with scope.dot.subgraph(name=self._cluster()) as c:
            self._fence(c, f"repeat ×{self._size(count, scope.subst)}", [], False, dashed=True,
                        tooltip=_where(node, scope.block))
            ports = self._ports(c, body, node.attrs["inputs"], wires, scope)
            return self._graph(body, _Scope(c, scope.level, scope.subst, scope.block), ports)

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
                          {"shape": "plaintext", "fontsize": "9", "fontcolor": _GREY, "class": "port"})

    def _fence(self, c: graphviz.Digraph, title: str, notes: list[str], learned: bool,
               dashed: bool = False, href: str | None = None, tooltip: str | None = None) -> None:
        lines = [_bold(title) if learned else dot_label(title), *notes]
        attrs = {"label": "<" + "<BR ALIGN=\"LEFT\"/>".join(lines) + "<BR ALIGN=\"LEFT\"/>>",
                 "labeljust": "l", "style": "rounded,dashed" if dashed else "rounded",
                 "color": "#555555", "penwidth": _LEARNED_PEN if learned else "1", "fontsize": "10"}
        if href:
            attrs["href"] = href
        if tooltip:
            attrs["tooltip"] = tooltip
        c.attr(**attrs)

    def _contracts(self, block: BlockIR) -> list[str]:
        return [_small(f"{text}: {verdict}") for text, verdict in contract_rows(self.table, block)]

    def _href(self, callee: tuple[str, str]) -> str | None:
        return self.link(callee) if self.link else None

    def _wire(self, tail: str, head: str, t: TensorType, subst: dict[str, Size], skip: bool) -> None:
        attrs = {"label": f"<{dot_label(self._type(t, subst))}>"}
        if skip:
            attrs.update(style="dashed", color=_SKIP, fontcolor=_SKIP, weight="0", **{"class": "skip"})
        else:
            attrs["weight"] = "2"
        self.edges.append((tail, head, attrs))

    def _type(self, t: TensorType, subst: dict[str, Size]) -> str:
        if not t.axes:
            text = "scalar"
        elif self.env is None:
            text = "×".join(t.names)
        else:
            text = "×".join(self._size(a.size, subst) for a in t.axes)
        return text if t.dtype == "float" else f"{text} {t.dtype}"

    def _size(self, size: Size, subst: dict[str, Size]) -> str:
        size = size.subs(subst)
        if self.env is None:
            return str(size)
        value = size.evaluate(self.env)
        return str(int(value)) if value.denominator == 1 else str(float(value))

    def _block_title(self, block: BlockIR) -> str:
        def shown(p) -> str:
            if self.env is not None and p.kind == "size":
                return f"{p.name}={self.env[p.name]}"
            return p.name if p.default is None else f"{p.name}={static.show(p.default)}"

        params = ", ".join(shown(p) for p in block.params.values())
        return f"{block.name}[{params}]" if params else block.name

    def _call_title(self, node: Node, callee: BlockIR) -> str:
        binds = [f"{k}={static.show(v)}" for k, v in node.attrs["sizes"].items()]
        binds += [f"{k}={' '.join(v) if isinstance(v, tuple) else v}" for k, v in node.attrs["axes"].items()]
        return f"{callee.name}[{', '.join(binds)}]" if binds else callee.name

    def _learned_block(self, block: BlockIR) -> bool:
        key = (block.file, block.name)
        if key not in self._learned:
            self._learned[key] = graph_costs(self.table, block.body)[0] != 0
        return self._learned[key]


def _skip_edges(g: Graph) -> set[tuple[int, int]]:
    """(u, v) wires that skip ahead: v is also reached from u through another consumer."""
    skips = set()
    for u in g.g.nodes:
        succ = sorted(set(g.g.successors(u)))
        for v in succ:
            if any(w != v and nx.has_path(g.g, w, v) for w in succ):
                skips.add((u, v))
    return skips


def _where(node: Node, block: BlockIR) -> graphviz.nohtml:
    """`transformer.arch:5: x = x + ...`: the line a node comes from, for its tooltip."""
    lines = block.ast.source.splitlines()
    i = node.span.line - block.ast.span.line
    text = lines[i].strip() if 0 <= i < len(lines) else ""
    return graphviz.nohtml(dot_text(f"{Path(block.file).name}:{node.span.line}: {text}"))


def _per(ins: list[TensorType], acted: set[str]) -> str:
    seen: list[str] = []
    for t in ins:
        seen += [n for n in t.names if n not in acted and n not in seen]
    return " ".join(seen)


def _bound_axes(node: Node, callee: BlockIR) -> list[str]:
    """The caller's axes the callee's signature acts on, after axis bindings."""
    out: list[str] = []
    for _, t in callee.inputs:
        for name in t.names:
            target = node.attrs["binding"].caller_axes(name)
            text = f"({' '.join(target)})" if len(target) > 1 else target[0]
            if text not in out:
                out.append(text)
    return out


def _instance(node: Node) -> list[str]:
    """A named submodule's line: `as qkv` where it is built, `shared: qkv` where it is used
    again (the weights of both boxes are one)."""
    if "instance" in node.attrs:
        return [_small(f"shared: {node.attrs['instance']}")]
    return [_small(f"as {node.attrs['label']}")] if "label" in node.attrs else []


def _bold(text: str) -> str:
    return f"<B>{dot_label(text)}</B>"


def _small(text: str) -> str:
    return f'<FONT POINT-SIZE="9" COLOR="{_GREY}">{dot_label(text)}</FONT>'
