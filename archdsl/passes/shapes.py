"""The shape pass: propagate named-axis types with exact symbolic sizes through a block,
prove what can be proven and turn the rest into named preconditions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ArchError, ArchErrors, Poisoned, ShapeError, raise_all
from ..ir import BlockIR, Dispatch, Graph, Node, Precondition
from ..ops import REGISTRY
from ..sizes import Size, SizeError
from ..types import TensorType
from .binding import bind_call
from .context import ShapeContext
from .feasibility import check_feasible, refuted

if TYPE_CHECKING:
    from ..ir import BlockTable


MAX_ERRORS = 20


def infer_block(block: BlockIR, table: BlockTable, partial: bool = False) -> list[ArchError]:
    """Fill in every node's types, the block's output types and its preconditions.

    An op whose rule fails is reported and its result poisoned (nodes that depend on it are
    skipped), so independent shape errors are all found. `partial`: the block already failed
    to elaborate; return the errors of what did elaborate instead of raising them."""
    ctx = ShapeContext(block, table.warnings)
    infer_graph(block.body, ctx, table)
    if partial:
        return ctx.errors
    raise_all(ctx.errors)
    block.outputs = [_declared_output(block, ref, names) for ref, names in zip(block.body.outputs, block.output_names)]
    block.preconditions = ctx.preconditions
    raise_all(check_feasible(block))
    return []


def _declared_output(block: BlockIR, ref: tuple[int, int], names: tuple[str, ...]) -> TensorType:
    """The body's result in the signature's order. An output axis named after a size parameter
    may take another size (`-> [C, Y, X]` returning F channels is `C=F`, DenseNet's layers grow
    C by concatenation), but a body that returns provably fewer positions than the parameter
    says (`Y - 2` for `Y`) is refused: the signature promises positions that do not exist."""
    t = block.body.type_of(ref)
    span = block.body.return_span or block.body.node(ref[0]).span
    if t.dtype == "complex":  # spectra stay inside the block that makes them
        raise ShapeError(f"`{block.name}` returns a complex tensor {t}; a block's results are real", span,
                         code="E382", help="return `real(z)`, `abs(z)` or an inverse transform (`irfft[...](z, n = ...)`)")
    if sorted(t.names) != sorted(names):
        raise ShapeError(f"`{block.name}` returns {t}, but its signature says [{', '.join(names)}]",
                         span, code="E314", help="rename, merge or reduce axes so the names match")
    axes = []
    for n in names:
        got, p = t.axis(n), block.params.get(n)
        fewer = Precondition("at_least", got.size, Size.of(n), span, f"declared output axis {n}")
        if p is not None and p.kind == "size" and got.size != Size.of(n) and refuted(fewer, 1):
            raise ShapeError(f"`{block.name}` returns {n} = {got.size} positions, fewer than its signature's "
                             f"{n}", span, code="E314",
                             help=f"name the output axis otherwise, or make {n} the size the body returns")
        axes.append(got)
    return t.replace(axes)


def _infer_op(node: Node, ins: list[TensorType], ctx: ShapeContext, table: BlockTable) -> list[TensorType]:
    REGISTRY[node.op].check_dtypes(node, ins)
    ctx.node_sizes = node.attrs.get("spec_sizes", {})
    for name, size in ctx.node_sizes.items():
        ctx.integral(size, node.span, f"{name} = {size} in `{node.op}`")
    try:
        return [_distinct(REGISTRY[node.op].infer(node, ins, ctx), node)]
    finally:
        ctx.node_sizes = {}


def _infer_call(node: Node, ins: list[TensorType], ctx: ShapeContext, table: BlockTable) -> list[TensorType]:
    return bind_call(node, ins, ctx, table[node.attrs["callee"]])



def infer_graph(graph: Graph, ctx: ShapeContext, table: BlockTable) -> None:
    """Types for every node in order; a failed node gets no types (poisoned)."""
    for node in graph.operations():
        args = graph.args(node.id)
        if any(not graph.node(r[0]).types for r in args):
            node.types = []
            continue  # depends on a failed node: already reported
        ins = [graph.type_of(r) for r in args]
        node.types = []
        try:
            node.types = _INFER(node, ins, ctx, table)
        except Poisoned:
            pass
        except SizeError as err:
            ctx.errors.append(ShapeError(str(err), node.span, code="E331"))
        except ArchError as err:
            ctx.errors.append(err)
        if len(ctx.errors) >= MAX_ERRORS:
            raise ArchErrors(ctx.errors)


def _distinct(t: TensorType, node: Node) -> TensorType:
    """An op's result names each axis once: `Linear[D -> K K]` would give a tensor that no
    later op could address by name (and the generated code a silently wrong shape)."""
    twice = sorted({n for n in t.names if t.names.count(n) > 1})
    if twice:
        raise ShapeError(f"`{node.op}` would give axis {', '.join(twice)} twice: {t}", node.span, code="E319",
                         help="axes are names: use two names (`K1 K2`)")
    return t


def infer_repeat(node: Node, ins: list[TensorType], ctx: ShapeContext, table: BlockTable) -> list[TensorType]:
    ctx.require(Precondition("at_least", node.attrs["count"], Size.of(0), node.span, "a repeat count"))
    body: Graph = node.attrs["body"]
    for nid, t in zip(body.inputs, ins):
        body.node(nid).types = [t]
    infer_graph(body, ctx, table)
    if any(not body.node(r[0]).types for r in body.outputs):
        raise Poisoned()
    outs = []
    what, code = ("a branch of an `if` on block parameters", "E226") if "branch" in node.attrs else \
        ("a repeated body", "E317")
    for name, ref in zip(node.attrs["carried"], body.outputs):
        before = ins[node.attrs["inputs"].index(name)]
        after = body.type_of(ref)
        if sorted(before.names) != sorted(after.names):
            raise ShapeError(f"`{name}` changes from {before} to {after}; {what} must keep the type of "
                             "what it reassigns", node.span, code=code)
        for a in before.axes:
            grown = Precondition("equal", after.size(a.name), a.size, node.span, f"`{name}` carried through repeat")
            if a.size != after.size(a.name) and refuted(grown, 1):
                raise ShapeError(f"axis {a.name} of `{name}` changes from {a.size} to {after.size(a.name)}; "
                                 f"{what} must keep the type of what it reassigns", node.span, code=code)
            ctx.equal(a.size, after.size(a.name), node.span, f"`{name}` carried through repeat")
        outs.append(before)
    return outs


_INFER = Dispatch(op=_infer_op, call=_infer_call, repeat=infer_repeat)
