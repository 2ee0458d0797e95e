"""The PyTorch backend: IR -> one standalone module of `nn.Module` classes.

Python here decides *what* to emit (names, layouts, statements); the Jinja template in
codegen/module.py.j2 decides how the file is laid out. Every tensor in generated code has
exactly one leading batch dimension (all broadcast dimensions flattened at block entry)
followed by its named axes in the order its IR type lists them."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import jinja2

from ...errors import CodegenError
from ...ir import BlockIR, Graph
from ...names import comment
from .imported import import_source
from .naming import helper_names, kwarg_names, python_class_names, size_attributes
from .writer import ClassWriter

if TYPE_CHECKING:
    from ...ir import BlockTable

__all__ = ["WeightMap", "block_class", "emission_order", "generate", "helper_names", "import_source",
           "kwarg_names", "python_class_names", "size_attributes"]


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    from ...resources import data_dir
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("codegen"))),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, autoescape=False)
    return env.get_template("module.py.j2")


WeightMap = dict[tuple[str, str], dict[tuple[int, ...], list[str]]]


def generate(table: BlockTable, roots: list[BlockIR], fuse: bool = True,
             weights: WeightMap | None = None) -> str:
    """Source of a module with a class for each root block and everything it calls. `weights`,
    when given, receives per block the attributes that hold each node's weights (see
    `ClassWriter.weights`), so that the reference interpreter can use the module's parameters."""
    order = emission_order(table, roots)
    class_names = python_class_names(order)
    helpers: dict[str, str] = {}  # module-level functions the ops asked for, by name
    writers = [ClassWriter(table, b, class_names, fuse, helpers) for b in order]
    classes = [w.render() for w in writers]
    if weights is not None:
        weights.update({(b.file, b.name): w.weights for b, w in zip(order, writers)})
    files = sorted({Path(b.file).name for b in roots})
    # `F` is reserved (names.ident renames a spec's `F`), so `F.` in a line is always functional.
    lines = [line for c in classes for line in c["init"] + c["forward"]] + list(helpers.values())
    uses_functional = any(re.search(r"\bF\.", line) for line in lines)
    return _template().render(source=", ".join(comment(f) for f in files), classes=classes,
                              fused=fuse, uses_functional=uses_functional,
                              helpers=[helpers[n] for n in sorted(helpers)])

def emission_order(table: BlockTable, roots: list[BlockIR]) -> list[BlockIR]:
    """`roots` and every block they call, callees first (an explicit stack: call chains of
    any length)."""
    order: list[BlockIR] = []
    seen: set[tuple[str, str]] = set()
    for root in roots:
        if (root.file, root.name) in seen:
            continue
        seen.add((root.file, root.name))
        stack = [(root, iter(_callees(root.body)))]
        while stack:
            block, todo = stack[-1]
            key = next((k for k in todo if k not in seen), None)
            if key is None:
                stack.pop()
                order.append(block)
            else:
                seen.add(key)
                callee = table[key]
                stack.append((callee, iter(_callees(callee.body))))
    return order

def _callees(g: Graph) -> list[tuple[str, str]]:
    out = []
    for n in g.order():
        if n.kind == "call":
            out.append(n.attrs["callee"])
        elif n.kind == "repeat":
            out.extend(_callees(n.attrs["body"]))
    return out


def block_class(module: ModuleType, block: str) -> type:
    """The generated `nn.Module` class named `block` (a Python name: `python_class_names`)."""
    cls = getattr(module, block, None)
    if cls is None:
        raise CodegenError(f"no block `{block}` in the generated module", code="E502")
    return cls


# A value in one generated function: (graph scope, node id, output index). A Ref alone is not
# enough: a `repeat` body is a graph of its own that numbers its nodes from 0 again, so a body
# ref and an outer ref can be equal tuples (that once let a body's result overwrite the name of
# an outer value still in use: `return x * w` came out as `x * x`).
