"""A compiled set of `.arch` files: loading with imports, elaboration on demand, and the
public object returned by `compile_file` / `compile_source`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import ast
from .elaborate import elaborate_block
from .errors import ArchIOError, ResolveError
from .ir import BlockIR
from .parse import parse
from .passes.shapes import infer_block
from .resources import data_dir
from .symmetry import validate_contracts

MAX_FILE_BYTES = 16 * 1024 * 1024


class Program:
    """Every block reachable from the root file, by name; elaborated lazily, once."""

    def __init__(self) -> None:
        self.modules: dict[str, ast.Module] = {}  # by path key
        self.namespaces: dict[str, dict[str, tuple[str, str]]] = {}  # file -> name -> (file, block)
        self.root = ""
        self._irs: dict[tuple[str, str], BlockIR] = {}
        self._active: list[tuple[str, str]] = []
        self._generated: dict[bool, Any] = {}  # fuse -> imported generated module

    # -- loading ----------------------------------------------------------------------
    def load(self, text: str, key: str, loading: tuple[str, ...] = ()) -> ast.Module:
        module = parse(text, key)
        self.modules[key] = module
        ns: dict[str, tuple[str, str]] = {}
        for imp in module.imports:
            target, real = self._import_path(imp, key)
            if target in loading or target == key:
                raise ResolveError(f"import cycle: {' -> '.join([*loading, key, target])}", imp.span,
                                   code="E211")
            if target not in self.modules:
                self.load(_read(real, imp), target, (*loading, key))
            exported = {b.name for b in self.modules[target].blocks}
            for name in imp.names:
                if name not in exported:
                    raise ResolveError(f"`{imp.module}` has no block `{name}`", imp.span, code="E212",
                                       help=f"it defines: {', '.join(sorted(exported)) or 'nothing'}")
                ns[name] = (target, name)
        for b in module.blocks:
            if b.name in ns and ns[b.name][0] == key:
                raise ResolveError(f"block `{b.name}` is defined twice", b.name_span, code="E213")
            ns[b.name] = (key, b.name)
        self.namespaces[key] = ns
        return module

    def _import_path(self, imp: ast.Import, importer: str) -> tuple[str, Path]:
        """(the key that names the file in messages, the path to read)."""
        if imp.is_file:
            base = Path(importer).parent if not importer.startswith("<") else Path(".")
            key = os.path.normpath(str(base / imp.module))
            return key, Path(key)
        parts = imp.module.split(".")
        if parts[0] != "std" or len(parts) != 2:
            raise ResolveError(f"unknown module `{imp.module}`", imp.span, code="E214",
                               help="standard modules are `std.<name>`; files are imported as "
                                    '`from "./file.arch" import Block`')
        path = data_dir("stdlib") / f"{parts[1]}.arch"
        if not path.is_file():
            known = sorted(p.stem for p in data_dir("stdlib").glob("*.arch"))
            raise ResolveError(f"no standard module `{imp.module}`", imp.span, code="E214",
                               help=f"available: {', '.join('std.' + k for k in known)}")
        return f"<std>/{parts[1]}.arch", path

    # -- blocks -------------------------------------------------------------------------
    def resolve(self, name: str, file: str) -> BlockIR | None:
        where = self.namespaces.get(file, {}).get(name)
        return self._ir(where) if where else None

    def names(self, file: str) -> list[str]:
        return sorted(self.namespaces.get(file, {}))

    def block(self, name: str, file: str | None = None) -> BlockIR:
        ns = self.namespaces[file or self.root]
        if name not in ns:
            raise ResolveError(f"no block `{name}`; blocks: {', '.join(self.block_names()) or 'none'}",
                               code="E215")
        return self._ir(ns[name])

    def by_key(self, key: tuple[str, str]) -> BlockIR:
        """A block by (file, name), as call nodes record their callee."""
        return self._ir(key)

    def _ir(self, where: tuple[str, str]) -> BlockIR:
        if where in self._irs:
            return self._irs[where]
        file, name = where
        block = next(b for b in self.modules[file].blocks if b.name == name)
        if where in self._active:
            chain = " -> ".join(n for _, n in self._active[self._active.index(where):])
            raise ResolveError(f"block `{name}` calls itself: {chain} -> {name}", block.name_span,
                               code="E216", help="use `repeat` for a stack of layers")
        self._active.append(where)
        try:
            ir = elaborate_block(block, self, file)
            infer_block(ir, self)
            validate_contracts(ir)
        finally:
            self._active.pop()
        self._irs[where] = ir
        return ir

    def block_names(self) -> list[str]:
        return [b.name for b in self.modules[self.root].blocks]

    def check(self) -> list[BlockIR]:
        """Elaborate and shape-check every block of the root file."""
        return [self.block(n) for n in self.block_names()]

    # -- products -------------------------------------------------------------------------
    def source(self, fuse: bool = True) -> str:
        """The generated PyTorch module for every block of the root file (and its callees)."""
        from .pytorch import generate
        return generate(self, self.check(), fuse=fuse)

    def module(self, block: str, fuse: bool = True, **sizes: Any):
        """An instantiated `torch.nn.Module` for `block` with the given static sizes. The
        generated source is imported once per program and fuse setting."""
        from .names import ident
        from .pytorch import block_class, import_source
        if fuse not in self._generated:
            self._generated[fuse] = import_source(self.source(fuse=fuse))
        return block_class(self._generated[fuse], block)(**{ident(k): v for k, v in sizes.items()})

    def stats(self, block: str, **sizes: int) -> dict[str, Any]:
        from .passes.stats import stats
        return stats(self, self.block(block), sizes)

    def diagram(self, block: str, depth: int = 1, fused: bool = False, **sizes: int):
        """The block's circuit diagram as a `graphviz.Digraph` (`.source` is DOT text); with
        sizes, the others take their defaults and wires show numbers."""
        from .diagram import diagram
        from .passes.stats import resolve_sizes
        ir = self.block(block)
        return diagram(self, ir, depth=depth, env=resolve_sizes(self, ir, sizes) if sizes else None, fused=fused)


def _read(path: Path, imp: ast.Import) -> str:
    if not path.is_file():
        what = "a directory" if path.is_dir() else "not found"
        raise ArchIOError(f"cannot import `{imp.module}`: {what}", imp.span, code="E602")
    return read_text(path, imp.span)


def read_text(path: Path, span=None) -> str:
    """Read a source file, refusing what cannot be `.arch` text."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ArchIOError(f"cannot read {path}: {err.strerror}", span, code="E601") from None
    if len(data) > MAX_FILE_BYTES:
        raise ArchIOError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB", span, code="E603")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ArchIOError(f"{path} is not UTF-8 text (byte {err.start})", span, code="E604") from None
    if "\x00" in text:
        raise ArchIOError(f"{path} is a binary file", span, code="E604")
    return text


def compile_source(text: str, path: str = "<string>") -> Program:
    """Parse and check `.arch` text; raises `ArchError` on any user error."""
    program = Program()
    program.root = path
    program.load(text, path)
    program.check()
    return program


def compile_file(path: str | os.PathLike) -> Program:
    """Parse and check a `.arch` file (imports are resolved relative to it)."""
    p = Path(path)
    return compile_source(read_text(p), os.path.normpath(str(p)))
