"""Text -> syntax tree, with Lark (LALR) and the grammar in grammar/archdsl.lark."""

from __future__ import annotations

import inspect
import re
from dataclasses import replace
from functools import lru_cache
from typing import Iterator

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr

from .. import ast
from ..errors import ArchError, ArchIOError, ParseError, Span, raise_all
from ..resources import data_dir

_OPEN = {"LPAR", "LSQB"}
_CLOSE = {"RPAR", "RSQB"}


class _BracketNewlines:
    """Postlexer: newlines inside (...) and [...] continue the line, as in Python."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for tok in stream:
            if tok.type in _OPEN:
                depth += 1
            elif tok.type in _CLOSE:
                depth = max(depth - 1, 0)
            elif tok.type == "_NL" and depth:
                continue
            yield tok


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (data_dir("grammar") / "archdsl.lark").read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, postlex=_BracketNewlines(),
                maybe_placeholders=True)


MAX_DEPTH = 100  # nesting of the syntax tree; deeper input gets E104, not a RecursionError
MAX_PARSE_ERRORS = 20
MAX_NUMBER_DIGITS = 100
_ITEM_START = re.compile(r"(block|from)\b")
_BLOCK_NAME = re.compile(r"block\s+([A-Za-z_][A-Za-z_0-9]*)")
_IMPORTED = re.compile(r"^from\b.*?\bimport\b([^\n]*)", re.M)


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse one `.arch` file; syntax errors become `ParseError` with a span."""
    module, errors, _ = parse_recovering(text, path)
    raise_all(list(errors))
    return module


@lru_cache(maxsize=32)
def parse_recovering(text: str, path: str = "<string>") -> tuple[ast.Module, tuple[ArchError, ...],
                                                                 frozenset[str]]:
    """Parse each top-level item (`block ...`, `from ... import ...`) on its own, so that a
    syntax error in one does not hide the others.

    Returns the module of every item that parsed, the errors (at most one per item, at most
    `MAX_PARSE_ERRORS`) and the names of blocks and imports that did not parse, so that uses
    of them are not reported again as unknown. Results are immutable and cached: a standard
    module imported by every file of a run is parsed once."""
    lines = text.split("\n")  # as Lark counts lines: "\f" or "\u2028" do not end one
    quoted = _quoted_lines(text)
    starts = [i for i, line in enumerate(lines) if _ITEM_START.match(line) and i not in quoted
              and not (i and lines[i - 1].rstrip("\r").endswith("\\"))]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    imports: list[ast.Import] = []
    blocks: list[ast.Block] = []
    errors: list[ArchError] = []
    broken: set[str] = set()
    for k, lo in enumerate(starts):
        hi = starts[k + 1] if k + 1 < len(starts) else len(lines)
        chunk = "\n".join(lines[lo:hi])
        try:
            m = _parse_chunk(chunk, path, lo, last=hi == len(lines))
        except ParseError as err:
            if len(errors) < MAX_PARSE_ERRORS:
                errors.append(err.with_traceback(None))
            name = _BLOCK_NAME.match(lines[lo])
            if name:
                broken.add(name.group(1))
            for names in _IMPORTED.findall(chunk):
                broken.update(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", names))
            continue
        imports += m.imports
        blocks += m.blocks
    return ast.Module(path, tuple(imports), tuple(blocks)), tuple(errors), frozenset(broken)


_STRING_OR_COMMENT = re.compile(r'"""([^"\\]|\\[\s\S]|"(?!""))*"""|"([^"\\\n]|\\.)*"|#[^\n]*')


def _quoted_lines(text: str) -> set[int]:
    """Lines (0-based) that begin inside a triple-quoted string: a docstring line starting with
    `block` does not start a new item."""
    inside: set[int] = set()
    for m in _STRING_OR_COMMENT.finditer(text):
        if m.group().startswith('"""'):
            first = text.count("\n", 0, m.start())
            inside.update(range(first + 1, first + 1 + m.group().count("\n")))
    return inside


@lru_cache(maxsize=512)
def _parse_chunk(text: str, path: str, line_offset: int, last: bool) -> ast.Module:
    """One top-level item (or a whole file). Cached: re-checking a file after an edit parses
    only the items that changed."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, path, line_offset, last) from None
    _check_depth(tree, path, line_offset)
    try:
        items = _Build(path, text, line_offset).transform(tree)
    except VisitError as err:  # Lark's wrapper never reaches the user: our diagnostic does (or a
        raise err.orig_exc from None  # bug shows as itself, not as a VisitError)
    imports = tuple(i for i in items.children if isinstance(i, ast.Import))
    blocks = tuple(i for i in items.children if isinstance(i, ast.Block))
    return ast.Module(path, imports, blocks)


def _check_depth(tree: Tree, path: str, line_offset: int) -> None:
    """Refuse trees deeper than `MAX_DEPTH` before anything recursive walks them."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            span = Span(path, meta.line + line_offset, meta.column, meta.end_line + line_offset,
                        meta.end_column) if not meta.empty else None
            raise ParseError(f"expression nested more than {MAX_DEPTH} levels deep", span, code="E104",
                             help="split it into several statements")
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))


_WORDS = {  # terminals that are patterns, in words; literal ones are quoted (`'->'`, `'block'`)
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "_NL": "a new line",
    "CONTRACT": "'equivariant' or 'invariant'", "DTYPE": "a type (int, float, bool)",
    "$END": "the end of the file",
}


def _describe(terminals: set[str]) -> str:
    """Expected terminals in words, never Lark's names (`RPAR`, `__ANON_0`)."""
    literal = {t.name: f"'{t.pattern.value}'" for t in _parser().terminals if isinstance(t.pattern, PatternStr)}
    words = sorted({_WORDS.get(t) or literal.get(t) or "a token" for t in terminals})
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words)


def _inside_brackets(prefix: str) -> bool:
    """Whether the end of `prefix` is inside (...) or [...] (strings and comments skipped)."""
    depth = 0
    for tok in re.findall(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[()\[\]]', prefix):
        if tok in "([":
            depth += 1
        elif tok in ")]":
            depth = max(depth - 1, 0)
    return depth > 0


def _syntax_error(err: UnexpectedInput, text: str, path: str, line_offset: int = 0,
                  last: bool = True) -> ParseError:
    line, col = max(err.line, 1) + line_offset, max(err.column, 1)
    eof = "the end of the file" if last else "the next top-level item"
    end = col + 1
    if isinstance(err, UnexpectedToken):
        found = eof if err.token.type == "$END" else (
            "a new line" if err.token.type == "_NL" else f"'{err.token}'")
        if err.token.type not in ("$END", "_NL"):
            end = col + len(str(err.token))
        expected = set(err.expected)
        if _inside_brackets(text[:err.pos_in_stream]):
            expected.discard("_NL")  # the postlexer drops new lines there: never really expected
        message = f"expected {_describe(expected)}; found {found}"
        code = "E102"
    elif isinstance(err, UnexpectedCharacters):
        message = f"unexpected character {text[err.pos_in_stream]!r}"
        code = "E101"
    elif isinstance(err, UnexpectedEOF):
        message = f"expected {_describe(set(err.expected))}; found {eof}"
        code = "E102"
    else:  # pragma: no cover - Lark's hierarchy is closed
        message, code = str(err), "E101"
    return ParseError(message, Span(path, line, col, line, end), code=code)


def _unquote(tok: Token, span: Span) -> str:
    """A string token's text; a triple-quoted one (a multi-line docstring) loses its common
    indentation and its blank first and last lines, as Python's `inspect.cleandoc` does."""
    text = str(tok)
    body = inspect.cleandoc(text[3:-3]) if text.startswith('"""') and len(text) >= 6 else text[1:-1]
    if "\\" not in body:
        return body
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as err:
        raise ParseError(f"invalid escape sequence in a string: {err.reason}", span, code="E105",
                         help="escapes are \\n, \\t, \\\\, \\\", \\xHH and \\uHHHH") from None


def _import_path(path: str, span: Span) -> str:
    """An import path that the file system can be asked about: no NUL byte (every OS API refuses
    it) and no lone surrogate (`"\\ud800"` encodes to no file name)."""
    if "\0" in path or any(0xD800 <= ord(c) <= 0xDFFF for c in path):
        raise ArchIOError(f"cannot import {ascii(path)}: a NUL byte or a lone surrogate cannot be "
                          "part of a file name", span, code="E602")
    return path


@v_args(meta=True, inline=True)
class _Build(Transformer):
    """Parse tree -> `ast` dataclasses. Callbacks never raise: errors come later."""

    def __init__(self, path: str, text: str, line_offset: int = 0):
        super().__init__()
        self.path, self.lines, self.offset = path, text.split("\n"), line_offset

    def _s(self, meta) -> Span:
        return Span(self.path, meta.line + self.offset, meta.column, meta.end_line + self.offset,
                    meta.end_column)

    def _t(self, tok: Token) -> Span:
        return Span(self.path, tok.line + self.offset, tok.column, tok.end_line + self.offset,
                    tok.end_column)

    # module level
    def std_module(self, meta, *names):
        return ("std", ".".join(names))

    def file_module(self, meta, s):
        return ("file", _import_path(_unquote(s, self._t(s)), self._t(s)))

    def import_stmt(self, meta, module, *names):
        kind, text = module
        return ast.Import(text, kind == "file", tuple(str(n) for n in names), self._s(meta))

    def size_params(self, meta, *params):
        return tuple(p for p in params if p is not None)

    def size_param(self, meta, name, default):
        return ast.SizeParam(str(name), default, self._s(meta))

    def param(self, meta, name, type_):
        return ast.Param(str(name), type_, self._s(meta))

    def tensor_type(self, meta, *items):
        *axes, dtype = items
        return ast.TensorTypeExpr(tuple(a for a in axes if a is not None),
                                  str(dtype) if dtype else None, self._s(meta))

    def type_axis(self, meta, name, example):
        return ast.TypeAxis(str(name), example, self._s(meta))

    def outputs(self, meta, *types):
        return tuple(types)

    def action(self, meta, group, *rest):
        *axes, by = rest
        groups = tuple(a if isinstance(a, tuple) else (str(a),) for a in axes)
        joint = groups if any(len(g) > 1 for g in groups) else ()
        return ast.Action(str(group), tuple(a for g in groups for a in g), by, self._s(meta), joint)

    def joint_axes(self, meta, *names):
        return tuple(str(n) for n in names)

    def contract(self, meta, kind, action, out=None):
        return ast.Contract(str(kind), action, self._s(meta), out)

    def motion(self, meta, first, *companions):
        return replace(first, companions=companions) if companions else first

    def block(self, meta, name, params, *rest):
        contracts = tuple(r for r in rest if isinstance(r, ast.Contract))
        inputs = tuple(r for r in rest if isinstance(r, ast.Param))
        outputs = next(r for r in rest if isinstance(r, tuple))
        source = "\n".join(self.lines[meta.line - 1:meta.end_line])
        return ast.Block(str(name), params or (), inputs, outputs, contracts, tuple(rest[-1]),
                         self._s(meta), self._t(name), source)

    def body(self, meta, *stmts):
        return [s for s in stmts if s is not None]

    # statements
    def assign(self, meta, *items):
        *names, value = items
        return ast.Assign(tuple(str(n) for n in names), value, self._s(meta))

    def return_stmt(self, meta, *values):
        return ast.Return(tuple(values), self._s(meta))

    def repeat(self, meta, index, count, body):
        return ast.Repeat(count, tuple(body), self._s(meta), str(index) if index is not None else None)

    def if_stmt(self, meta, left, op, right, then, orelse):
        return ast.If(left, str(op) if op is not None else None, right, tuple(then),
                      tuple(orelse) if orelse is not None else (), self._s(meta))

    def doc(self, meta, s):
        return ast.Doc(_unquote(s, self._s(meta)), self._s(meta))

    # expressions
    def _bin(op):  # noqa: N805 - a factory evaluated in the class body
        def build(self, meta, left, right):
            return ast.BinOp(op, left, right, self._s(meta))
        return build

    add, sub, mul, div = _bin("+"), _bin("-"), _bin("*"), _bin("/")
    floordiv, mod, pow = _bin("//"), _bin("%"), _bin("**")

    def neg(self, meta, operand):
        return ast.Neg(operand, self._s(meta))

    def name(self, meta, tok):
        return ast.Name(str(tok), self._s(meta))

    def number(self, meta, tok):
        text = str(tok)
        if len(text) > MAX_NUMBER_DIGITS:
            raise ParseError(f"a number of {len(text)} digits is too long", self._s(meta), code="E106",
                             help=f"numbers have at most {MAX_NUMBER_DIGITS} digits")
        value = float(text) if any(c in text for c in ".eE") else int(text)
        return ast.Number(value, self._s(meta))

    def true(self, meta):
        return ast.Bool(True, self._s(meta))

    def false(self, meta):
        return ast.Bool(False, self._s(meta))

    def string(self, meta, tok):
        return ast.String(_unquote(tok, self._s(meta)), self._s(meta))

    def call(self, meta, func, spec, *args):
        *args, label = args  # the optional `as NAME` is the last child (a token or None)
        pos = tuple(a for a in args if a is not None and not isinstance(a, tuple))
        kw = tuple(a for a in args if isinstance(a, tuple))
        return ast.Call(str(func), spec, pos, kw, self._s(meta), self._t(func),
                        str(label) if label is not None else None,
                        self._t(label) if label is not None else None)

    def kwarg(self, meta, name, value):
        return (str(name), value)

    def spec(self, meta, *clauses):
        return tuple(clauses)

    def axis_clause(self, meta, lhs, rhs, over):
        return ast.AxisClause(lhs, rhs, over, self._s(meta))

    def binding(self, meta, name, value):
        return ast.Binding(str(name), value, self._s(meta))

    def group_binding(self, meta, name, *names):
        return ast.Binding(str(name), tuple(str(n) for n in names), self._s(meta))

    def axes(self, meta, *terms):
        return tuple(t if isinstance(t, tuple) else str(t) for t in terms)

    def group(self, meta, *names):
        return tuple(str(n) for n in names)
