"""How a block call binds the callee's signature to its arguments: computed once, by the shape
pass, into one `CallBinding` record per call node that every consumer reads (inlining,
symmetry, code generation, diagrams, costs, the interpreter).

Binding is by name (DESIGN.md 1.4): each axis of the callee's signature is matched to the
caller's axis of the same name, or to the axis or group `(A B)` the call binds it to; every
other axis of the arguments is broadcast, and comes back in front of the outputs' axes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ShapeError
from ..ir import BlockIR, Node
from ..ops.base import prod
from ..sizes import Size
from ..static import Real, Value
from ..types import Axis, TensorType
from .context import ShapeContext

Group = tuple[str, ...]  # the caller's axes one callee axis stands for (one name, or a merge)


@dataclass(frozen=True)
class CallBinding:
    """One call's binding, in the caller's terms.

    `sizes`: every size parameter of the callee (given, read from an argument, or defaulted) as
    a size of the caller, and every flag as 0 or 1 (or the caller's flag it is bound to), for
    the counts of `if` branches decided per instance (`if causal`). `values`: the non-size static parameters the call gives. `passed`: the
    parameters the generated constructor call must receive (given at the call or read from an
    argument's static size), in signature order. `broadcast`: the caller's axes the call maps
    over, in the order every argument is laid out in. `inputs` / `outputs`: for each argument
    and result, the caller's axes (a group each) that stand for the callee's signature axes, in
    the callee's order. `batched`: whether each argument carries the caller's batch."""

    callee: tuple[str, str]
    sizes: dict[str, Size]
    values: dict[str, Value]
    passed: tuple[str, ...]
    broadcast: tuple[Axis, ...]
    inputs: tuple[tuple[Group, ...], ...]
    outputs: tuple[tuple[Group, ...], ...]
    batched: tuple[bool, ...]
    callee_inputs: tuple[tuple[str, ...], ...]  # the callee's signature axes, per argument
    callee_outputs: tuple[tuple[str, ...], ...]  # ... and per result

    @property
    def broadcast_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.broadcast)

    def broadcast_size(self) -> Size:
        """How many independent applications of the callee one example makes."""
        return prod(a.size for a in self.broadcast)

    def statics(self) -> dict[str, Value]:
        """Every static parameter of the callee the call determines: sizes, then other values
        (a flag as the value it is given, not as its 0 or 1)."""
        return {**self.sizes, **self.values}

    def groups(self) -> list[tuple[Group, str]]:
        """(the caller's axes, the callee's axis) for every axis bound to a group of several."""
        out: dict[str, Group] = {}
        for groups, names in zip(self.inputs + self.outputs, self.callee_inputs + self.callee_outputs):
            for grp, name in zip(groups, names):
                if len(grp) > 1:
                    out[name] = grp
        return [(grp, name) for name, grp in out.items()]

    def renames(self) -> dict[str, str]:
        """The caller's axis -> the callee's axis, for every single axis bound under another name."""
        out: dict[str, str] = {}
        for groups, names in zip(self.inputs + self.outputs, self.callee_inputs + self.callee_outputs):
            for grp, name in zip(groups, names):
                if len(grp) == 1 and grp[0] != name:
                    out[grp[0]] = name
        return out

    def caller_axes(self, name: str) -> Group:
        """The caller's axes a signature axis of the callee stands for."""
        for groups, names in zip(self.inputs + self.outputs, self.callee_inputs + self.callee_outputs):
            if name in names:
                return groups[names.index(name)]
        return (name,)


def bind_call(node: Node, ins: list[TensorType], ctx: ShapeContext, callee: BlockIR) -> list[TensorType]:
    """Bind `callee`'s signature to the argument types `ins` by name; record the binding on the
    node (`node.attrs["binding"]`) and return the result types."""
    axis_map: dict[str, str | Group] = dict(node.attrs["axes"])
    given = node.attrs["sizes"]
    sizes: dict[str, Size] = {k: v for k, v in given.items() if callee.params[k].kind == "size"}
    values = {k: v for k, v in given.items() if callee.params[k].kind != "size"}
    read: dict[str, Size] = {}
    for k, v in node.attrs.get("fallback", {}).items():
        if not any(t.axis(axis_map[k]) for t in ins):  # `[D = E]` with no axis E: the size E
            del axis_map[k]
            sizes[k] = read[k] = v
    for k, v in sizes.items():
        if not isinstance(v, Size):
            raise ShapeError(f"`{k}` of `{callee.name}` is a size", node.span, code="E329")
    layouts = [_match(node, callee, pname, ptype, arg, axis_map, sizes, read, ctx)
               for (pname, ptype), arg in zip(callee.inputs, ins)]
    broadcast = _broadcast(node, callee, ins, layouts)
    _defaults(node, callee, sizes, ctx)
    sizes.update(_flags(callee, values))
    for k, v in read.items():
        ctx.static(v, node.span, f"parameter `{k}` of `{callee.name}`")
    for pre in callee.preconditions:
        ctx.require(pre.subs(sizes, node.span))
    outputs, types = [], []
    batched = any(t.batch for t in ins)
    for ot in callee.outputs:
        groups = tuple(_group(axis_map.get(a.name, a.name)) for a in ot.axes)
        axes = list(broadcast) if ot.batch else []  # a result that ignores the inputs is not mapped
        for a, grp in zip(ot.axes, groups):
            size = a.size.subs(sizes)
            if len(grp) > 1:
                parts = [_find(ins, n) for n in grp]
                ctx.equal(size, prod(p.size for p in parts), node.span, f"group {' '.join(grp)}")
                axes.extend(parts)
            else:
                axes.append(Axis(grp[0], size))
        names = [a.name for a in axes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ShapeError(f"the output of `{callee.name}` would have axis {', '.join(dup)} twice "
                             "(once broadcast)", node.span, code="E316", help="rename the broadcast axis first")
        outputs.append(groups)
        types.append(TensorType(tuple(axes), batched and ot.batch, ot.dtype))
    passed = tuple(p for p in callee.params if p in given or p in read)
    node.attrs["binding"] = CallBinding(
        node.attrs["callee"], sizes, values, passed, tuple(broadcast), tuple(layouts), tuple(outputs),
        tuple(t.batch for t in ins), tuple(t.names for _, t in callee.inputs),
        tuple(t.names for t in callee.outputs))
    return types


def _group(target: str | Group) -> Group:
    return target if isinstance(target, tuple) else (target,)


def _match(node: Node, callee: BlockIR, pname: str, ptype: TensorType, arg: TensorType,
           axis_map: dict, sizes: dict[str, Size], read: dict[str, Size], ctx: ShapeContext) -> tuple[Group, ...]:
    """The caller's axes for each axis of one signature input; sizes read from them."""
    if arg.dtype != ptype.dtype:
        raise ShapeError(f"`{callee.name}` takes `{pname}` as {ptype.dtype} tensors, but the argument is "
                         f"{arg.dtype}", node.span, code="E304",
                         help=f"declare its element type in the signature: `{pname}: [...] {arg.dtype}`")
    layout = []
    for a in ptype.axes:
        group = _group(axis_map.get(a.name, a.name))
        missing = [n for n in group if arg.axis(n) is None]
        if missing:
            bound = f" (bound to {' '.join(group)})" if a.name in axis_map else ""
            raise ShapeError(f"`{callee.name}` expects axis {a.name}{bound} in `{pname}`, but the "
                             f"argument has {arg}", node.span, code="E315",
                             help=f"bind it: `{callee.name}[{a.name} = <axis>](...)`")
        size = prod(arg.size(n) for n in group)
        layout.append(group)
        sym = a.size.as_symbol()
        if sym is not None and sym not in sizes:
            sizes[sym] = size
            if sym in callee.params:
                read[sym] = size
        else:
            ctx.equal(a.size.subs(sizes), size, node.span, f"axis {a.name} of `{callee.name}`")
    return tuple(layout)


def _broadcast(node: Node, callee: BlockIR, ins: list[TensorType], layouts: list) -> list[Axis]:
    """The axes the call maps over: every argument axis the signature does not name. Arguments
    may lack some of them (they are then the same at every position), but no two may disagree
    on an axis's size."""
    out: dict[str, Axis] = {}
    for arg, layout in zip(ins, layouts):
        used = {n for grp in layout for n in grp}
        for a in arg.axes:
            if a.name in used:
                continue
            if a.name in out and out[a.name].size != a.size:
                raise ShapeError(f"the arguments of `{callee.name}` broadcast over {a.name} with "
                                 f"different sizes: {out[a.name].size} vs {a.size}", node.span, code="E316")
            out.setdefault(a.name, a)
    bound = {n for layout in layouts for grp in layout for n in grp}
    clash = sorted(set(out) & bound)
    if clash:
        raise ShapeError(f"the arguments of `{callee.name}` use {', '.join(clash)} both as a signature "
                         "axis and as a broadcast axis", node.span, code="E316",
                         help="rename the broadcast axis first")
    return list(out.values())


def _flags(callee: BlockIR, values: dict[str, Value]) -> dict[str, Size]:
    """Each flag of the callee as a size: 1 or 0, or the caller's flag it is bound to (a flag
    given by any other expression is left out; the front end reads flags no other way)."""
    out: dict[str, Size] = {}
    for p in callee.params.values():
        v = values.get(p.name, p.default)
        if p.kind == "bool" and isinstance(v, bool):
            out[p.name] = Size.of(int(v))
        elif p.kind == "bool" and isinstance(v, Real) and v.op == "param":
            out[p.name] = Size.of(v.args[0])
    return out


def _defaults(node: Node, callee: BlockIR, sizes: dict[str, Size], ctx: ShapeContext) -> None:
    """Size parameters neither given nor read take their defaults, in the caller's terms."""
    for p in callee.params.values():
        if p.kind != "size" or p.name in sizes:
            continue
        if p.default is None:
            raise ShapeError(f"cannot infer parameter `{p.name}` of `{callee.name}` from its arguments",
                             node.span, code="E333", help=f"bind it: `{callee.name}[{p.name} = ...](...)`")
        sizes[p.name] = p.default.subs(sizes)
        ctx.integral(sizes[p.name], node.span, f"{p.name} = {p.default} in `{callee.name}`")


def _find(ins: list[TensorType], name: str) -> Axis:
    for t in ins:
        if t.axis(name) is not None:
            return t.axis(name)
    raise AssertionError(name)
