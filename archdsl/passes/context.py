"""What an op's shape rule may ask while the shape pass runs: the size a name has in the
block, whether a size is fixed when the module is built, and the preconditions (proven ones
dropped, false ones refused, implied ones folded)."""

from __future__ import annotations

from ..diagnostics import Diagnostic, warn
from ..errors import ArchError, Poisoned, ShapeError, Span
from ..ir import BlockIR, Precondition
from ..sizes import Size
from .conditions import canonical, implies
from .feasibility import proven


class ShapeContext:
    """What an op's shape rule may ask: sizes of names, proofs, preconditions."""

    def __init__(self, block: BlockIR, warnings: list[Diagnostic] | None = None):
        self.block = block
        self.preconditions: list[Precondition] = []
        self.errors: list[ArchError] = []
        self.warnings = warnings if warnings is not None else []
        # sizes known to be at least 1: those of the input axes (every axis has a position)
        self.node_sizes: dict[str, Size] = {}  # the op being typed sizes these axes (`V = W`)
        self.axis_sizes = {a.size.as_symbol(): 1 for _, t in block.inputs for a in t.axes if a.size.as_symbol()}

    def warn(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        warn(self.warnings, code, message, span, help)

    def maybe_size(self, name: str) -> Size | None:
        if name in self.node_sizes:
            return self.node_sizes[name]
        p = self.block.params.get(name)
        if (p is not None and p.kind == "size") or name in self.block.free:
            return Size.of(name)
        return None

    def axis_size(self, name: str, span: Span) -> Size:
        size = self.maybe_size(name)
        if size is None and any(p.name == name for p in self.block.ast.params):
            raise Poisoned()  # a size parameter whose declaration failed: reported there, not again
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
