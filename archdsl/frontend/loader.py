"""The front end's loader: a root `.arch` text and, recursively, the files it imports, parsed
(with recovery) into syntax trees and one namespace per file. Nothing here types a block: that
is the elaborator's work, run by the driver."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .. import ast
from ..diagnostics import Diagnostic, warn
from ..errors import ArchError, ArchIOError, ResolveError, UsageError
from ..ops import REGISTRY
from ..resources import data_dir
from ..suggest import did_you_mean
from .parse import parse_recovering

MAX_FILE_BYTES = 2 * 1024 * 1024  # a real spec is a few KB; 2 MiB parses in seconds, not minutes
MAX_IMPORT_DEPTH = 32
BROKEN = ("", "")  # a block that did not parse or import: calls to it are not errors again
Key = tuple[str, str]  # (file key, block name)


class Sources:
    """The parsed files of one compilation: syntax trees, namespaces, loading errors."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.modules: dict[str, ast.Module] = {}  # by path key
        self.namespaces: dict[str, dict[str, Key]] = {}  # file -> name -> (file, block)
        self.warnings: list[Diagnostic] = []
        self.errors: list[ArchError] = []
        self._keys: dict[str, str] = {}  # real path -> key, so a file reached twice loads once
        self._blocks: dict[Key, ast.Block] = {}
        if not root.startswith("<"):
            try:
                self._keys[str(Path(root).resolve())] = root
            except (OSError, RuntimeError, ValueError):  # a NUL byte: no file has that name anyway
                pass

    def load(self, text: str, key: str, loading: tuple[str, ...] = ()) -> ast.Module:
        """Parse a file and (recursively) its imports; errors are collected in `errors`."""
        module, errors, broken = parse_recovering(text, key)
        self.errors += errors
        self.modules[key] = module
        ns: dict[str, tuple[str, str]] = dict.fromkeys(broken, BROKEN)
        for imp in module.imports:
            try:
                self._load_import(imp, key, loading, ns)
            except ArchError as err:
                self.errors.append(err)
                ns.update(dict.fromkeys(imp.names, BROKEN))
        for b in module.blocks:
            if b.name in ns and ns[b.name][0] == key:
                self.errors.append(ResolveError(f"block `{b.name}` is defined twice", b.name_span,
                                                code="E213"))
                continue
            if b.name in ns and ns[b.name] != BROKEN:
                warn(self.warnings, "W202", f"block `{b.name}` shadows the imported `{b.name}`",
                     b.name_span, help="rename one of them")
            if b.name in REGISTRY:
                warn(self.warnings, "W202", f"block `{b.name}` is hidden by the built-in operation "
                     f"`{b.name}`: calls to `{b.name}` use the operation", b.name_span,
                     help="rename the block")
            ns[b.name] = (key, b.name)
            self._blocks[(key, b.name)] = b
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
            if name not in exported and self.namespaces.get(target, {}).get(name) == BROKEN:
                ns[name] = BROKEN  # it failed to parse or import there: reported there
            elif name not in exported:
                raise ResolveError(f"`{imp.module}` has no block `{name}`", imp.span, code="E212",
                                   help=did_you_mean(name, exported, f"it defines: {', '.join(sorted(exported)) or 'nothing'}"))
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
                               help=did_you_mean(imp.module, ['std.' + k for k in known], f"available: {', '.join('std.' + k for k in known)}"))
        return f"<std>/{parts[1]}.arch", path

    def block_ast(self, key: Key) -> ast.Block | None:
        return self._blocks.get(key)

    def root_keys(self) -> list[Key]:
        """The blocks the root file defines itself, in source order."""
        ns = self.namespaces.get(self.root, {})
        return [ns[b.name] for b in self.modules[self.root].blocks if ns.get(b.name, BROKEN)[0] == self.root]

    def direct_callees(self, key: Key) -> list[Key]:
        """The blocks `key` calls (not built-in operations), in source order."""
        block = self._blocks.get(key)
        ns = self.namespaces.get(key[0], {})
        return [ns[f] for f in called_names(block) if f in ns and f not in REGISTRY] if block else []


def called_names(block: ast.Block) -> list[str]:
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


def _read(path: Path, imp: ast.Import) -> str:
    what = not_a_file(path)
    if what:
        raise ArchIOError(f"cannot import `{imp.module}`: {path} {what}", imp.span, code="E602")
    return read_text(path, imp.span)


def read_text(path: Path, span=None) -> str:
    """Read a source file, refusing what cannot be `.arch` text. A missing command-line file
    (no `span`) is a usage error."""
    what = not_a_file(path) if span is None else None
    if what:
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
    return text.removeprefix("\ufeff")  # a UTF-8 byte-order mark, as some Windows editors write


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a source file (None: it is a regular file), precisely: a
    FIFO would block a reader and a device may never end, so neither is opened."""
    try:
        mode = path.stat().st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if path.is_symlink():
            return "is a symbolic link to a missing file"
        return "does not exist" if err.errno == errno.ENOENT else f"cannot be examined ({err.strerror})"
    for test, what in ((stat.S_ISDIR, "is a directory"), (stat.S_ISFIFO, "is a named pipe (FIFO)"),
                       (stat.S_ISCHR, "is a character device"), (stat.S_ISBLK, "is a block device"),
                       (stat.S_ISSOCK, "is a socket")):
        if test(mode):
            return what
    return None


