"""The IR: one networkx graph per block (and per `repeat` body).

Nodes are operations; an edge `u -> v` with attributes `out` and `port` says that output
`out` of `u` is argument `port` of `v`. Every node keeps the span it came from, so every
diagnostic, diagram label and generated line points back at the `.arch` source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

import networkx as nx

from . import ast
from .diagnostics import Diagnostic
from .errors import Span
from .sizes import Size
from .static import Value
from .types import TensorType

Ref = tuple[int, int]  # (node id, output index)
OPERATIONS = frozenset({"op", "call", "repeat"})  # node kinds that compute; the other is "input"
NODE_KINDS = OPERATIONS | {"input"}
T = TypeVar("T")


class Dispatch(Generic[T]):
    """One case per kind of operation node, checked when the dispatch is built: every pass and
    backend that walks a graph (with `Graph.operations`) builds one, so a new kind (a static
    `if`, a shared module) fails loudly at each of them until it is handled there
    (`torch.fx.Interpreter` in spirit). Input nodes are bound before a walk, never dispatched.

        costs = Dispatch(op=op_costs, call=call_costs, repeat=repeat_costs)
        for node in graph.operations():
            costs(node, ...)
    """

    def __init__(self, **cases: Callable[..., T]) -> None:
        if set(cases) != OPERATIONS:
            raise TypeError(f"a dispatch needs a case for each kind of operation {sorted(OPERATIONS)}, "
                            f"got {sorted(cases)}")
        self.cases = cases

    def __call__(self, node: Node, *args: Any) -> T:
        return self.cases[node.kind](node, *args)


@dataclass
class Node:
    """One operation. `kind` is "input", "op", "call" or "repeat"."""

    id: int
    kind: str
    span: Span
    op: str = ""  # registry name (kind "op") or callee block name (kind "call")
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = "t"  # the variable a person would call its result
    stmt: int = 0  # index of the `.arch` statement it belongs to
    types: list[TensorType] = field(default_factory=list)  # filled by the shape pass
    # made by iteration `i` of `count` of the indexed repeat on line `line` (unrolled when elaborated):
    # (line, i, count); diagrams fold the copies back into one
    unrolled: tuple[int, int, int] | None = None


class Graph:
    """A dataflow region: a block body or a `repeat` body."""

    def __init__(self) -> None:
        self.g = nx.MultiDiGraph()
        self.inputs: list[int] = []  # input node ids, in signature order
        self.outputs: list[Ref] = []
        self.return_span: Span | None = None  # where a block body returns
        self._next = 0

    def add(self, kind: str, span: Span, args: list[Ref] = (), **fields: Any) -> Node:
        if kind not in NODE_KINDS:
            raise ValueError(f"unknown IR node kind {kind!r}")
        node = Node(self._next, kind, span, **fields)
        self._next += 1
        self.g.add_node(node.id, node=node)
        for port, (src, out) in enumerate(args):
            self.g.add_edge(src, node.id, out=out, port=port)
        return node

    def node(self, nid: int) -> Node:
        return self.g.nodes[nid]["node"]

    def args(self, nid: int) -> list[Ref]:
        edges = sorted(self.g.in_edges(nid, data=True), key=lambda e: e[2]["port"])
        return [(u, d["out"]) for u, _, d in edges]

    def type_of(self, ref: Ref) -> TensorType:
        return self.node(ref[0]).types[ref[1]]

    def consumers(self, nid: int) -> list[tuple[int, int, int]]:
        """(consumer id, output index used, port) for every use of `nid`'s outputs."""
        return [(v, d["out"], d["port"]) for _, v, d in self.g.out_edges(nid, data=True)]

    def uses(self, ref: Ref) -> int:
        n = sum(1 for _, out, _ in self.consumers(ref[0]) if out == ref[1])
        return n + self.outputs.count(ref)

    def operations(self) -> Iterator[Node]:
        """The nodes that compute (not the inputs), in `order`."""
        return (n for n in self.order() if n.kind != "input")

    def order(self) -> Iterator[Node]:
        """Nodes in a deterministic topological order (source order among ties)."""
        for nid in nx.lexicographical_topological_sort(self.g):
            yield self.node(nid)

    def replace_uses(self, old: Ref, new: Ref) -> None:
        for _, v, key, d in list(self.g.out_edges(old[0], keys=True, data=True)):
            if d["out"] == old[1]:
                self.g.remove_edge(old[0], v, key)
                self.g.add_edge(new[0], v, out=new[1], port=d["port"])
        self.outputs = [new if r == old else r for r in self.outputs]

    def remove_dead(self, keep: Callable[[Node], bool] = lambda node: False) -> None:
        """Drop nodes whose results nothing uses, except those `keep` says must stay."""
        live = {u for u, _ in self.outputs} | set(self.inputs)
        for nid in list(nx.topological_sort(self.g.reverse(copy=False))):
            if nid not in live and self.g.out_degree(nid) == 0 and not keep(self.node(nid)):
                self.g.remove_node(nid)


@dataclass
class ParamInfo:
    """A static parameter of a block (`D`, `H = 8`, `causal = false`)."""

    name: str
    default: Value | None
    kind: str  # "size" | "bool" | "float"
    span: Span


@dataclass(frozen=True)
class Precondition:
    """`lhs % modulus == 0` (kind "divides"), `lhs == rhs` (kind "equal") or `lhs >= rhs` (kind
    "at_least", a repeat count such as `n - 1`) on sizes."""

    kind: str
    lhs: Size
    rhs: Size
    span: Span
    origin: str = ""  # why: "K = D / H", "residual add", ...

    def holds(self, env: dict[str, int]) -> bool:
        a, b = self.lhs.evaluate(env), self.rhs.evaluate(env)
        if self.kind == "divides":
            return b != 0 and a.denominator == 1 and b.denominator == 1 and int(a) % int(b) == 0
        if self.kind == "at_least":
            return a >= b
        return a == b

    def render(self, symbol=str) -> str:
        op = {"divides": "%", "equal": "==", "at_least": ">="}[self.kind]
        text = f"{_wrap(self.lhs.render(symbol))} {op} {_wrap(self.rhs.render(symbol))}"
        return text + (" == 0" if self.kind == "divides" else "")

    def symbols(self) -> set[str]:
        return self.lhs.symbols() | self.rhs.symbols()

    def subs(self, mapping: dict[str, Size], span: Span) -> Precondition:
        return Precondition(self.kind, self.lhs.subs(mapping), self.rhs.subs(mapping), span,
                            self.origin)

    def __str__(self) -> str:
        return self.render()


def _wrap(text: str) -> str:
    return f"({text})" if " " in text else text


@dataclass
class BlockIR:
    """A block after elaboration: its signature, static parameters and body graph."""

    ast: ast.Block
    params: dict[str, ParamInfo]
    inputs: list[tuple[str, TensorType]]  # declared input types (no broadcast axes yet)
    output_names: list[tuple[str, ...]]  # declared output axis names
    body: Graph
    free: list[str]  # sizes read from input shapes (`T`, `Y`)
    examples: dict[str, Size]  # example sizes of free axes (`Y = 224`)
    preconditions: list[Precondition] = field(default_factory=list)
    outputs: list[TensorType] = field(default_factory=list)  # inferred by the shape pass
    file: str = ""
    contract_by: list[Size | None] = field(default_factory=list)  # each contract's `by`, evaluated
    contract_out_by: list[Size | None] = field(default_factory=list)  # `-> shift(Y) by 2`, evaluated

    @property
    def name(self) -> str:
        return self.ast.name


class BlockTable(Mapping[tuple[str, str], BlockIR]):
    """Every typed block of one compilation by (file, name), callees before callers: what the
    driver hands to passes and backends. Read-only to them; a block's fused graph is made on
    first use and kept, so each block is fused once."""

    def __init__(self, root: str, warnings: list[Diagnostic],
                 fuse: Callable[[BlockIR, BlockTable], Graph]) -> None:
        self.root = root
        self.warnings = warnings
        self._blocks: dict[tuple[str, str], BlockIR] = {}
        self._roots: list[tuple[str, str]] = []
        self._fuse = fuse
        self._fused: dict[tuple[str, str], Graph] = {}

    def _add(self, key: tuple[str, str], block: BlockIR) -> None:
        """The driver's only way in."""
        self._blocks[key] = block

    def __getitem__(self, key: tuple[str, str]) -> BlockIR:
        return self._blocks[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._blocks)

    def __len__(self) -> int:
        return len(self._blocks)

    @property
    def roots(self) -> list[BlockIR]:
        """The blocks the root file defines that compiled, in source order."""
        return [self._blocks[k] for k in self._roots]

    def body(self, block: BlockIR, fused: bool) -> Graph:
        """The block's graph as the backends run it: fused (computed once) or as written."""
        if not fused:
            return block.body
        key = (block.file, block.name)
        if key not in self._fused:
            self._fused[key] = self._fuse(block, self)
        return self._fused[key]
