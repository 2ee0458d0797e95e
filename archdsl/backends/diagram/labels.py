"""The text of a diagram: wire shapes, sizes, titles, hover text and the bindings a folded run
varies in; a mixin of the drawer (it reads the drawer's size environment and table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import graphviz

from ... import static
from ...ir import BlockIR, Node
from ...names import dot_text
from ...passes.stats import graph_costs
from ...sizes import Size, SizeError
from ...types import TensorType
from .pieces import where_text
from .style import small

if TYPE_CHECKING:
    from ...ir import BlockTable


class Labels:
    table: BlockTable
    env: dict[str, int] | None
    _vary: dict[int, dict[str, str]]
    _learned: dict[tuple[str, str], bool]

    def _type(self, t: TensorType, subst: dict[str, Size]) -> str:
        if not t.axes:
            text = "scalar"
        elif self.env is None:
            text = "×".join(t.names)
        else:
            text = " × ".join(self._axis(a.name, a.size, subst) for a in t.axes)
        return text if t.dtype == "float" else f"{text} {t.dtype}"

    def _axis(self, name: str, size: Size, subst: dict[str, Size]) -> str:
        """`D=512`, or `T` where the size is not known."""
        shown = self._size(size, subst)
        return f"{name}={shown}" if shown.isdigit() else name

    def _size(self, size: Size, subst: dict[str, Size]) -> str:
        size = size.subs(subst)
        if self.env is None:
            return str(size)
        try:
            value = size.evaluate(self.env)
        except (KeyError, SizeError):
            return str(size)
        return str(int(value)) if value.denominator == 1 else str(float(value))

    def _value(self, value, subst: dict[str, Size]) -> str:
        """A size evaluated where known (`3`, or `M // 2`), any other static value as written."""
        return self._size(value, subst) if isinstance(value, Size) else static.show(value)

    def _tip(self, node: Node, scope, ins: list[TensorType], costs: tuple[Size, Size],
             times: str | None = None) -> graphviz.nohtml:
        """The hover text: the source line, the shapes in and out, parameters and FLOPs (of the
        first call, for a folded run of `times` calls)."""
        shapes = ", ".join(self._type(t, scope.subst) for t in ins)
        outs = ", ".join(self._type(t, scope.subst) for t in node.types)
        params, flops = (self._size(c, scope.subst) for c in costs)
        lines = [where_text(node, scope.block), f"{shapes} → {outs}", f"parameters {params}, FLOPs {flops}" + (f" (the first of {times})" if times else "")]
        return graphviz.nohtml("&#10;".join(dot_text(line) for line in lines))

    def _call_costs(self, node: Node, callee: BlockIR) -> tuple[Size, Size]:
        p, f = graph_costs(self.table, callee.body)
        binding = node.attrs["binding"]
        return p.subs(binding.sizes), f.subs(binding.sizes) * binding.broadcast_size()

    def _block_title(self, block: BlockIR) -> str:
        def shown(p) -> str:
            if self.env is not None and p.kind == "size" and p.name in self.env:
                return f"{p.name}={self.env[p.name]}"
            return p.name if p.default is None else f"{p.name}={static.show(p.default)}"

        params = ", ".join(shown(p) for p in block.params.values())
        return f"{block.name}[{params}]" if params else block.name

    def _bound(self, node: Node, subst: dict[str, Size]) -> dict[str, str]:
        """Every binding of a call as drawn: its sizes (defaults included, evaluated where the
        sizes are known) and its other static values (defaults included), to compare calls."""
        binding = node.attrs["binding"]
        callee = self.table[node.attrs["callee"]]
        out = {k: self._value(v, subst) for k, v in binding.sizes.items()}
        out.update({p.name: static.show(p.default) for p in callee.params.values()
                    if p.kind != "size" and p.default is not None})
        out.update({k: static.show(v) for k, v in binding.values.items()})
        return out

    def _varies(self, node: Node) -> list[str]:
        """A folded run's bindings that differ between its calls (drawn with the first's sizes)."""
        vary = self._vary.get(id(node)) or {}
        return [small(f"varies: {k} = {v}") for k, v in vary.items()]

    def _call_title(self, node: Node, callee: BlockIR, subst: dict[str, Size], times: str | None = None) -> str:
        vary = self._vary.get(id(node)) or {}
        binds = [f"{k}={'…' if k in vary else self._value(v, subst)}" for k, v in node.attrs["sizes"].items()]
        binds += [f"{k}={' '.join(v) if isinstance(v, tuple) else v}" for k, v in node.attrs["axes"].items()]
        title = f"{callee.name}[{', '.join(binds)}]" if binds else callee.name
        return f"{title} ×{times}" if times else title

    def _learned_block(self, block: BlockIR) -> bool:
        key = (block.file, block.name)
        if key not in self._learned:
            self._learned[key] = graph_costs(self.table, block.body)[0] != 0
        return self._learned[key]
