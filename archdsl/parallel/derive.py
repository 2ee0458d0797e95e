"""Derive a tensor-parallel plan from named axes (issue 15).

The user maps axis names to a mesh dimension (`H=tp, F=tp`). Walking every block instance
(each call, each repeat iteration) of the IR, every value carries a layout: replicated, or
split over the tensor-parallel dimension along one named axis. Three rules make the plan:

* a learned op whose *output* gains a mapped axis from a replicated input splits its weight's
  output rows (`Linear[D -> H K]`: column-parallel; `Embedding[V -> D]` mapped on D:
  width-parallel); its result stays split; in the backward, its input's gradient is summed
  over ranks (one all-reduce);
* a learned op whose *input* is split along the axis it contracts splits its weight's input
  columns (`Linear[H K -> D]`: row-parallel; `Embedding` mapped on its vocabulary:
  vocabulary-parallel) and sums the partial results (one all-reduce in the forward);
* every other op must leave a split axis alone (broadcast over it): one that acts on it
  (`softmax[H]`, `LayerNorm[F]`, `sum[H]`) would need a collective the plan does not insert,
  and is refused with the op named (E802).

Megatron's pairing (column then row, two all-reduces per transformer layer) falls out: the
attention's heads and the MLP's width are split by their first Linear and joined by their
last. Sizes read by a module whose values are split (`H` in `SelfAttention`) become local.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..ir import BlockIR, BlockTable, Dispatch, Graph, Node, Precondition, Ref
from ..ops import REGISTRY
from ..sizes import Size
from ..types import TensorType
from .plan import BATCH, Collective, LocalSize, ParallelError, Plan, Split


@dataclass(frozen=True)
class Layout:
    """A value's layout over the tensor-parallel group, and whether gradients reach it."""

    split: str | None = None  # the axis split over the group; None: replicated
    grad: bool = False


@dataclass
class Instance:
    """One block instance being walked: where its module sits and its sizes."""

    block: BlockIR
    env: dict[str, Any]  # its sizes, concrete
    subst: dict[str, Size]  # its size symbols in the root block's terms
    path: tuple[str, ...]  # its module in the generated tree
    mult: int  # independent applications per root example (the broadcast axes of the calls)
    root: bool
    via: str = ""  # where the root block's call that leads here is
    split_sizes: dict[str, Size] = field(default_factory=dict)  # split axis -> its size here
    whole_sizes: list[tuple[Size, Node]] = field(default_factory=list)  # unsplit axes' sizes, where


class Walk:
    """Fills `plan` while walking the block tree once, instance by instance (each call and
    each repeat iteration is its own submodule, so each gets its own records). Reads the IR,
    the call bindings and the weight map only; one `Dispatch` case per kind of node."""

    def __init__(self, table: BlockTable, weights: dict, fuse: bool, plan: Plan) -> None:
        self.table, self.weights, self.fuse, self.plan = table, weights, fuse, plan
        self.mapped = {a for a, d in plan.shard.items() if a != BATCH}
        self.graph = Dispatch(op=self._op, call=self._call, repeat=self._repeat)
        self.seen_requires: set[str] = set()

    # -- instances and graphs ----------------------------------------------------------
    def instance(self, inst: Instance, ins: list[Layout]) -> list[Layout]:
        g = self.table.body(inst.block, self.fuse)
        outs = self.region(inst, g, (), (), ins)
        self._local_sizes(inst)
        return outs

    def region(self, inst: Instance, g: Graph, rpath: tuple[int, ...], iters: tuple[int, ...],
               ins: list[Layout]) -> list[Layout]:
        """Walk one graph (a body or a repeat body); the layouts of its outputs."""
        lay: dict[Ref, Layout] = {(nid, 0): x for nid, x in zip(g.inputs, ins)}
        for nid, x in zip(g.inputs, ins):
            self._note(inst, g.type_of((nid, 0)), x, g.node(nid))
        for node in g.operations():
            args = [lay[r] for r in g.args(node.id)]
            outs = self.graph(node, inst, g, rpath, iters, args)
            for i, x in enumerate(outs):
                lay[(node.id, i)] = x
                self._note(inst, node.types[i], x, node)
        return [lay[r] for r in g.outputs]

    def _note(self, inst: Instance, t: TensorType, x: Layout, node: Node) -> None:
        """Remember which sizes this instance holds split and whole (for local sizes)."""
        for a in t.axes:
            if a.name == x.split:
                inst.split_sizes.setdefault(a.name, a.size)
            else:
                inst.whole_sizes.append((a.size, node))

    def _module(self, inst: Instance, rpath: tuple[int, ...], iters: tuple[int, ...], node: Node) -> tuple[str, ...]:
        """The generated submodule holding `node`'s weights, through the weight map codegen
        records (never a guessed attribute name)."""
        held = self.weights[(inst.block.file, inst.block.name)].get(rpath + (node.id,), [])
        if len(held) != 1:  # codegen keeps each Linear, Embedding and call in one submodule
            raise RuntimeError(f"{_label(node)} in `{inst.block.name}` is held by {held}: a codegen bug")
        return inst.path + (held[0],) + tuple(str(i) for i in iters)

    # -- the three kinds of node ------------------------------------------------------------
    def _op(self, node: Node, inst: Instance, g: Graph, rpath, iters, ins: list[Layout]) -> list[Layout]:
        grad = any(x.grad for x in ins) or REGISTRY[node.op].learned
        if node.op == "Linear":
            out = self._linear(node, inst, g, rpath, iters, ins[0])
        elif node.op == "Embedding":
            out = self._embedding(node, inst, rpath, iters, ins[0])
        else:
            out = self._pointwise(node, inst, g, ins)
        return [replace(out, grad=grad)]

    def _linear(self, node: Node, inst: Instance, g: Graph, rpath, iters, x: Layout) -> Layout:
        inp, out = node.attrs["inp"], node.attrs["out"]
        gained = [a for a in out if a in self.mapped]
        if x.split in inp:  # the contracted features are split: row-parallel, partial sums joined
            self._leading(node, inst, inp, x.split, "input", g.type_of(g.args(node.id)[0]).size(x.split))
            if gained:
                raise ParallelError(f"`{_label(node)}` in `{inst.block.name}` contracts {x.split}, which is "
                                    f"split, and makes {gained[0]}, which is mapped too; split one of them",
                                    node.span, code="E803")
            site = self._split(node, inst, rpath, iters, "rowwise", x.split)
            self._collective("all_reduce", "forward", node.types[0], inst, site)
            return Layout()
        if not gained:
            return self._pointwise(node, inst, g, [x])
        if x.split is not None:
            raise ParallelError(f"`{_label(node)}` in `{inst.block.name}` would split {gained[0]} while its input "
                                f"is split along {x.split}: one mesh dimension splits one axis of a value",
                                node.span, code="E803")
        gather = inst.root and g.outputs.count((node.id, 0)) == 1 and g.uses((node.id, 0)) == 1 and not iters
        outer = self._outer(node, inst, out, gained[0], gather)
        self._leading(node, inst, out[outer[0]:], gained[0], "output", node.types[0].size(gained[0]))
        site = self._split(node, inst, rpath, iters, "gather" if gather else "colwise", gained[0], outer[1])
        if gather:  # the block's result: gathered whole
            self._collective("all_gather", "forward", node.types[0], inst, site)
        if x.grad:
            self._collective("all_reduce", "backward", g.type_of(g.args(node.id)[0]), inst, site)
        return Layout() if gather else Layout(gained[0])

    def _embedding(self, node: Node, inst: Instance, rpath, iters, x: Layout) -> Layout:
        vocab, feat = node.attrs["vocab"], node.attrs["out"]
        if vocab not in self.mapped and feat not in self.mapped:
            return Layout(x.split)
        if x.split is not None:
            raise ParallelError(f"`{_label(node)}` in `{inst.block.name}` looks up indices split along "
                                f"{x.split}; a split table needs whole indices", node.span, code="E803")
        if vocab in self.mapped:  # each rank holds V / tp rows; lookups elsewhere give zeros
            site = self._split(node, inst, rpath, iters, "vocab", vocab)
            self._collective("all_reduce", "forward", node.types[0], inst, site)
            self._require(node, inst, node.attrs["sizes"][0], vocab)
            return Layout()
        self._split(node, inst, rpath, iters, "width", feat)
        self._require(node, inst, node.attrs["sizes"][1], feat)
        return Layout(feat)

    def _pointwise(self, node: Node, inst: Instance, g: Graph, ins: list[Layout]) -> Layout:
        """Any other op: it may broadcast over a split axis, never act on one."""
        splits = {x.split for x in ins} - {None}
        if not splits:
            return Layout()
        if len(splits) > 1:
            raise ParallelError(f"`{_label(node)}` in `{inst.block.name}` combines values split along "
                                f"{' and '.join(sorted(splits))}", node.span, code="E803")
        (axis,) = splits
        if node.kind == "op" and axis in REGISTRY[node.op].acts_on(node):
            raise ParallelError(f"`{_label(node)}` in `{inst.block.name}` acts on {axis}, which is split over "
                                f"`{self.plan.tp}`: it would need a collective the plan does not insert",
                                node.span, code="E802",
                                help=f"do not map {axis}, or map an axis this op broadcasts over")
        args = g.args(node.id)
        for ref, x in zip(args, ins):
            if x.split is None and g.type_of(ref).axis(axis) is not None:
                raise ParallelError(f"`{_label(node)}` in `{inst.block.name}` combines a value split along "
                                    f"{axis} with a whole one that has {axis}", node.span, code="E803",
                                    help="a whole tensor with a split axis (a Param) is not split for you")
        if node.types[0].axis(axis) is None:
            raise ParallelError(f"`{_label(node)}` in `{inst.block.name}` drops {axis}, which is split",
                                node.span, code="E802")
        return Layout(axis)

    def _call(self, node: Node, inst: Instance, g: Graph, rpath, iters, ins: list[Layout]) -> list[Layout]:
        b = node.attrs["binding"]
        callee = self.table[b.callee]
        bcast = {x.split for x in ins if x.split in b.broadcast_names}
        inner_ins = []
        for x, groups, names in zip(ins, b.inputs, b.callee_inputs):
            inner = None
            if x.split is not None and x.split not in bcast:
                inner = _bound(node, x.split, groups, names, callee.name)
            inner_ins.append(Layout(inner, x.grad))
        env = {k: int(v.evaluate(inst.env)) for k, v in b.sizes.items()}
        sub = Instance(callee, env, {k: v.subs(inst.subst) for k, v in b.sizes.items()},
                       self._module(inst, rpath, iters, node), inst.mult * int(b.broadcast_size().evaluate(inst.env)),
                       root=False, via=inst.via or f" (in `{inst.block.name}` through the call at {node.span})")
        outs = self.instance(sub, inner_ins)
        result = []
        for x, groups, names, batched in zip(outs, b.outputs, b.callee_outputs, (t.batch for t in callee.outputs)):
            split = _bound(node, x.split, names, groups, callee.name, back=True) if x.split else None
            if bcast and batched:
                if split is not None:
                    raise ParallelError(f"the call of `{callee.name}` maps over {next(iter(bcast))}, which is split, "
                                        f"and returns a value split along {split}", node.span, code="E803")
                split = next(iter(bcast))
            result.append(Layout(split, x.grad or any(y.grad for y in ins)))
        return result

    def _repeat(self, node: Node, inst: Instance, g: Graph, rpath, iters, ins: list[Layout]) -> list[Layout]:
        body: Graph = node.attrs["body"]
        names, carried = node.attrs["inputs"], node.attrs["carried"]
        values = dict(zip(names, ins))
        for i in range(int(node.attrs["count"].evaluate(inst.env))):
            outs = self.region(inst, body, rpath + (node.id,), iters + (i,), [values[n] for n in names])
            values.update(zip(carried, outs))
        return [values[n] for n in carried]

    # -- records --------------------------------------------------------------------------
    def _split(self, node: Node, inst: Instance, rpath, iters, style: str, axis: str, outer: int = 1) -> Split:
        site = Split(self._module(inst, rpath, iters, node), style, axis, _label(node), node.span, inst.block.name,
                     outer)
        self.plan.splits.append(site)
        return site

    def _outer(self, node: Node, inst: Instance, out: tuple[str, ...], axis: str, gather: bool) -> tuple[int, int]:
        """(index, rows) of the output axes before the split one: a fused projection
        `Linear[D -> R H K]` (q, k and v in one GEMM, timm's layout) splits H inside each of the R
        parts. Its rows are interleaved before sharding so that each rank's contiguous block holds
        its heads of every part, which its local forward reads as `R (H / tp) K`. Only a result
        used locally can be interleaved: a gathered one would come back in the wrong order."""
        i = out.index(axis) if axis in out else 0
        if i == 0 or gather:
            return 0, 1
        rows = 1
        for a in out[:i]:
            rows *= int(node.types[0].size(a).evaluate(inst.env))
        return i, rows

    def _leading(self, node: Node, inst: Instance, group: tuple[str, ...], axis: str, side: str,
                 size: Size) -> None:
        """The split axis must lead its group: the weight's rows are split in equal contiguous
        blocks, which are whole values of the first axis only."""
        if group[0] != axis:
            raise ParallelError(f"`{_label(node)}` in `{inst.block.name}` would split {axis}, which is not the first "
                                f"axis of its {side} `{' '.join(group)}`", node.span, code="E804",
                                help=f"write the {side} as `{' '.join([axis] + [a for a in group if a != axis])}`")
        self._require(node, inst, size, axis)

    def _require(self, node: Node, inst: Instance, size: Size, axis: str) -> None:
        lhs = size.subs(inst.subst)
        pre = Precondition("divides", lhs, Size.of(self.plan.tp), node.span,
                           f"{axis} split at `{_label(node)}`, {node.span.file.rsplit('/', 1)[-1]}:{node.span.line}")
        if str(pre) in self.seen_requires:
            return
        self.seen_requires.add(str(pre))
        self.plan.requires.append(pre)
        n = int(size.evaluate(inst.env))
        if n % self.plan.tp_size:
            raise ParallelError(f"{axis} cannot be split over {self.plan.tp} = {self.plan.tp_size}: "
                                f"it is {n} here (`{pre}` fails){inst.via}", node.span, code="E801",
                                help=f"choose a `{self.plan.tp}` that divides {n}, or do not map {axis}")

    def _collective(self, kind: str, phase: str, t: TensorType, inst: Instance, site: Split) -> None:
        if self.plan.tp_size == 1:
            return  # a group of one exchanges nothing
        numel = 1
        for a in t.axes:
            numel *= int(a.size.evaluate(inst.env))
        # a value without the batch (made from a Param) is computed once, not per application
        self.plan.collectives.append(Collective(kind, phase, numel * (inst.mult if t.batch else 1), site, t.batch))

    def _local_sizes(self, inst: Instance) -> None:
        """Each split size the module reads becomes its per-rank value; a size the module also
        reads for an unsplit axis cannot (E805)."""
        from ..backends.pytorch import size_attributes
        attrs = size_attributes(inst.block)
        for axis, size in inst.split_sizes.items():
            sym = size.as_symbol()
            if sym in inst.block.free:
                continue  # read from the input's (local) shape at run time
            if sym not in inst.block.params:
                raise ParallelError(f"{axis} is split in `{inst.block.name}`, where its size is `{size}`, not one "
                                    "of the block's parameters: its local size cannot be set",
                                    inst.block.ast.name_span, code="E805",
                                    help=f"give `{inst.block.name}` a parameter for the size of {axis}")
            clash = next((n for s, n in inst.whole_sizes if sym in s.symbols()), None)
            if clash is not None:
                raise ParallelError(f"`{inst.block.name}` reads {sym} both for {axis}, which is split, and for a "
                                    f"whole value (`{_label(clash)}`)", clash.span, code="E805",
                                    help=f"split {axis} everywhere in `{inst.block.name}`, or do not map it")
            full = int(inst.env[sym])
            self.plan.local_sizes.append(LocalSize(inst.path, attrs[sym], sym, full, full // self.plan.tp_size))


def _bound(node: Node, axis: str, groups, names, callee: str, back: bool = False) -> str:
    """The name a split axis has on the other side of a call; it must be the same single axis."""
    for grp, name in zip(groups, names):
        grp = grp if isinstance(grp, tuple) else (grp,)
        name = name if isinstance(name, tuple) else (name,)
        if axis in grp:
            if grp != name:
                where = f"{' '.join(grp)} of `{callee}`" if back else f"{' '.join(name)} of `{callee}`"
                raise ParallelError(f"the call binds {axis}, which is split, to {where}: splits follow axis names",
                                    node.span, code="E802", help="call with the split axis under its own name")
            return axis
    raise AssertionError(axis)


def _label(node: Node) -> str:
    if node.kind == "input":
        return f"input {node.name}"
    return REGISTRY[node.op].label(node) if node.kind == "op" else node.op
