"""The interpreter's driver: run a block's IR graph node by node on named tensors.

Node kinds are dispatched through one table, `KINDS`; ops through `cases.OPS`. Calls run the
callee's own graph with the callee's sizes, binding axes as the call's record says; repeats run
their body `count` times. Weights are read from a generated module (through the map the code
generator records, `Program.weight_map`), so that the interpreter and the module compute with
the same parameters; everything else here is independent of the code generator."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from .. import static
from ..ir import BlockIR, Graph, Node
from ..passes.binding import CallBinding
from .base import OPS, InterpretError, OpCall
from .named import NamedTensor


@dataclass
class Frame:
    """One block being run: its IR, its generated module, its sizes."""

    program: Any
    block: BlockIR
    body: Graph
    module: Any  # the block's generated nn.Module (holds the weights)
    env: dict[str, Any]
    run: Runner


@dataclass
class Scope:
    """Where a graph runs: its frame, the enclosing repeats (node ids and current iterations)
    and the graph's arguments."""

    frame: Frame
    path: tuple[int, ...] = ()
    iters: tuple[int, ...] = ()
    args: list[NamedTensor] = field(default_factory=list)

    def held(self, node: Node) -> list[Any]:
        """The objects (submodules, parameters) of the generated module that hold `node`'s
        weights, for the current iteration of every enclosing repeat."""
        wmap = self.frame.run.weights.get((self.frame.block.file, self.frame.block.name), {})
        path, iters = self.path + (node.id,), self.iters
        if "shares" in node.attrs:  # a named instance called again: its owner's weights
            up, owner = node.attrs["shares"]
            path, iters = self.path[:len(self.path) - up] + (owner,), iters[:len(iters) - up]
        out = []
        for attr in wmap.get(path, []):
            obj = functools.reduce(getattr, attr.split("."), self.frame.module)  # `layers.3`: an entry of a list
            for i in iters:
                if not isinstance(obj, (torch.nn.ModuleList, torch.nn.ParameterList)):
                    raise InterpretError(f"`{attr}` of `{self.frame.block.name}` holds one weight for "
                                         "all iterations of a nested repeat", node.span)
                obj = obj[i]
            out.append(obj)
        return out


def binding(node: Node) -> CallBinding:
    """How a call binds its callee: the shape pass's record, read here and nowhere else."""
    return node.attrs["binding"]


class Runner:
    """Runs blocks of one program against one generated module tree."""

    def __init__(self, program: Any, weights: dict, fuse: bool = False, check_types: bool = True):
        self.program, self.weights, self.fuse, self.check_types = program, weights, fuse, check_types

    def body(self, block: BlockIR) -> Graph:
        return self.program.table.body(block, self.fuse)

    def block(self, block: BlockIR, module: Any, args: list[NamedTensor], given: dict[str, Any]) -> list[NamedTensor]:
        env = block_env(block, given, args)
        frame = Frame(self.program, block, self.body(block), module, env, self)
        outs = run_graph(Scope(frame, args=args), frame.body)
        return [o.order(list(t.names)) for o, t in zip(outs, block.outputs)]


def block_env(block: BlockIR, given: dict[str, Any], args: list[NamedTensor]) -> dict[str, Any]:
    """Every parameter (given, else its default) and every free size (read from the arguments);
    the arguments' axes and the block's preconditions checked."""
    env: dict[str, Any] = {}
    for p in block.params.values():
        if p.name in given:
            env[p.name] = given[p.name]
        elif p.default is None:
            raise InterpretError(f"`{block.name}` needs a value for {p.name}", block.ast.span)
        else:
            env[p.name] = static.evaluate(p.default, env)
    for (name, t), x in zip(block.inputs, args):
        for a in t.axes:
            sym = a.size.as_symbol()
            if sym in block.free and sym not in env and x.has(a.name):
                env[sym] = x.size(a.name)
    for (name, t), x in zip(block.inputs, args):
        want = {a.name: int(a.size.evaluate(env)) for a in t.axes}
        got = {n: x.size(n) for n in x.names}
        if want != got:
            raise InterpretError(f"`{block.name}`: argument `{name}` has axes {got}, expected {want}",
                                 block.ast.span)
    for pre in block.preconditions:
        if not pre.holds(env):
            raise InterpretError(f"`{block.name}` requires {pre}", pre.span)
    return env


def run_graph(scope: Scope, g: Graph) -> list[NamedTensor]:
    values: dict[tuple[int, int], NamedTensor] = {}
    for node in g.order():
        handler = KINDS.get(node.kind)
        if handler is None:
            raise InterpretError(f"the interpreter has no case for nodes of kind `{node.kind}`", node.span)
        outs = handler(scope, g, node, [values[r] for r in g.args(node.id)])
        if scope.frame.run.check_types and node.kind != "input":
            for out, t in zip(outs, node.types):
                _check_type(out, t, scope.frame.env, node)
        for i, out in enumerate(outs):
            values[(node.id, i)] = out
    return [values[r] for r in g.outputs]


def _check_type(x: NamedTensor, t, env: dict[str, Any], node: Node) -> None:
    """The checker's type for the node, at these sizes, must be what the interpreter computed."""
    want = {a.name: int(a.size.evaluate(env)) for a in t.axes}
    got = {n: x.size(n) for n in x.names}
    if want != got:
        what = node.op or node.kind
        raise InterpretError(f"`{what}`: the checker predicts axes {want}, the interpreter computed {got}",
                             node.span)


def _input(scope: Scope, g: Graph, node: Node, ins: list[NamedTensor]) -> list[NamedTensor]:
    return [scope.args[g.inputs.index(node.id)]]


def _op(scope: Scope, g: Graph, node: Node, ins: list[NamedTensor]) -> list[NamedTensor]:
    case = OPS.get(node.op)
    if case is None:
        raise InterpretError(f"the interpreter has no case for op `{node.op}`", node.span)
    call = OpCall(node, scope.frame.env, scope.held(node), scope.frame.module.training)
    return [case(call, *ins)]


def _call(scope: Scope, g: Graph, node: Node, ins: list[NamedTensor]) -> list[NamedTensor]:
    b = binding(node)
    run, env = scope.frame.run, scope.frame.env
    callee = scope.frame.program.table[b.callee]
    (module,) = scope.held(node)
    given = {k: int(v.evaluate(env)) for k, v in b.sizes.items() if k in callee.params
             and callee.params[k].kind == "size"}  # flags (also in `sizes`, as 0 or 1) come as given
    given.update({k: static.evaluate(v, env) for k, v in b.values.items() if k not in given})
    args = [_enter(x, layout, list(b.broadcast_names), tuple(a.name for a in t.axes))
            for x, layout, (_, t) in zip(ins, b.inputs, callee.inputs)]
    outs = run.block(callee, module, args, given)
    sizes = {n: x.size(n) for x in ins for n in x.names}
    return [_leave(o, b, sizes) for o in outs]


def _enter(x: NamedTensor, layout: tuple[tuple[str, ...], ...], bcast: list[str], names: tuple[str, ...]) -> NamedTensor:
    """A caller's argument as the callee sees it: the broadcast axes become leading dimensions
    (size 1 where this argument lacks one), each group of caller axes one flattened axis."""
    present = [n for n in bcast if x.has(n)]
    bound = [n for grp in layout for n in grp]
    if sorted(present + bound) != sorted(x.names):
        raise InterpretError(f"an argument with axes {x.names} is bound as {bound}, broadcast over {bcast}")
    y = x.order(present + bound)
    data, pos = y.data, x.lead + len(present)
    for grp in layout:
        data = data.flatten(pos, pos + len(grp) - 1)
        pos += 1
    for i, n in enumerate(bcast):
        if n not in present:
            data = data.unsqueeze(x.lead + i)
    return NamedTensor(data, names)


def _leave(out: NamedTensor, b: CallBinding, sizes: dict[str, int]) -> NamedTensor:
    """A callee's result in the caller's axes: the trailing leading dimensions are the broadcast
    axes again, callee axes renamed back, groups unflattened."""
    bcast = list(b.broadcast_names)
    nb = len(bcast)
    data = out.data
    while data.dim() - len(out.names) < nb:
        data = data.unsqueeze(0)
    if nb:
        lead = data.dim() - len(out.names)
        data = data.expand(*data.shape[:lead - nb], *(sizes[n] for n in bcast), *data.shape[lead:])
    names: list[str] = list(bcast)
    lead = data.dim() - len(out.names)
    for i in reversed(range(len(out.names))):  # from the last: earlier positions stay valid
        target = b.caller_axes(out.names[i])
        if len(target) > 1:
            data = data.unflatten(lead + i, tuple(sizes[n] for n in target))
    for n in out.names:
        names += list(b.caller_axes(n))
    return NamedTensor(data, tuple(names))


def _repeat(scope: Scope, g: Graph, node: Node, ins: list[NamedTensor]) -> list[NamedTensor]:
    body: Graph = node.attrs["body"]
    names, carried = node.attrs["inputs"], node.attrs["carried"]
    values = dict(zip(names, ins))
    for i in range(int(node.attrs["count"].evaluate(scope.frame.env))):
        inner = Scope(scope.frame, scope.path + (node.id,), scope.iters + (i,), [values[n] for n in names])
        values.update(zip(carried, run_graph(inner, body)))
    return [values[n] for n in carried]


KINDS: dict[str, Callable[[Scope, Graph, Node, list[NamedTensor]], list[NamedTensor]]] = {
    "input": _input, "op": _op, "call": _call, "repeat": _repeat}


def interpret(program: Any, block: str, module: Any, *inputs: torch.Tensor, fuse: bool = False,
              check_types: bool = True, **sizes: Any) -> list[torch.Tensor]:
    """Run `block` of `program` on `inputs` (each laid out as (*broadcast dims, *declared axes)),
    with the weights of `module` (built by `program.module(block, fuse=False, **sizes)`) and the
    static `sizes` the module was built with. Returns the outputs, laid out as declared.
    `fuse`: run the fused graph (the `attention` kernel...) instead of the literal one.
    `check_types`: require every node's value to have the axes and sizes the checker predicts."""
    ir = program.block(block)
    runner = Runner(program, program.weight_map(fuse=fuse), fuse, check_types)
    args = [NamedTensor(x, tuple(a.name for a in t.axes)) for x, (_, t) in zip(inputs, ir.inputs)]
    return [o.data for o in runner.block(ir, module, args, sizes)]
