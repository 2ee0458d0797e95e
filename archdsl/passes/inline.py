"""Inlining: one flat graph for a block, every block call expanded in place and every repeat
with a known count unrolled, for analyses that want to see all operations at once. The
hierarchical IR stays the source of truth for code generation and diagrams, which keep the
block structure.

The flat graph is a valid IR in the inlined block's terms: sizes in every type and attribute
are substituted through each call's bindings, the axes a call broadcasts over are added to the
callee's values (not to its learned constants), and where a call binds axes (`SelfAttention[T = Y]`, `T = (My Mx)`) the
boundary gets the `rename`, `merge` and `split` nodes that say so. A callee's own axis names are
kept inside it (they agree with attributes such as Linear's `D -> F`); a broadcast axis whose
name clashes with one of them is primed (`S'`) across the call. `node.attrs["scope"]` names the
calls a node came through, outermost first. A node whose weights another node of the flat
graph already holds (a use of a named instance, or an op inlined from such a call) has
`attrs["shares"]`, so the flat graph counts every parameter once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable

from .. import static
from ..ir import BlockIR, Dispatch, Graph, Node, Ref
from ..sizes import Size
from ..types import Axis, TensorType
from .binding import CallBinding

if TYPE_CHECKING:
    from ..ir import BlockTable


@dataclass(frozen=True)
class _Frame:
    """How a callee's values, types and scope read in the inlined block's terms."""

    value: Callable[[Any], Any]
    type: Callable[[TensorType], TensorType]
    scope: tuple[str, ...]
    shared: bool = False  # inside a call of a named instance used again: its weights are counted


_TOP = _Frame(lambda v: v, lambda t: t, ())


def inline(table: BlockTable, block: BlockIR, depth: int | None = None) -> Graph:
    """A flat copy of `block.body`: calls expanded down to `depth` levels (all when None), and
    repeats whose count is a constant unrolled. Types are filled in."""
    flat = Graph()
    args = []
    for nid in block.body.inputs:
        src = block.body.node(nid)
        node = flat.add("input", src.span, name=src.name, stmt=src.stmt, types=list(src.types),
                        attrs={**src.attrs, "scope": ()})
        flat.inputs.append(node.id)
        args.append((node.id, 0))
    flat.outputs = _copy(table, block.body, flat, args, _TOP, depth)
    flat.return_span = block.body.return_span
    return flat


def _copy(table: BlockTable, src: Graph, flat: Graph, args: list[Ref], frame: _Frame,
          depth: int | None) -> list[Ref]:
    """Copy `src` into `flat` with its inputs bound to `args`; return the refs of its outputs."""
    refs: dict[Ref, Ref] = {(nid, 0): arg for nid, arg in zip(src.inputs, args)}
    for node in src.operations():
        ins = [refs[r] for r in src.args(node.id)]
        outs = _COPY(node, table, src, flat, ins, frame, depth)
        refs.update({(node.id, i): r for i, r in enumerate(outs)})
    return [refs[r] for r in src.outputs]


def _copy_node(node: Node, table: BlockTable, src: Graph, flat: Graph, ins: list[Ref], frame: _Frame,
               depth: int | None) -> list[Ref]:
    """The node itself, its static values in the new terms (a repeat's body inlined on its own)."""
    attrs = {k: (v if k == "body" else frame.value(v)) for k, v in node.attrs.items()}
    if frame.shared:  # in a flat graph, `shares` None: the weights are those of an earlier copy
        attrs.setdefault("shares", None)
    if node.kind == "repeat":
        attrs["body"] = _flat_body(table, node.attrs["body"], frame, depth)
    new = flat.add(node.kind, node.span, ins, op=node.op, attrs={**attrs, "scope": frame.scope},
                   name=node.name, stmt=node.stmt, types=[frame.type(t) for t in node.types])
    return [(new.id, i) for i in range(len(node.types))]


def _copy_call(node: Node, table: BlockTable, src: Graph, flat: Graph, ins: list[Ref], frame: _Frame,
               depth: int | None) -> list[Ref]:
    if depth == 0:
        return _copy_node(node, table, src, flat, ins, frame, depth)
    return _call(table, src, node, flat, ins, frame, None if depth is None else depth - 1)


def _copy_repeat(node: Node, table: BlockTable, src: Graph, flat: Graph, ins: list[Ref], frame: _Frame,
                 depth: int | None) -> list[Ref]:
    count = frame.value(node.attrs["count"])
    if count.is_const:
        return _unroll(table, node, int(count.const), flat, ins, frame, depth)
    return _copy_node(node, table, src, flat, ins, frame, depth)


_COPY = Dispatch(op=_copy_node, call=_copy_call, repeat=_copy_repeat)


def _flat_body(table: BlockTable, body: Graph, frame: _Frame, depth: int | None) -> Graph:
    """A repeat body whose count stays symbolic, inlined on its own."""
    flat = Graph()
    args = []
    for nid in body.inputs:
        src = body.node(nid)
        node = flat.add("input", src.span, name=src.name, stmt=src.stmt,
                        types=[frame.type(t) for t in src.types], attrs={"scope": frame.scope})
        flat.inputs.append(node.id)
        args.append((node.id, 0))
    flat.outputs = _copy(table, body, flat, args, frame, depth)
    return flat


def _unroll(table: BlockTable, node: Node, count: int, flat: Graph, ins: list[Ref], frame: _Frame,
            depth: int | None) -> list[Ref]:
    """A repeat with a known count as that many copies of its body, carrying values through."""
    current = dict(zip(node.attrs["inputs"], ins))
    for _ in range(count):
        outs = _copy(table, node.attrs["body"], flat, [current[n] for n in node.attrs["inputs"]],
                     frame, depth)
        current.update(zip(node.attrs["carried"], outs))
    return [current[n] for n in node.attrs["carried"]]


def _call(table: BlockTable, src: Graph, call: Node, flat: Graph, ins: list[Ref], outer: _Frame,
          depth: int | None) -> list[Ref]:
    """Expand one call: boundary nodes in, the callee's body, boundary nodes out."""
    binding: CallBinding = call.attrs["binding"]
    callee = table[binding.callee]
    inner = {n for t in callee.inputs for n in t[1].names} | _names(callee.body)
    primes = {n: n + "'" for n in binding.broadcast_names if n in inner}
    frame = _call_frame(binding, callee, primes, outer)
    if "shares" in call.attrs:
        frame = replace(frame, shared=True)
    args = []
    for ref, (_, declared) in zip(ins, callee.inputs):
        args.append(_boundary(flat, call, ref, binding, primes, frame.type(declared), outer.scope, entering=True))
    outs = _copy(table, callee.body, flat, args, frame, depth)
    return [_boundary(flat, call, ref, binding, primes, outer.type(t), outer.scope, entering=False)
            for ref, t in zip(outs, call.types)]


def _boundary(flat: Graph, call: Node, ref: Ref, binding: CallBinding, primes: dict[str, str],
              result: TensorType, scope: tuple[str, ...], entering: bool) -> Ref:
    """The renames, merges and splits that carry a value across a call's axis bindings."""
    here = flat.type_of(ref)
    renames = binding.renames() | primes
    groups = binding.groups()
    steps: list[tuple[str, dict]] = []
    if entering:
        renames = {a: b for a, b in renames.items() if here.axis(a)}
        if renames:
            steps.append(("rename", {"map": renames}))
        steps += [("merge", {"pairs": [(parts, dst)]}) for parts, dst in groups
                  if all(here.axis(p) for p in parts)]
    else:
        back = {b: a for a, b in renames.items() if here.axis(b)}
        steps += [("split", {"pairs": [(dst, parts)], "kw": {}}) for parts, dst in groups if here.axis(dst)]
        if back:
            steps.append(("rename", {"map": back}))
    for i, (op, attrs) in enumerate(steps):
        last = i == len(steps) - 1
        t = result if last else _step_type(flat.type_of(ref), op, attrs)
        node = flat.add("op", call.span, [ref], op=op, attrs={**attrs, "scope": scope, "boundary": call.op},
                        name=call.name, stmt=call.stmt, types=[t])
        ref = (node.id, 0)
    return ref


def _step_type(t: TensorType, op: str, attrs: dict) -> TensorType:
    """The type after one boundary step that is not the last (a rename before a merge)."""
    m = attrs["map"] if op == "rename" else {}
    return t.replace([Axis(m.get(a.name, a.name), a.size) for a in t.axes])


def _call_frame(binding: CallBinding, callee: BlockIR, primes: dict[str, str], outer: _Frame) -> _Frame:
    """The callee's static values through the call's bindings (then the caller's frame), and its
    types with the call's broadcast axes in front."""
    values: dict[str, Any] = binding.statics()
    for p in callee.params.values():
        if p.name not in values and p.default is not None:
            values[p.name] = _subst(p.default, values)
    bcast = [Axis(primes.get(a.name, a.name), a.size) for a in binding.broadcast]

    def value(v: Any) -> Any:
        return outer.value(_subst(v, values))

    def typ(t: TensorType) -> TensorType:
        axes = [Axis(a.name, _subst(a.size, values)) for a in t.axes]
        names = {a.name for a in axes}
        lead = [a for a in bcast if a.name not in names] if t.batch else []  # a Param is not broadcast
        return outer.type(t.replace(lead + axes))

    return _Frame(value, typ, (*outer.scope, callee.name), outer.shared)


def _subst(v: Any, values: dict[str, Any]) -> Any:
    """A static value (size, real expression, option, nested in dicts, lists and tuples) with the
    callee's parameters replaced by what the call binds them to."""
    if isinstance(v, Size):
        return v.subs({k: x for k, x in values.items() if isinstance(x, Size)})
    if isinstance(v, CallBinding):  # a call that stays a call: its sizes in the new terms
        return replace(v, sizes=_subst(v.sizes, values), values=_subst(v.values, values),
                       broadcast=tuple(Axis(a.name, _subst(a.size, values)) for a in v.broadcast))
    if isinstance(v, static.Real):
        if v.op == "param":
            return values.get(v.args[0], v)
        return static.Real(v.op, tuple(_subst(a, values) for a in v.args))
    if isinstance(v, dict):
        return {k: _subst(x, values) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_subst(x, values) for x in v)
    return v


def _names(g: Graph) -> set[str]:
    """Every axis name used inside a graph (and its repeat bodies)."""
    out = set()
    for node in g.order():
        out |= {n for t in node.types for n in t.names}
        if node.kind == "repeat":
            out |= _names(node.attrs["body"])
    return out
