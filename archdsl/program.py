"""A compiled set of `.arch` files: loading with imports, elaboration on demand, and the
public object returned by `compile_file` / `compile_source`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import ast
from .diagnostics import Diagnostic, warn
from .elaborate import elaborate_partial
from .errors import ArchError, ArchErrors, ArchIOError, Poisoned, ResolveError, UsageError, raise_all
from .ir import BlockIR
from .ops import REGISTRY
from .parse import parse_recovering
from .passes.shapes import infer_block
from .resources import data_dir
from .symmetry import validate_contracts

MAX_FILE_BYTES = 2 * 1024 * 1024  # a real spec is a few KB; 2 MiB parses in seconds, not minutes


MAX_IMPORT_DEPTH = 32
_BROKEN = ("", "")  # a block that did not parse or import: calls to it are not errors again


class Program:
    """Every block reachable from the root file, by name; elaborated lazily, once."""

    def __init__(self) -> None:
        self.modules: dict[str, ast.Module] = {}  # by path key
        self.namespaces: dict[str, dict[str, tuple[str, str]]] = {}  # file -> name -> (file, block)
        self.root = ""
        self.warnings: list[Diagnostic] = []
        self.errors: list[ArchError] = []  # loading errors, then those of failed blocks
        self._irs: dict[tuple[str, str], BlockIR] = {}
        self._failed: set[tuple[str, str]] = set()
        self._active: list[tuple[str, str]] = []
        self._keys: dict[str, str] = {}  # real path -> key, so a file reached twice loads once
        self._generated: dict[bool, Any] = {}  # fuse -> imported generated module
        self._weights: dict[bool, Any] = {}  # fuse -> pytorch.WeightMap

    # -- loading ----------------------------------------------------------------------
    def load(self, text: str, key: str, loading: tuple[str, ...] = ()) -> ast.Module:
        """Parse a file and (recursively) its imports; errors are collected in `errors`."""
        module, errors, broken = parse_recovering(text, key)
        self.errors += errors
        self.modules[key] = module
        ns: dict[str, tuple[str, str]] = dict.fromkeys(broken, _BROKEN)
        for imp in module.imports:
            try:
                self._load_import(imp, key, loading, ns)
            except ArchError as err:
                self.errors.append(err)
                ns.update(dict.fromkeys(imp.names, _BROKEN))
        for b in module.blocks:
            if b.name in ns and ns[b.name][0] == key:
                self.errors.append(ResolveError(f"block `{b.name}` is defined twice", b.name_span,
                                                code="E213"))
                continue
            if b.name in ns and ns[b.name] != _BROKEN:
                warn(self.warnings, "W202", f"block `{b.name}` shadows the imported `{b.name}`",
                     b.name_span, help="rename one of them")
            if b.name in REGISTRY:
                warn(self.warnings, "W202", f"block `{b.name}` is hidden by the built-in operation "
                     f"`{b.name}`: calls to `{b.name}` use the operation", b.name_span,
                     help="rename the block")
            ns[b.name] = (key, b.name)
        self.namespaces[key] = ns
        return module

    def _load_import(self, imp: ast.Import, key: str, loading: tuple[str, ...],
                     ns: dict[str, tuple[str, str]]) -> None:
        target, real = self._import_path(imp, key)
        if target in loading or target == key:
            raise ResolveError(f"import cycle: {' -> '.join([*loading, key, target])}", imp.span,
                               code="E211")
        if target not in self.modules:
            if len(loading) >= MAX_IMPORT_DEPTH:
                raise ResolveError(f"imports nested more than {MAX_IMPORT_DEPTH} files deep", imp.span,
                                   code="E217")
            self.load(_read(real, imp), target, (*loading, key))
        exported = {b.name for b in self.modules[target].blocks}
        for name in imp.names:
            if name not in exported and self.namespaces.get(target, {}).get(name) == _BROKEN:
                ns[name] = _BROKEN  # it failed to parse or import there: reported there
            elif name not in exported:
                raise ResolveError(f"`{imp.module}` has no block `{name}`", imp.span, code="E212",
                                   help=f"it defines: {', '.join(sorted(exported)) or 'nothing'}")
            else:
                ns[name] = (target, name)

    def _import_path(self, imp: ast.Import, importer: str) -> tuple[str, Path]:
        """(the key that names the file in messages, the path to read)."""
        if imp.is_file:
            base = Path(importer).parent if not importer.startswith("<") else Path(".")
            key = os.path.normpath(str(base / imp.module))
            try:
                real = str(Path(key).resolve())
            except (OSError, RuntimeError):
                raise ArchIOError(f"cannot import `{imp.module}`: a symbolic link loop", imp.span,
                                  code="E602") from None
            return self._keys.setdefault(real, key), Path(key)
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
        if where == _BROKEN:
            raise Poisoned()
        return self._ir(where) if where else None

    def names(self, file: str) -> list[str]:
        return sorted(self.namespaces.get(file, {}))

    def block(self, name: str, file: str | None = None) -> BlockIR:
        ns = self.namespaces[file or self.root]
        if name not in ns:
            raise ResolveError(f"no block `{name}`; blocks: {', '.join(self.block_names()) or 'none'}",
                               code="E215")
        try:
            return self._ir(ns[name])
        except Poisoned:
            raise_all(self.errors)
            raise ResolveError(f"block `{name}` did not compile", code="E215") from None

    def by_key(self, key: tuple[str, str]) -> BlockIR:
        """A block by (file, name), as call nodes record their callee."""
        return self._ir(key)

    def _ir(self, where: tuple[str, str]) -> BlockIR:
        """The checked IR of a block; a block that failed raises `Poisoned` (its errors are in
        `errors`, reported once however many blocks call it)."""
        if where in self._irs:
            return self._irs[where]
        if where in self._failed or where == _BROKEN:
            raise Poisoned()
        file, name = where
        block = next(b for b in self.modules[file].blocks if b.name == name)
        if where in self._active:
            chain = " -> ".join(n for _, n in self._active[self._active.index(where):])
            raise ResolveError(f"block `{name}` calls itself: {chain} -> {name}", block.name_span,
                               code="E216", help="use `repeat` for a stack of layers")
        self._active.append(where)
        try:
            for callee in self._callees_first(where):
                try:
                    self._ir(callee)
                except Poisoned:
                    pass
            ir, errors, poisoned = elaborate_partial(block, self, file)
            if errors or poisoned:
                errors += infer_block(ir, self, partial=True)
            raise_all(errors)
            if poisoned:
                raise Poisoned()
            infer_block(ir, self)
            validate_contracts(ir)
        except Poisoned:
            self._failed.add(where)
            raise
        except ArchError as err:
            self._failed.add(where)
            self.errors.append(err)
            raise Poisoned() from None
        finally:
            self._active.pop()
        self._irs[where] = ir
        return ir

    def _callees_first(self, root: tuple[str, str]) -> list[tuple[str, str]]:
        """Blocks that `root` calls, directly or not, callees before callers, found without
        recursion: elaborating them in this order keeps a chain of 10,000 blocks that each
        call the next from exhausting Python's stack."""
        order: list[tuple[str, str]] = []
        state: dict[tuple[str, str], bool] = {root: False}  # False: on the stack, True: done
        stack = [(root, iter(self._direct_callees(root)))]
        while stack:
            where, it = stack[-1]
            nxt = next((c for c in it if c not in state and c not in self._irs and c not in self._failed
                        and c not in self._active), None)
            if nxt is None:
                stack.pop()
                state[where] = True
                if where != root:
                    order.append(where)
            else:
                state[nxt] = False
                stack.append((nxt, iter(self._direct_callees(nxt))))
        return order

    def _direct_callees(self, where: tuple[str, str]) -> list[tuple[str, str]]:
        file, name = where
        if where == _BROKEN or file not in self.modules:
            return []
        block = next((b for b in self.modules[file].blocks if b.name == name), None)
        ns = self.namespaces.get(file, {})
        return [ns[f] for f in _called_names(block) if f in ns and f not in REGISTRY] if block else []

    def block_names(self) -> list[str]:
        return [b.name for b in self.modules[self.root].blocks]

    def check(self) -> list[BlockIR]:
        """Elaborate and shape-check every block of the root file; raise every error found."""
        irs = []
        for n in self.block_names():
            where = self.namespaces[self.root].get(n)
            if where is None or where[0] != self.root:
                continue
            try:
                irs.append(self._ir(where))
            except Poisoned:
                pass
        raise_all(_in_order(self.errors))
        if not self.modules[self.root].blocks:
            warn(self.warnings, "W101", f"{self.root} defines no blocks", None)
        return irs

    # -- products -------------------------------------------------------------------------
    def source(self, fuse: bool = True) -> str:
        """The generated PyTorch module for every block of the root file (and its callees)."""
        from .pytorch import generate
        return generate(self, self.check(), fuse=fuse)

    def module(self, block: str, /, fuse: bool = True, **sizes: Any):
        """An instantiated `torch.nn.Module` for `block` with the given static sizes (by their
        names in the spec). The generated source is imported once per program and fuse setting."""
        from .pytorch import block_class, emission_order, import_source, kwarg_names, python_class_names
        ir = self.block(block)
        if fuse not in self._generated:
            self._generated[fuse] = import_source(self.source(fuse=fuse))
        name = python_class_names(emission_order(self, self.check()))[(ir.file, ir.name)]
        kw = kwarg_names(ir)
        return block_class(self._generated[fuse], name)(**{kw.get(k, k): v for k, v in sizes.items()})

    def weight_map(self, fuse: bool = False) -> dict:
        """Per block (file, name): IR node path (enclosing repeat ids, node id) -> the attributes
        of the generated module that hold the node's weights (`pytorch.WeightMap`)."""
        from .pytorch import generate
        if fuse not in self._weights:
            self._weights[fuse] = {}
            generate(self, self.check(), fuse=fuse, weights=self._weights[fuse])
        return self._weights[fuse]

    def stats(self, block: str, /, **sizes: int) -> dict[str, Any]:
        from .passes.stats import stats
        return stats(self, self.block(block), sizes)

    def diagram(self, block: str, /, depth: int = 1, fused: bool = False, **sizes: int):
        """The block's circuit diagram as a `graphviz.Digraph` (`.source` is DOT text); with
        sizes, the others take their defaults and wires show numbers."""
        from .diagram import diagram
        from .passes.stats import resolve_sizes
        ir = self.block(block)
        return diagram(self, ir, depth=depth, env=resolve_sizes(self, ir, sizes) if sizes else None, fused=fused)


def _called_names(block: ast.Block) -> list[str]:
    """Names of everything `block` calls, in source order (an explicit stack, no recursion)."""
    out: list[str] = []
    stack: list[object] = list(reversed(block.body))
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Call):
            out.append(item.func)
            stack.extend(reversed([*item.args, *(v for _, v in item.kwargs)]))
        elif isinstance(item, ast.BinOp):
            stack += [item.right, item.left]
        elif isinstance(item, ast.Neg):
            stack.append(item.operand)
        elif isinstance(item, ast.Assign):
            stack.append(item.value)
        elif isinstance(item, ast.Return):
            stack.extend(reversed(item.values))
        elif isinstance(item, ast.Repeat):
            stack.extend(reversed(item.body))
    return list(dict.fromkeys(out))


def _in_order(errors: list[ArchError]) -> list[ArchError]:
    """Errors flattened, each once, sorted by file and position (spanless ones first)."""
    flat: list[ArchError] = []
    for e in errors:
        for one in (e.errors if isinstance(e, ArchErrors) else [e]):
            if not isinstance(one, Poisoned) and one not in flat:
                flat.append(one)
    return sorted(flat, key=lambda e: (e.span is not None, e.span.file if e.span else "",
                                       e.span.line if e.span else 0, e.span.column if e.span else 0))


def _read(path: Path, imp: ast.Import) -> str:
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except OSError:
        is_file = is_dir = False
    if not is_file:
        what = "it is a directory" if is_dir else "no such file"
        raise ArchIOError(f"cannot import `{imp.module}`: {what}", imp.span, code="E602")
    return read_text(path, imp.span)


def read_text(path: Path, span=None) -> str:
    """Read a source file, refusing what cannot be `.arch` text. A missing command-line file
    (no `span`) is a usage error."""
    if span is None and not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise UsageError(f"{path} {what}", help="give the path of an .arch file")
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
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
    if not path.startswith("<"):
        program._keys[str(Path(path).resolve())] = path
    program.load(text, path)
    program.check()
    return program


def compile_file(path: str | os.PathLike) -> Program:
    """Parse and check a `.arch` file (imports are resolved relative to it)."""
    p = Path(path)
    return compile_source(read_text(p), os.path.normpath(str(p)))
