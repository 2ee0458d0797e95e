"""The shape pass: propagate named-axis types with exact symbolic sizes through a block,
prove what can be proven and turn the rest into named preconditions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic, warn
from ..errors import ArchError, ArchErrors, Poisoned, ShapeError, Span, raise_all
from ..ir import BlockIR, Dispatch, Graph, Node, Precondition
from ..ops import REGISTRY
from ..sizes import Size, SizeError
from ..types import TensorType
from .binding import bind_call
from .conditions import canonical, implies
from .feasibility import check_feasible, proven, refuted

if TYPE_CHECKING:
    from ..program import Program


class ShapeContext:
    """What an op's shape rule may ask: sizes of names, proofs, preconditions."""

    def __init__(self, block: BlockIR, warnings: list[Diagnostic] | None = None):
        self.block = block
        self.preconditions: list[Precondition] = []
        self.errors: list[ArchError] = []
        self.warnings = warnings if warnings is not None else []
        # sizes known to be at least 1: those of the input axes (every axis has a position)
        self.axis_sizes = {a.size.as_symbol(): 1 for _, t in block.inputs for a in t.axes if a.size.as_symbol()}

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

    def at_least(self, lhs: Size, rhs: Size, span: Span, origin: str) -> None:
        """An op's rule for its emitted PyTorch to run (`kernel >= 1`): refuted with E306 when
        both sides are numbers, else a precondition unless proven."""
        diff = lhs - rhs
        if diff.is_const and diff.const < 0:
            raise ShapeError(f"{origin}: {lhs} >= {rhs} does not hold", span, code="E306")
        self.require(Precondition("at_least", lhs, rhs, span, origin))

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
            if diff.is_integral and all(c >= 0 for _, c in diff.terms) or proven(pre, self.axis_sizes):
                return  # sizes are never negative, axis sizes at least 1
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


def _infer_op(node: Node, ins: list[TensorType], ctx: ShapeContext, program: Program) -> list[TensorType]:
    REGISTRY[node.op].check_dtypes(node, ins)
    return [_distinct(REGISTRY[node.op].infer(node, ins, ctx), node)]


def _infer_call(node: Node, ins: list[TensorType], ctx: ShapeContext, program: Program) -> list[TensorType]:
    return bind_call(node, ins, ctx, program.by_key(node.attrs["callee"]))



def infer_graph(graph: Graph, ctx: ShapeContext, program: Program) -> None:
    """Types for every node in order; a failed node gets no types (poisoned)."""
    for node in graph.operations():
        args = graph.args(node.id)
        if any(not graph.node(r[0]).types for r in args):
            node.types = []
            continue  # depends on a failed node: already reported
        ins = [graph.type_of(r) for r in args]
        node.types = []
        try:
            node.types = _INFER(node, ins, ctx, program)
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
            grown = Precondition("equal", after.size(a.name), a.size, node.span, f"`{name}` carried through repeat")
            if a.size != after.size(a.name) and refuted(grown, 1):
                raise ShapeError(f"`repeat` changes axis {a.name} of `{name}` from {a.size} to "
                                 f"{after.size(a.name)}; a repeated body must keep the type of what it "
                                 "carries", node.span, code="E317")
            ctx.equal(a.size, after.size(a.name), node.span, f"`{name}` carried through repeat")
        outs.append(before)
    return outs


_INFER = Dispatch(op=_infer_op, call=_infer_call, repeat=infer_repeat)
