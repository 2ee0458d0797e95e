"""Per-layer cost rows of a block at concrete sizes: what `archc stats` prints and `archc profile`
puts next to measured time.

A row is one operation of a block body (an op, a call, a repeat), with the costs of everything
inside it; calls and repeats are opened to `depth` levels, so depth 1 lists the block's own
operations and every deeper level indents the callee's. Conventions, stated once so tables
printed elsewhere can be compared: FLOPs count 2 per multiply-add (as FlopCounterMode; MACs
are FLOPs / 2, as fvcore and ptflops report); activations and traffic are float32 bytes;
traffic is the bytes an operation reads (its inputs and parameters) and writes (its outputs)
once each, the least memory traffic it can have."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Iterator

from ..ir import BlockIR, Dispatch, Graph, Node
from ..ops import REGISTRY
from ..sizes import Size
from .stats import arithmetic_at, costs, node_costs, resolve_sizes, stats, words

if TYPE_CHECKING:
    from ..ir import BlockTable

BYTES = 4  # float32
CONVENTIONS = {
    "flops": "2 per multiply-add, as torch.utils.flop_counter.FlopCounterMode counts",
    "macs": "multiply-adds = FLOPs / 2, as fvcore and ptflops count",
    "activation_bytes": "float32 bytes of every tensor the forward computes",
    "traffic_bytes": "float32 bytes read (inputs, parameters) and written (outputs), once each",
    "intensity": "FLOPs per byte of traffic",
}


@dataclass
class Row:
    """One operation at concrete sizes, for `batch` examples."""

    path: str  # "2" or "2.1": the operation's position among its block's operations, then inside
    depth: int
    layer: str  # what it is: `Linear[D -> H K]`, `SelfAttention`, `repeat × 6`
    block: str  # the block whose body holds it
    line: int  # its statement's line in the block's file
    output: str  # `T=197 × D=768`
    params: int
    flops: int
    activation_bytes: int
    traffic_bytes: int

    @property
    def macs(self) -> int:
        return self.flops // 2

    @property
    def intensity(self) -> float:
        return self.flops / self.traffic_bytes if self.traffic_bytes else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "macs": self.macs, "intensity": round(self.intensity, 3)}


def layer_rows(table: BlockTable, block: BlockIR, env: dict[str, Any], depth: int = 1,
               batch: int = 1) -> list[Row]:
    """The rows of `block`'s body at sizes `env` (from `resolve_sizes`), opened to `depth`."""
    return list(_rows(table, block, block.body, env, depth, batch, prefix="", level=1))


def _rows(table: BlockTable, block: BlockIR, g: Graph, env: dict[str, Any], depth: int,
          scale: int, prefix: str, level: int) -> Iterator[Row]:
    for i, node in enumerate(g.operations(), 1):
        path = f"{prefix}{i}"
        c = node_costs(table, g, node)
        yield Row(path, level, _LAYER(node, table, env), block.name, node.stmt,
                  ", ".join(_shape(t, env) for t in node.types), _at(c.params, env),
                  _at(c.flops, env) * scale, _at(c.produced, env) * scale * BYTES,
                  traffic_bytes(g, node, env, scale, _at(c.params, env)))
        if level < depth:
            yield from _OPEN(node, table, block, env, depth, scale, path + ".", level + 1)


def traffic_bytes(g: Graph, node: Node, env: dict[str, Any], scale: int, params: int) -> int:
    """Bytes `node` reads and writes at least: its inputs and outputs for `scale` examples, and
    its `params` parameters once. A learned constant (`Param[T, D]()`, no inputs) is its
    parameter and `rename` only relabels an axis: neither moves anything."""
    if node.kind == "op" and (node.op == "rename" or (not g.args(node.id) and params)):
        return 0
    ins = sum((words(g.type_of(r)) for r in g.args(node.id)), Size.of(0))
    outs = sum((words(t) for t in node.types), Size.of(0))
    return ((_at(ins, env) + _at(outs, env)) * scale + params) * BYTES


def _op_layer(node: Node, table: BlockTable, env: dict[str, Any]) -> str:
    return REGISTRY[node.op].label(node)


def _call_layer(node: Node, table: BlockTable, env: dict[str, Any]) -> str:
    binding = node.attrs["binding"]
    over = " ".join(a.name for a in binding.broadcast)
    return node.attrs["callee"][1] + (f" (per {over})" if over else "")


def _repeat_layer(node: Node, table: BlockTable, env: dict[str, Any]) -> str:
    """`repeat × 6: EncoderLayer` when the body calls blocks, else `repeat × 6`."""
    callees = [n.attrs["callee"][1] for n in node.attrs["body"].operations() if n.kind == "call"]
    title = f"repeat × {_at(node.attrs['count'], env)}"
    if "branch" in node.attrs:  # a branch of an `if` on block parameters: count 1 where taken
        text, then = node.attrs["branch"]
        title = f"{'if' if then else 'else of'} {text} ({'taken' if _at(node.attrs['count'], env) else 'not taken'})"
    return title + (f": {', '.join(callees)}" if callees else "")


_LAYER = Dispatch(op=_op_layer, call=_call_layer, repeat=_repeat_layer)


def _open_op(node, table, block, env, depth, scale, prefix, level) -> Iterator[Row]:
    return iter(())


def _open_call(node, table, block, env, depth, scale, prefix, level) -> Iterator[Row]:
    binding = node.attrs["binding"]
    callee = table[node.attrs["callee"]]
    inner = {k: _at(v, env) for k, v in binding.sizes.items()}
    per = _at(binding.broadcast_size(), env)
    return _rows(table, callee, callee.body, inner, depth, scale * per, prefix, level)


def _open_repeat(node, table, block, env, depth, scale, prefix, level) -> Iterator[Row]:
    """One iteration's rows (the repeat's own row has them all, × its count)."""
    return _rows(table, block, node.attrs["body"], env, depth, scale, prefix, level)


_OPEN = Dispatch(op=_open_op, call=_open_call, repeat=_open_repeat)


def totals(table: BlockTable, block: BlockIR, env: dict[str, Any], batch: int) -> dict[str, int]:
    """The block's totals (from its own costs, not by adding rows: rows of depth > 1 repeat
    what their parent row already counts)."""
    c = costs(table, block.body)
    flops = _at(c.flops, env) * batch
    return {"params": _at(c.params, env), "flops": flops, "macs": flops // 2,
            "activation_bytes": _at(c.produced, env) * batch * BYTES}


def _shape(t, env: dict[str, Any]) -> str:
    return " × ".join(f"{a.name}={_at(a.size, env)}" for a in t.axes) or "scalar"


def _at(size: Size | int, env: dict[str, Any]) -> int:
    return int(size.evaluate(env)) if isinstance(size, Size) else int(size)


def report(table: BlockTable, block: BlockIR, given: dict[str, int], depth: int = 1,
           batch: int = 1) -> dict[str, Any]:
    """`archc stats`'s report: the totals and shapes of `stats`, the conventions, and the rows."""
    head = stats(table, block, given)
    env = resolve_sizes(table, block, given)
    with arithmetic_at(block):
        rows = layer_rows(table, block, env, depth, batch)
        return {**head, **totals(table, block, env, batch), "batch": batch, "depth": depth,
                "conventions": CONVENTIONS, "rows": [r.as_json() for r in rows]}
