"""Scans along a named axis: the running sum `cumsum` and the first-order linear recurrence
`scan` (`h[t] = a[t] h[t - 1] + b[t]`, the state update of linear attention and selective
state spaces), computed in parallel rather than by a loop over positions. Both are
elementwise arithmetic that `FlopCounterMode` does not count, so their FLOPs are 0."""

from __future__ import annotations

from ..errors import ArchError
from ..types import TensorType
from .base import Op, need_axes, register
from .elementwise import align


def _axis(op: Op, node) -> str:
    if len(node.attrs["axes"]) != 1:
        raise ArchError(f"`{op.name}` runs along one axis", node.span, code="E204",
                        help=f"for example `{op.example}`")
    return node.attrs["axes"][0]


_ORDER = ("everything on other axes", "any action on the scanned axis (each position sees the ones before it)")


@register
class Cumsum(Op):
    name = "cumsum"
    dtypes = frozenset({"float", "int"})
    spec = "axes"
    summary = "running sum along an axis: `y[t] = x[0] + ... + x[t]`"
    example = "c = cumsum[T](x)"
    symmetry_doc = _ORDER

    def symmetry(self, node, rule):
        return rule.mix(node.attrs["axes"], "a running sum depends on the order of positions") or rule.keep()

    def infer(self, node, ins, ctx):
        (x,) = ins
        need_axes(x, (_axis(self, node),), node.span, self.name)
        return x

    def emit(self, node, e):
        return f"{e.arg(0)}.cumsum(dim={e.ins[0].dim(node.attrs['axes'][0])})"


@register
class Scan(Op):
    name = "scan"
    arity = 2
    spec = "axes"
    summary = ("`scan[T](a, b)`: `h[t] = a[t] h[t-1] + b[t]` along T from h = 0; a and b broadcast by "
               "name (a may lack T: a constant decay); parallel, O(T log T) work and O(T) memory")
    example = "h = scan[T](decay, x)"
    helpers = ("_linear_scan",)
    symmetry_doc = _ORDER

    def symmetry(self, node, rule):
        (axis,) = node.attrs["axes"]
        why = "a recurrence depends on the order of positions"
        return rule.mix([axis], why, 0) or rule.mix([axis], why, 1) or rule.align()

    def infer(self, node, ins, ctx):
        a, b = ins
        axis = _axis(self, node)
        need_axes(b, (axis,), node.span, self.name, "second operand (the inputs b)")
        out = align(b, a, node.span, ctx)
        return TensorType(out.axes, out.batch, "float")

    def emit(self, node, e):
        names = list(e.out.names)
        dim = names.index(node.attrs["axes"][0]) - len(names)
        return f"{e.helper('_linear_scan')}({e.broadcast(0)}, {e.broadcast(1)}, {dim})"
