"""What an op's `emit` may use: its inputs' code in any layout, sizes, submodules, helpers."""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any, Callable

from ... import static
from ...errors import CodegenError
from ...ir import Graph, Node
from ...ops import REGISTRY
from ...ops.base import helper_source
from ...sizes import Size
from ...static import Value
from ...types import TensorType

if TYPE_CHECKING:
    pass


EINSUM_LETTERS = string.ascii_lowercase + string.ascii_uppercase


def arrange(code: str, t: TensorType, order: list[str]) -> str:
    """`code` (laid out as `t`) permuted so its named axes follow `order`."""
    if list(t.names) == order:
        return code
    perm = ([0] if t.batch else []) + [t.dim(n) for n in order]
    return f"{code}.permute({', '.join(map(str, perm))})"


def fsize(w: Any, s: Size) -> str:
    return s.render(w.fsym)


def is_literal(v: Value) -> bool:
    return not static.symbols(v)


def snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


class Emitter:
    """What an op's `emit` may use: its inputs' code in any layout, sizes, submodules."""

    def __init__(self, writer: Any, g: Graph, node: Node, indent: str):
        self.w, self.g, self.node, self.indent = writer, g, node, indent
        self.refs = g.args(node.id)
        self.ins = [g.type_of(r) for r in self.refs]
        self.out = node.types[0]

    def arg(self, i: int, order: list[str] | None = None) -> str:
        code = self.w.code[self.w.slot(self.g, self.refs[i])]
        return code if order is None else arrange(code, self.ins[i], list(order))

    def broadcast(self, i: int, names: list[str] | None = None) -> str:
        """Input `i` laid out to broadcast against a tensor laid out as (batch, *names), the
        output by default: its axes in that order, missing ones as size 1. A batched input
        keeps its leading batch dimension, so even one without named axes, (B,), becomes
        (B, 1, ...) rather than meeting a batch-free operand's last axis."""
        t = self.ins[i]
        names = list(self.out.names) if names is None else names
        rel = [n for n in names if t.axis(n) is not None]
        code = arrange(self.w.code[self.w.slot(self.g, self.refs[i])], t, rel)
        if not t.batch:
            if not rel:
                return code  # batch-free without named axes: a 0-d tensor broadcasts as is
            names = names[names.index(rel[0]):]  # leading size-1 dimensions are implied
        index = ([":"] if t.batch else []) + [":" if n in rel else "None" for n in names]
        while index and index[-1] == ":":
            index.pop()
        return f"{code}[{', '.join(index)}]" if "None" in index else code

    def overwritable(self, i: int, producers: frozenset[str]) -> bool:
        """Whether input `i` may be overwritten in place: a variable holding the fresh result of
        an op in `producers` (ops that keep no reference to their output for backward), read by
        this node alone (an earlier reader may have saved it for its backward), outside a
        `repeat` body. Block inputs and aliases never are."""
        slot = self.w.slot(self.g, self.refs[i])
        node = self.g.node(self.refs[i][0])
        return (self.w.loop is None and self.w.owner.get(slot) == slot and self.g.uses(self.refs[i]) == 1
                and self.w.namer.remaining.get(slot) == 0 and self.w.code.get(slot, "").isidentifier()
                and node.kind == "op" and node.op in producers)

    def unbound(self, i: int, axis: str) -> str | None:
        """Input `i` split along `axis` by one `unbind`, bound to a variable once, when its only
        readers are `select`s of every position of `axis` (q, k, v of a fused projection): autograd
        then stacks one gradient, where three `select`s each pad theirs with zeros and add."""
        ref, size = self.refs[i], self.ins[i].size(axis)
        readers = [self.g.node(c) for c, out, _ in self.g.consumers(ref[0]) if out == ref[1]]
        if not size.is_const or len(readers) != self.g.uses(ref) or any(
                n.kind != "op" or n.op != "select" or list(n.attrs["axes"]) != [axis] for n in readers):
            return None
        if sorted(int(n.attrs["kw"]["index"].const) % int(size.const) for n in readers) != list(range(int(size.const))):
            return None
        slot = self.w.slot(self.g, ref)
        if slot not in self.w.unbound:
            name = self.w.namer.take(f"{self.g.node(ref[0]).name}_parts", object(), 10**9)
            self.w.fwd.append(f"{self.indent}{name} = {self.arg(i)}.unbind({self.ins[i].dim(axis)})")
            self.w.unbound[slot] = name
        return self.w.unbound[slot]

    def size(self, s: Size) -> str:
        return s.render(self.w.fsym)

    def value(self, v: Value) -> str:
        return static.render(v, self.w.fsym)

    def isize(self, s: Size) -> str:
        return s.render(self.w.isym)

    def ivalue(self, v: Value) -> str:
        return static.render(v, self.w.isym)

    def submodule(self, role: str, ctor: str) -> str:
        """A submodule named after its role (`norm`, `proj`, `conv`), prefixed by the variable
        it computes when that says more (`q_proj`), but not by a block input carried through
        (`x = x + ...`) or by the returned value: `norm1`, `norm2`, as people name them."""
        name = self.node.name
        generic = name in ("t", "out") or any(name == n for n, _ in self.w.block.inputs)
        return self.w.submodule(role if generic else f"{name}_{role}", ctor, self.node)

    def helper(self, name: str) -> str:
        """Use the module-level function `name` from the op's `helpers` (emitted once per file)."""
        if name not in REGISTRY[self.node.op].helpers:
            raise CodegenError(f"`{self.node.op}` does not declare the helper `{name}`", code="E501")
        # a leaf for torch.fx: helpers build constants from sizes, which are Proxies while tracing
        self.w.helpers[name] = f"{helper_source(name)}\n\n\ntorch.fx.wrap({name!r})"
        return name

    def constant(self, name: str, ctor: str | Callable[[], str]) -> str | None:
        """A tensor that depends only on the block's sizes, built once in `__init__` as a
        non-persistent buffer (it moves with `.to()`, stays out of the state_dict) and named
        `name`; None inside a `repeat` body, where the op builds it per call. A callable `ctor`
        is asked only when the buffer is made (so a helper it names is emitted only then)."""
        if self.w.loop is not None:
            return None
        ctor = ctor() if callable(ctor) else ctor
        attr, k = name, 1
        while attr in self.w.attrs:
            k += 1
            attr = f"{name}{k}"
        self.w.attrs.add(attr)
        self.w.init.append(f"self.register_buffer({attr!r}, {ctor}, persistent=False)")
        return f"self.{attr}"

    def parameter(self, ctor: str) -> str:
        return self.w.submodule(self.node.name, ctor, self.node)

    def letters(self, names: list[str]) -> dict[str, str]:
        """A distinct einsum subscript per axis: its initial when free, else the next free one of
        the 52 that torch.einsum accepts (a-z, A-Z); `dot` refuses more axes at check time (E360)."""
        out: dict[str, str] = {}
        for n in names:
            if n in out:
                continue
            initial = [c for c in (n[0].lower(), n[0].upper()) if c in EINSUM_LETTERS]
            out[n] = next(c for c in initial + list(EINSUM_LETTERS) if c not in out.values())
        return out

    def batched(self, template: str, x: str, t: TensorType, acted: list[str] | tuple[str, ...],
                want: int) -> str:
        """Apply `template` to `x` (laid out as the other axes of `t`, then `acted`) with exactly
        `want` leading dimensions, flattening or adding leading dimensions as needed."""
        others = [a for a in t.axes if a.name not in acted]
        lead = (["*"] if t.batch else []) + others
        if len(lead) == want:
            return template.format(x)
        if len(lead) < want:
            pad = want - len(lead)
            return template.format(x + ".unsqueeze(0)" * pad) + ".squeeze(0)" * pad
        k = len(lead) - want
        restore = ", ".join(self.size(a.size) for a in lead[1:k + 1])
        return template.format(f"{x}.flatten(0, {k})") + f".unflatten(0, (-1, {restore}))"
