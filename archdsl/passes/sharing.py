"""Shared instances (`qkv(y)` after `Linear[...](x) as qkv`) must fit the weights they share:
after the shape pass, each use's parameter shapes (an op) or static parameters (a block call)
are those of the instance's owner, or the block is refused. Sharing one module between calls
whose weights would differ in shape cannot run, and the interpreter would disagree."""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import BlockIR, Dispatch, Graph, Node
from ..ops import REGISTRY


def check_shared(block: BlockIR) -> None:
    """Raise E371 at the first use of a named instance whose weights differ from its owner's."""
    _walk(block.body, [])


def _walk(g: Graph, outer: list[Graph]) -> None:
    for node in g.operations():
        _CASES(node, g, outer)


def _op(node: Node, g: Graph, outer: list[Graph]) -> None:
    if "shares" in node.attrs:
        owner, og = _owner(node, g, outer)
        if _weights(node, g) != _weights(owner, og):
            _refuse(node, owner, _weights(node, g), _weights(owner, og))


def _call(node: Node, g: Graph, outer: list[Graph]) -> None:
    if "shares" in node.attrs:
        owner, _ = _owner(node, g, outer)
        mine, theirs = _statics(node), _statics(owner)
        if mine != theirs:
            _refuse(node, owner, mine, theirs)


def _repeat(node: Node, g: Graph, outer: list[Graph]) -> None:
    _walk(node.attrs["body"], outer + [g])


_CASES = Dispatch(op=_op, call=_call, repeat=_repeat)


def _owner(node: Node, g: Graph, outer: list[Graph]) -> tuple[Node, Graph]:
    up, nid = node.attrs["shares"]
    og = g if up == 0 else outer[len(outer) - up]
    return og.node(nid), og


def _weights(node: Node, g: Graph) -> dict[str, tuple[str, ...]]:
    ins = [g.type_of(r) for r in g.args(node.id)]
    shapes = REGISTRY[node.op].parameters(node, ins, node.types[0])
    return {k: tuple(str(s) for s in shape) for k, shape in shapes.items()}


def _statics(node: Node) -> dict[str, str]:
    b = node.attrs["binding"]
    statics = b.statics()
    return {k: str(statics[k]) for k in sorted(b.passed)}


def _refuse(node: Node, owner: Node, mine: dict, theirs: dict) -> None:
    label = owner.attrs["label"]
    diff = ", ".join(f"{k}: {mine.get(k, 'none')} here, {theirs.get(k, 'none')} at its definition"
                     for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k))
    raise ShapeError(f"this use of a named instance (`{label}`) would need other weights than it "
                     f"was built with ({diff})", node.span, code="E371",
                     help="call it on values of the same sizes, or build a separate submodule")
