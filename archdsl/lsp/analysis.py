"""What the language server knows about one document: the result of one check (the driver's
`BlockTable`, the loaded sources, every diagnostic) and an index of it by position, built once
per check so that hover, definition and completion answer from memory (no re-check per request).

Positions here are 1-based lines and columns, like `Span`; the server converts to LSP's 0-based."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from .. import ast
from ..diagnostics import Diagnostic, capture, of_error
from ..driver import compile_text, errors_in_order
from ..errors import ArchError, Span
from ..ir import BlockIR, Graph, Node
from ..resources import data_dir

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
STD_PREFIX = "<std>/"


def real_path(file: str) -> str:
    """The file a span's `file` names on disk (`<std>/nn.arch` is the packaged standard library)."""
    if file.startswith(STD_PREFIX):
        return str(data_dir("stdlib") / file[len(STD_PREFIX):])
    return file


def _contains(span: Span, line: int, col: int) -> bool:
    return (span.line, span.column) <= (line, col) < (span.end_line, span.end_column)


def _size(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column)


@dataclass
class Assignment:
    """`a, b = value`: where its targets get a type (the node that computes the value)."""

    names: tuple[str, ...]
    span: Span  # the whole statement
    node: Node | None  # None when the value is a bare name (`y = x`)
    source: str | None = None  # that bare name
    value_start: tuple[int, int] = (0, 0)  # where the value begins (the targets lie before it)

    def visible(self, line: int, col: int) -> bool:
        """Whether a read at the position sees this assignment (it ended before, or the
        position is on its targets)."""
        end = (self.span.end_line, self.span.end_column)
        return end <= (line, col) or (self.span.line, self.span.column) <= (line, col) < self.value_start


@dataclass
class BlockIndex:
    """One block of the document: its AST, its typed IR (None when it did not compile) and its
    nodes and assignments sorted by position."""

    ast: ast.Block
    ir: BlockIR | None
    nodes: list[Node] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)

    def node_at(self, line: int, col: int) -> Node | None:
        """The innermost operation whose source contains the position."""
        hits = [n for n in self.nodes if n.kind != "input" and _contains(n.span, line, col)]
        return min(hits, key=lambda n: _size(n.span), default=None)

    def value_of(self, name: str, line: int, col: int, seen: frozenset = frozenset()):
        """(type, where it was defined) of the variable `name` as read at the position: the
        latest assignment to it that starts before, or the block's input."""
        starts = [(a.span.line, a.span.column) for a in self.assignments]
        for a in reversed(self.assignments[:bisect.bisect_right(starts, (line, col))]):
            if name in a.names and name not in seen and a.visible(line, col):
                if a.node is not None and len(a.node.types) > a.names.index(name) and a.node.kind != "input":
                    return a.node.types[a.names.index(name)], a.span
                if a.source is not None:
                    return self.value_of(a.source, a.span.line, a.span.column, seen | {name})[0], a.span
                return None, a.span
        if self.ir is not None:
            for (n, t), p in zip(self.ir.inputs, self.ast.inputs):
                if n == name:
                    return t, p.span
        return None, None


class Analysis:
    """One check of one document (the text the editor holds, not the file on disk)."""

    def __init__(self, text: str, path: str) -> None:
        self.text, self.path = text, path
        self.lines = text.splitlines()
        self.table, self.sources, errors = None, None, []
        with capture() as warnings:
            try:
                self.table, self.sources = compile_text(text, path)
                errors = self.sources.errors
            except ArchError as err:  # what the loader raises before any block exists
                errors = [err]
        self.diagnostics: list[Diagnostic] = [
            *(d for e in errors_in_order(errors) for d in of_error(e)), *warnings]
        self.blocks = self._index()

    # -- the index --------------------------------------------------------------------------
    def _index(self) -> list[BlockIndex]:
        module = self.sources.modules.get(self.path) if self.sources else None
        out = []
        for b in (module.blocks if module else []):
            key = (self.path, b.name)
            ir = self.table[key] if self.table is not None and key in self.table else None
            idx = BlockIndex(b, ir)
            if ir is not None:
                idx.nodes = list(_nodes(ir.body))
            idx.assignments = sorted(_assignments(b.body, idx.nodes), key=lambda a: (a.span.line, a.span.column))
            out.append(idx)
        return out

    def block_at(self, line: int, col: int) -> BlockIndex | None:
        return next((b for b in self.blocks if _contains(b.ast.span, line, col)), None)

    def word_at(self, line: int, col: int) -> tuple[str, Span] | None:
        """The (dotted) name under the position, and its span."""
        if not 1 <= line <= len(self.lines):
            return None
        for m in WORD.finditer(self.lines[line - 1]):
            if m.start() < col <= m.end() + 1:
                return m.group(), Span(self.path, line, m.start() + 1, line, m.end() + 1)
        return None

    # -- names ------------------------------------------------------------------------------
    def namespace(self) -> dict[str, tuple[str, str]]:
        return dict(self.sources.namespaces.get(self.path, {})) if self.sources else {}

    def block_ast(self, key: tuple[str, str]) -> ast.Block | None:
        return self.sources.block_ast(key) if self.sources else None

    def typed(self, key: tuple[str, str]) -> BlockIR | None:
        return self.table[key] if self.table is not None and key in self.table else None

    def import_target(self, name: str) -> str | None:
        """The file a dotted import name (`std.nn`, `layers`) refers to, if the document imports it."""
        module = self.sources.modules.get(self.path) if self.sources else None
        for imp in (module.imports if module else []):
            if imp.module == name:
                try:
                    return str(self.sources._import_path(imp, self.path)[1])
                except ArchError:
                    return None
        return None


def _nodes(graph: Graph):
    """Every node of a body, repeat bodies included."""
    for n in graph.order():
        yield n
        if n.kind == "repeat":
            yield from _nodes(n.attrs["body"])


def _assignments(stmts, nodes: list[Node]):
    """Every assignment of a body (repeat bodies included), with the node computing its value:
    the largest node whose span lies within the value's span."""
    by_start: dict[tuple[int, int, int, int], Node] = {}
    for n in nodes:
        s = n.span
        by_start.setdefault((s.line, s.column, s.end_line, s.end_column), n)
    for s in stmts:
        if isinstance(s, ast.Assign):
            v = s.value
            vs = getattr(v, "span", None)
            node = by_start.get((vs.line, vs.column, vs.end_line, vs.end_column)) if vs else None
            source = v.id if isinstance(v, ast.Name) else None
            yield Assignment(tuple(s.targets), s.span, node, source, (vs.line, vs.column) if vs else (0, 0))
        elif isinstance(s, ast.Repeat):
            yield from _assignments(s.body, nodes)
        else:
            for body in (getattr(s, "body", None), getattr(s, "then", None), getattr(s, "orelse", None)):
                if isinstance(body, tuple):
                    yield from _assignments(body, nodes)
