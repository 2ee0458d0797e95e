"""The shape pass: propagate named-axis types with exact symbolic sizes through a block,
prove what can be proven and turn the rest into named preconditions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic, warn
from ..errors import ArchError, ArchErrors, Poisoned, ShapeError, Span, raise_all
from ..ir import BlockIR, Graph, Node, Precondition
from ..ops import REGISTRY
from ..sizes import Size, SizeError
from ..types import TensorType
from .binding import bind_call
from .conditions import canonical, implies

if TYPE_CHECKING:
    from ..program import Program


class ShapeContext:
    """What an op's shape rule may ask: sizes of names, proofs, preconditions."""

    def __init__(self, block: BlockIR, warnings: list[Diagnostic] | None = None):
        self.block = block
        self.preconditions: list[Precondition] = []
        self.errors: list[ArchError] = []
        self.warnings = warnings if warnings is not None else []

    def warn(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        warn(self.warnings, code, message, span, help)

    def maybe_size(self, name: str) -> Size | None:
        p = self.block.params.get(name)
        if (p is not None and p.kind == "size") or name in self.block.free:
            return Size.of(name)
        return None

    def axis_size(self, name: str, span: Span) -> Size:
        size = self.maybe_size(name)
        if size is None:
            raise ShapeError(f"axis `{name}` has no known size here", span, code="E312",
                             help=f"declare it as a parameter: `block {self.block.name}[..., {name} = ...]`")
        return size

    def static(self, size: Size, span: Span, what: str) -> None:
        late = size.symbols() - set(self.block.params)
        if late:
            raise ShapeError(f"{what} must be known when the module is built, but it is {size}, "
                             f"which depends on {', '.join(sorted(late))} (read from the input)",
                             span, code="E311", help="make it a block parameter")

    def integral(self, size: Size, span: Span, origin: str) -> None:
        if size.is_integral:
            return
        num, den = size.split_fraction()
        self.require(Precondition("divides", num, den, span, origin))

    def equal(self, a: Size, b: Size, span: Span, origin: str) -> None:
        if a == b:
            return
        self.require(Precondition("equal", a, b, span, origin))

    def require(self, pre: Precondition) -> None:
        """Keep a precondition unless it is proven; refute it when it is a false constant."""
        if pre.kind == "equal":
            diff = pre.lhs - pre.rhs
            if diff == 0:
                return
            if diff.is_const:
                raise ShapeError(f"sizes differ in {pre.origin}: {pre.lhs} vs {pre.rhs}", pre.span,
                                 code="E313")
            exact, divisions = diff.exact()
            if exact == 0:  # equal once the floor divisions are exact: require that instead
                for num, den in divisions:
                    self.require(Precondition("divides", num, den, pre.span, pre.origin))
                return
            # state it without the terms both sides share: `k == 2 * (k // 2) + 1`, not two long sizes
            pos = Size({m: c for m, c in diff.terms if c > 0})
            lhs, rhs = (pos, pos - diff) if pos != 0 else (-diff, Size.of(0))
            pre = Precondition("equal", lhs, rhs, pre.span, pre.origin)
        elif pre.kind == "at_least":
            diff = pre.lhs - pre.rhs
            if diff.is_integral and all(c >= 0 for _, c in diff.terms):
                return  # a sum of products of sizes, which are never negative
            if diff.is_const:
                raise ShapeError(f"{pre.origin}: {pre.lhs} is less than {pre.rhs}", pre.span, code="E324")
        else:
            pre = canonical(pre)
            if (pre.lhs / pre.rhs).is_integral:
                return
            if pre.lhs.is_const and pre.rhs.is_const:
                raise ShapeError(f"{pre.origin}: {pre.lhs} is not divisible by {pre.rhs}", pre.span,
                                 code="E332")
        if any(str(p) == str(pre) or implies(p, pre) for p in self.preconditions):
            return
        self.preconditions = [p for p in self.preconditions if not implies(pre, p)] + [pre]


MAX_ERRORS = 20


def infer_block(block: BlockIR, program: Program, partial: bool = False) -> list[ArchError]:
    """Fill in every node's types, the block's output types and its preconditions.

    An op whose rule fails is reported and its result poisoned (nodes that depend on it are
    skipped), so independent shape errors are all found. `partial`: the block already failed
    to elaborate; return the errors of what did elaborate instead of raising them."""
    ctx = ShapeContext(block, program.warnings)
    infer_graph(block.body, ctx, program)
    if partial:
        return ctx.errors
    raise_all(ctx.errors)
    outs = []
    for ref, names in zip(block.body.outputs, block.output_names):
        t = block.body.type_of(ref)
        if sorted(t.names) != sorted(names):
            node = block.body.node(ref[0])
            raise ShapeError(f"`{block.name}` returns {t}, but its signature says [{', '.join(names)}]",
                             block.body.return_span or node.span, code="E314",
                             help="rename, merge or reduce axes so the names match")
        outs.append(t.replace([t.axis(n) for n in names]))
    block.outputs = outs
    block.preconditions = ctx.preconditions
    return []


def infer_graph(graph: Graph, ctx: ShapeContext, program: Program) -> None:
    """Types for every node in order; a failed node gets no types (poisoned)."""
    for node in graph.order():
        if node.kind == "input":
            continue
        node.types = []
        args = graph.args(node.id)
        if any(not graph.node(r[0]).types for r in args):
            continue  # depends on a failed node: already reported
        ins = [graph.type_of(r) for r in args]
        try:
            if node.kind == "op":
                node.types = [REGISTRY[node.op].infer(node, ins, ctx)]
            elif node.kind == "call":
                node.types = bind_call(node, ins, ctx, program.by_key(node.attrs["callee"]))
            else:
                node.types = infer_repeat(node, ins, ctx, program)
        except Poisoned:
            pass
        except SizeError as err:
            ctx.errors.append(ShapeError(str(err), node.span, code="E331"))
        except ArchError as err:
            ctx.errors.append(err)
        if len(ctx.errors) >= MAX_ERRORS:
            raise ArchErrors(ctx.errors)


def infer_repeat(node: Node, ins: list[TensorType], ctx: ShapeContext, program: Program) -> list[TensorType]:
    ctx.require(Precondition("at_least", node.attrs["count"], Size.of(0), node.span, "a repeat count"))
    body: Graph = node.attrs["body"]
    for nid, t in zip(body.inputs, ins):
        body.node(nid).types = [t]
    infer_graph(body, ctx, program)
    if any(not body.node(r[0]).types for r in body.outputs):
        raise Poisoned()
    outs = []
    for name, ref in zip(node.attrs["carried"], body.outputs):
        before = ins[node.attrs["inputs"].index(name)]
        after = body.type_of(ref)
        if sorted(before.names) != sorted(after.names):
            raise ShapeError(f"`repeat` changes `{name}` from {before} to {after}; a repeated body must "
                             "keep the type of what it carries", node.span, code="E317")
        for a in before.axes:
            ctx.equal(a.size, after.size(a.name), node.span, f"`{name}` carried through repeat")
        outs.append(before)
    return outs
