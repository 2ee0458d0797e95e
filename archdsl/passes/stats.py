"""Parameter, FLOP and activation counts, symbolic over the IR, evaluated at concrete sizes.

FLOPs are forward FLOPs for one example (broadcast axes of size 1), counted the way
`torch.utils.flop_counter.FlopCounterMode` counts the unfused module: matmuls and
convolutions at 2 per multiply-add (so MACs are half the FLOPs; fvcore reports MACs), everything
else free. "Produced" counts the elements of every tensor the forward pass computes, callees and
repeats included: what an unfused forward materialises, an upper bound on what autograd saves."""

from __future__ import annotations

import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from .. import static
from ..errors import ShapeError
from ..ir import BlockIR, Dispatch, Graph, Node
from ..ops import REGISTRY
from ..sizes import Size, SizeError
from .feasibility import multiple_default, solve_free

if TYPE_CHECKING:
    from ..ir import BlockTable

DEFAULT_FREE_SIZE = 32


@dataclass(frozen=True)
class Costs:
    """What a graph or one node costs, as sizes over its block's symbols (for one example)."""

    params: Size
    flops: Size
    produced: Size  # elements of every tensor computed

    def __add__(self, other: Costs) -> Costs:
        return Costs(self.params + other.params, self.flops + other.flops, self.produced + other.produced)

    def scaled(self, repeats: Size, broadcast: Size | int = 1) -> Costs:
        """Run `repeats` times, each over `broadcast` positions (parameters shared by both)."""
        return Costs(self.params * repeats, self.flops * repeats * broadcast,
                     self.produced * repeats * broadcast)

    def subs(self, sizes: Mapping[str, Size]) -> Costs:
        return Costs(self.params.subs(sizes), self.flops.subs(sizes), self.produced.subs(sizes))


ZERO = Costs(Size.of(0), Size.of(0), Size.of(0))


def graph_costs(table: BlockTable, g: Graph) -> tuple[Size, Size]:
    """(parameters, flops) of a graph, as sizes over the block's symbols (`costs` has more)."""
    c = costs(table, g)
    return c.params, c.flops


def costs(table: BlockTable, g: Graph) -> Costs:
    """The costs of a graph, as sizes over the block's symbols.

    Each graph (a block body, a repeat body) is costed once, symbolically, and a call
    substitutes its bindings into the callee's result, so a file of blocks that each call the
    one before twice costs linear time, not exponential. The walk keeps its own stack: a chain
    of 10,000 blocks, each calling the next, is no deeper for Python than one block."""
    stack = [g]
    while stack:
        top = stack[-1]
        if top in _COSTS:
            stack.pop()
            continue
        todo = [d for d in _subgraphs(table, top) if d not in _COSTS]
        if todo:
            stack += todo
            continue
        _COSTS[top] = _own_costs(table, top, _COSTS)
        stack.pop()
    return _COSTS[g]


# graph -> its Costs; a graph belongs to one table and is not changed once typed (fusion
# changes a copy), so its costs are computed once for every command that asks (docs asks per page)
_COSTS: weakref.WeakKeyDictionary[Graph, Costs] = weakref.WeakKeyDictionary()


def _subgraphs(table: BlockTable, g: Graph) -> list[Graph]:
    """The graphs `g`'s costs depend on: callee bodies and repeat bodies."""
    out = []
    for node in g.order():
        if node.kind == "call":
            out.append(table[node.attrs["callee"]].body)
        elif node.kind == "repeat":
            out.append(node.attrs["body"])
    return out


def _own_costs(table: BlockTable, g: Graph, memo: Mapping[Graph, Costs]) -> Costs:
    """`g`'s costs, given those of every graph it calls or repeats (in `memo`)."""
    total = ZERO
    for node in g.operations():
        total = total + _NODE_COSTS(node, g, table, memo)
    return total


def node_costs(table: BlockTable, g: Graph, node: Node) -> Costs:
    """One operation's costs (a call's or repeat's include everything inside it)."""
    for sub in _subgraphs(table, g):
        costs(table, sub)
    return _NODE_COSTS(node, g, table, _COSTS)


def elements(t) -> Size:
    """How many elements a tensor of type `t` has."""
    n = Size.of(1)
    for a in t.axes:
        n = n * a.size
    return n


def words(t) -> Size:
    """Float32 words a tensor of type `t` takes: a complex element is two (real, imaginary)."""
    return elements(t) * 2 if t.dtype == "complex" else elements(t)


def _op_costs(node: Node, g: Graph, table: BlockTable, memo) -> Costs:
    ins = [g.type_of(r) for r in g.args(node.id)]
    op = REGISTRY[node.op]
    params = Size.of(0)
    for shape in op.parameters(node, ins, node.types[0]).values() if "shares" not in node.attrs else ():
        n = Size.of(1)
        for s in shape:
            n = n * s
        params = params + n
    produced = Size.of(0)
    for t in node.types:
        produced = produced + words(t)
    return Costs(params, op.flops(node, ins, node.types[0]), produced)


def _call_costs(node: Node, g: Graph, table: BlockTable, memo) -> Costs:
    binding = node.attrs["binding"]
    inner = memo[table[node.attrs["callee"]].body].subs(binding.sizes)
    if "shares" in node.attrs:  # a shared instance: its parameters are counted where it is built
        inner = Costs(Size.of(0), inner.flops, inner.produced)
    return inner.scaled(Size.of(1), binding.broadcast_size())


def _repeat_costs(node: Node, g: Graph, table: BlockTable, memo) -> Costs:
    return memo[node.attrs["body"]].scaled(node.attrs["count"])


_NODE_COSTS = Dispatch(op=_op_costs, call=_call_costs, repeat=_repeat_costs)


@contextmanager
def arithmetic_at(block: BlockIR) -> Iterator[None]:
    """Arithmetic that has no answer at concrete sizes (a division by a size given as 0) is an
    error at the block, not a crash."""
    try:
        yield
    except (SizeError, ZeroDivisionError, OverflowError, ValueError) as err:  # ValueError: sqrt(-1)
        raise ShapeError(f"`{block.name}` has no value at these sizes: {err}", block.ast.name_span,
                         code="E331") from None


def resolve_sizes(table: BlockTable, block: BlockIR, given: dict[str, int]) -> dict[str, Any]:
    """Concrete values of every parameter and free size; defaults filled, preconditions checked,
    and every axis of every value in the block (callees included) at least 1."""
    with arithmetic_at(block):
        return _resolve_sizes(table, block, given)


def _resolve_sizes(table: BlockTable, block: BlockIR, given: dict[str, int]) -> dict[str, Any]:
    unknown = set(given) - set(block.params) - set(block.free)
    if unknown:
        known = ", ".join(list(block.params) + block.free)
        raise ShapeError(f"`{block.name}` has no size {', '.join(sorted(unknown))} (it has {known})",
                         block.ast.name_span, code="E334")
    env: dict[str, Any] = {}
    for p in block.params.values():
        if p.name in given:
            env[p.name] = given[p.name]
        elif p.default is None:
            raise ShapeError(f"`{block.name}` needs a value for {p.name}", block.ast.name_span,
                             code="E333", help=f"pass --size {p.name}=N")
        else:
            env[p.name] = static.evaluate(p.default, env)
    for f in block.free:
        ex = block.examples.get(f)
        if f in given or ex is not None:
            env[f] = given.get(f, int(ex.const) if ex is not None else 0)
    env = solve_free(block.preconditions, env, block.free)  # `M == N`, N = 50: M = 50
    for f in block.free:
        if f not in env:
            env[f] = multiple_default(block.preconditions, f, env, DEFAULT_FREE_SIZE)
    for name, value in env.items():
        if isinstance(value, float) and name in block.params and block.params[name].kind == "size":
            raise ShapeError(f"{name} = {value} is not a whole number", block.ast.name_span, code="E332")
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ShapeError(f"{name} = {value} is negative", block.ast.name_span, code="E335")
    for pre in block.preconditions:
        if not pre.holds(env):
            raise ShapeError(f"`{block.name}` requires {pre}" + (f" ({pre.origin})" if pre.origin else "")
                             + f"; got {', '.join(f'{s} = {env[s]}' for s in sorted(pre.symbols()))}",
                             pre.span, code="E336")
    _require_positive(table, block.body, env, block.name)
    return env


def _require_positive(table: BlockTable, g: Graph, env: dict[str, Any], where: str) -> None:
    """Refuse concrete sizes under which some value would have an empty axis (a conv whose
    window no longer fits, a split into zero parts), naming the operation that produces it.

    Each (graph, sizes) pair is checked once, from an explicit worklist, and remembered (docs
    asks for every block of a file): a deep or widely shared call graph costs its number of
    distinct calls, not its number of paths."""
    work, done, checked = [(g, env, where)], set(), []
    while work:
        g, env, where = work.pop()
        key = tuple(sorted(env.items()))
        if key in _POSITIVE.get(g, ()) or (id(g), key) in done:
            continue
        done.add((id(g), key))
        for node in g.order():
            _require_positive_node(node, env, where)
            if node.kind == "call":
                callee = table[node.attrs["callee"]]
                inner = {k: int(v.evaluate(env)) for k, v in node.attrs["binding"].sizes.items()}
                work.append((callee.body, inner, callee.name))
            elif node.kind == "repeat":
                work.append((node.attrs["body"], env, where))
        checked.append((g, key))
    for g, key in checked:  # only once all of them passed
        _POSITIVE.setdefault(g, set()).add(key)


# graph -> the sizes (as sorted items) at which its own nodes have been found non-empty
_POSITIVE: weakref.WeakKeyDictionary[Graph, set[tuple]] = weakref.WeakKeyDictionary()


def _require_positive_node(node: Node, env: dict[str, Any], where: str) -> None:
    for t in node.types:
        for a in t.axes:
            n = a.size.evaluate(env)
            if n < 1:
                got = ", ".join(f"{s} = {env[s]}" for s in sorted(a.size.symbols()) if s in env)
                raise ShapeError(f"at these sizes ({got}), `{where}` would give axis {a.name} the size "
                                 f"{a.size} = {n}; every axis needs at least 1", node.span, code="E337",
                                 help="choose larger inputs or a smaller stride/kernel")


def stats(table: BlockTable, block: BlockIR, given: dict[str, int]) -> dict[str, Any]:
    """Counts and shapes at concrete sizes."""
    with arithmetic_at(block):
        return _stats(table, block, given)


def _stats(table: BlockTable, block: BlockIR, given: dict[str, int]) -> dict[str, Any]:
    env = resolve_sizes(table, block, given)
    params, flops = graph_costs(table, block.body)

    def shape(t) -> list[int]:
        return [int(a.size.evaluate(env)) for a in t.axes]

    return {
        "block": block.name,
        "params": int(params.evaluate(env)),
        "flops": int(flops.evaluate(env)),
        "inputs": {n: shape(t) for n, t in block.inputs},
        "outputs": [shape(t) for t in block.outputs],
        "sizes": {k: v for k, v in env.items() if not isinstance(v, (bool, float))},
    }
