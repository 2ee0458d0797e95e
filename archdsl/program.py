"""The public object returned by `compile_file` / `compile_source`: a thin facade over the
driver's `BlockTable` that names blocks the way a user does and makes the products (generated
source, modules, statistics, diagrams) on request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic
from .driver import compile_text, errors_in_order
from .errors import ArchError, ResolveError, raise_all
from .frontend.loader import BROKEN, read_text
from .ir import BlockIR, BlockTable
from .optional import require


class Program:
    """Every block of a root file and of what it calls, typed."""

    def __init__(self, table: BlockTable, namespace: dict[str, tuple[str, str]], root_names: list[str],
                 errors: list[ArchError], warnings: list[Diagnostic]) -> None:
        self.table = table
        self.root = table.root
        self.errors = errors
        self.warnings = warnings
        self._namespace = namespace
        self._root_names = root_names
        self._generated: dict[bool, Any] = {}  # fuse -> imported generated module
        self._weights: dict[bool, Any] = {}  # fuse -> pytorch.WeightMap

    def block_names(self) -> list[str]:
        return list(self._root_names)

    def block(self, name: str) -> BlockIR:
        """A block of the root file (or one it imports) by name."""
        where = self._namespace.get(name)
        if where is None:
            raise ResolveError(f"no block `{name}`; blocks: {', '.join(self._root_names) or 'none'}",
                               code="E215")
        if where == BROKEN or where not in self.table:
            raise_all(self.errors)
            raise ResolveError(f"block `{name}` did not compile", code="E215")
        return self.table[where]

    def check(self) -> list[BlockIR]:
        """The root file's own blocks; raises every error found in the compilation."""
        raise_all(self.errors)
        return self.table.roots

    # -- products -------------------------------------------------------------------------
    def source(self, fuse: bool = True) -> str:
        """The generated PyTorch module for every block of the root file (and its callees)."""
        from .backends.pytorch import generate
        return generate(self.table, self.check(), fuse=fuse)

    def module(self, block: str, /, fuse: bool = True, **sizes: Any):
        """An instantiated `torch.nn.Module` for `block` with the given static sizes (by their
        names in the spec). The generated source is imported once per program and fuse setting."""
        require("torch", feature="`Program.module`", extra="torch")
        from .backends.pytorch import import_source
        if fuse not in self._generated:
            self._generated[fuse] = import_source(self.source(fuse=fuse))
        return self.instance(self._generated[fuse], block, **sizes)

    def instance(self, generated: Any, block: str, /, **sizes: Any):
        """`block`'s class in `generated` (a module imported from this program's source, perhaps
        instrumented, as `archc profile` does), instantiated with static sizes by spec names."""
        from .backends.pytorch import block_class, emission_order, kwarg_names, python_class_names
        ir = self.block(block)
        classes = python_class_names(emission_order(self.table, self.check()))
        kw = kwarg_names(ir, classes)
        return block_class(generated, classes[(ir.file, ir.name)])(**{kw.get(k, k): v for k, v in sizes.items()})

    def weight_map(self, fuse: bool = False) -> dict:
        """Per block (file, name): IR node path (enclosing repeat ids, node id) -> the attributes
        of the generated module that hold the node's weights (`pytorch.WeightMap`)."""
        from .backends.pytorch import generate
        if fuse not in self._weights:
            self._weights[fuse] = {}
            generate(self.table, self.check(), fuse=fuse, weights=self._weights[fuse])
        return self._weights[fuse]

    def stats(self, block: str, /, **sizes: int) -> dict[str, Any]:
        from .passes.stats import stats
        return stats(self.table, self.block(block), sizes)

    def diagram(self, block: str, /, depth: int = 1, fused: bool = False, **sizes: int):
        """The block's circuit diagram as a `graphviz.Digraph` (`.source` is DOT text); with
        sizes, the others take their defaults and wires show numbers."""
        from .backends.diagram import diagram
        from .passes.stats import resolve_sizes
        ir = self.block(block)
        env = resolve_sizes(self.table, ir, sizes) if sizes else None
        return diagram(self.table, ir, depth=depth, env=env, fused=fused)


def compile_source(text: str, path: str = "<string>") -> Program:
    """Parse and check `.arch` text; raises `ArchError` on any user error."""
    program = build(text, path)
    program.check()
    return program


def build(text: str, path: str = "<string>") -> Program:
    """Like `compile_source`, but errors are kept in `.errors` (and raised by `.check()`):
    the command line reports them together with the warnings."""
    table, sources = compile_text(text, path)
    root_names = [b.name for b in sources.modules[path].blocks]
    return Program(table, sources.namespaces.get(path, {}), root_names,
                   errors_in_order(sources.errors), sources.warnings)


def compile_file(path: str | os.PathLike) -> Program:
    """Parse and check a `.arch` file (imports are resolved relative to it)."""
    p = Path(path)
    return compile_source(read_text(p), os.path.normpath(str(p)))
