"""Submodules of an indexed repeat, as lists: `repeat k in 28 { x = WaveNetLayer(x) }` makes
`self.wave_net_layers = nn.ModuleList([...])`, so `state_dict` says `wave_net_layers.3.…`,
as torchvision's and timm's stacks do (`layer1.0`, `blocks.3`), not `wave_net_layer4.…`.

An indexed repeat is unrolled when the block is elaborated (`Node.unrolled`), so its copies
are separate nodes; the copies of one source expression (the same call, at the same place in
the body of the same repeat) share one list, in the order the iterations make them. Each
entry is built with its own iteration's configuration (a DenseNet layer's input channels
grow), so the list is written out entry by entry unless every entry is built alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...ir import Node
from ...names import attr

GroupKey = tuple[int, int, int, int]  # (repeat line, expression line, column, submodule of the node)


@dataclass
class _List:
    attr: str
    at: int  # the `__init__` line that builds the list
    ctors: list[str] = field(default_factory=list)


class IndexedLists:
    """The lists of one generated class, filled while its body is written."""

    def __init__(self) -> None:
        self.lists: dict[GroupKey, _List] = {}

    @staticmethod
    def applies(node: Node, in_loop: bool) -> bool:
        """Whether `node`'s submodules go into a list: made by an indexed repeat that is not
        itself inside a `repeat` loop (whose lists already index by iteration)."""
        return node.unrolled is not None and not in_loop and "shares" not in node.attrs

    def add(self, writer, node: Node, hint: str, ctor: str, ordinal: int) -> tuple[str, str]:
        """(the entry's code, its weight-map path) for the next submodule of `node`."""
        key = (node.unrolled[0], node.span.line, node.span.column, ordinal)
        group = self.lists.get(key)
        if group is None:
            label = node.attrs.get("label")
            name = base = attr(label) if label is not None else attr(hint, plural=True)
            k = 1
            while name in writer.attrs or name in writer.param_attr.values() or \
                    (label is None and name in writer.labels):
                k += 1
                name = f"{base}{k}"
            writer.attrs.add(name)
            group = self.lists[key] = _List(name, len(writer.init))
            writer.init.append(f"# the list {name}")  # written by `finish`, when every entry is known
        group.ctors.append(ctor)
        i = len(group.ctors) - 1
        return f"self.{group.attr}[{i}]", f"{group.attr}.{i}"

    def finish(self, init: list[str]) -> list[str]:
        """`init` with each list's line written: one comprehension when its entries are built
        alike, else one entry per line."""
        by_line = {g.at: g for g in self.lists.values()}
        out: list[str] = []
        for i, line in enumerate(init):
            g = by_line.get(i)
            if g is None:
                out.append(line)
                continue
            kind = "nn.ParameterList" if g.ctors[0].startswith("nn.Parameter(") else "nn.ModuleList"
            if len(set(g.ctors)) == 1:
                out.append(f"self.{g.attr} = {kind}([{g.ctors[0]} for _ in range({len(g.ctors)})])")
            else:
                out += [f"self.{g.attr} = {kind}(["] + [f"    {c}," for c in g.ctors] + ["])"]
        return out
