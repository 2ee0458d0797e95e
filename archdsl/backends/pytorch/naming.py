"""Python names in generated modules that more than one class must agree on: the class of each
block, the constructor keywords of its static parameters, the helper functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...ir import BlockIR
from ...names import attr, ident, unique
from ...ops import REGISTRY

if TYPE_CHECKING:
    pass


def helper_names() -> set[str]:
    """Names of every module-level helper an op may emit (reserved for generated classes)."""
    return {n for op in REGISTRY.values() for n in op.helpers}

def python_class_names(blocks: list[BlockIR]) -> dict[tuple[str, str], str]:
    """The class of each block (in emission order), distinct even when names mangle alike."""
    out: dict[tuple[str, str], str] = {}
    taken = helper_names()
    for b in blocks:
        out[(b.file, b.name)] = ident(b.name, set(out.values()) | taken)
    return out


def kwarg_names(block: BlockIR, classes: dict[tuple[str, str], str]) -> dict[str, str]:
    """The `__init__` keyword of each static parameter; callers use the same map. A keyword
    never takes the name of a generated class, which `__init__` calls (`Inner = 4` beside a
    block `Inner` would make `Inner(...)` call the number)."""
    return unique(block.params, taken=classes.values())


def size_attributes(block: BlockIR) -> dict[str, str]:
    """The attribute of the generated module that holds each static parameter (`self.H`):
    the class reads its sizes there, and `archdsl.parallel` sets local sizes (heads per rank)
    there."""
    return unique(block.params, attr)
