"""Text -> syntax tree, with Lark (LALR) and the grammar in grammar/archdsl.lark."""

from __future__ import annotations

from functools import lru_cache
from typing import Iterator

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast
from .errors import ParseError, Span
from .resources import data_dir

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


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse one `.arch` file; syntax errors become `ParseError` with a span."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, path) from None
    builder = _Build(path, text)
    items = builder.transform(tree)
    imports = tuple(i for i in items.children if isinstance(i, ast.Import))
    blocks = tuple(i for i in items.children if isinstance(i, ast.Block))
    return ast.Module(path, imports, blocks)


_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "_NL": "a new line",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "LBRACE": "'{'",
    "RBRACE": "'}'", "COMMA": "','", "EQUAL": "'='", "COLON": "':'", "PLUS": "'+'",
    "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "DOT": "'.'", "PERCENT": "'%'",
    "CONTRACT": "'equivariant' or 'invariant'", "$END": "the end of the file",
}


def _describe(terminals: set[str]) -> str:
    words = sorted({_WORDS.get(t, f"'{t.lower()}'" if t.isupper() and t.isalpha() else t)
                    for t in terminals})
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words)


def _syntax_error(err: UnexpectedInput, text: str, path: str) -> ParseError:
    line, col = max(err.line, 1), max(err.column, 1)
    end = col + 1
    if isinstance(err, UnexpectedToken):
        found = "the end of the file" if err.token.type == "$END" else (
            "a new line" if err.token.type == "_NL" else f"'{err.token}'")
        if err.token.type not in ("$END", "_NL"):
            end = col + len(str(err.token))
        message = f"unexpected {found}; expected {_describe(err.expected)}"
        code = "E102"
    elif isinstance(err, UnexpectedCharacters):
        message = f"unexpected character {text[err.pos_in_stream]!r}"
        code = "E101"
    elif isinstance(err, UnexpectedEOF):
        message = f"unexpected end of file; expected {_describe(set(err.expected))}"
        code = "E103"
    else:  # pragma: no cover - Lark's hierarchy is closed
        message, code = str(err), "E101"
    return ParseError(message, Span(path, line, col, line, end), code=code)


def _span(path: str, meta) -> Span:
    return Span(path, meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(path: str, tok: Token) -> Span:
    return Span(path, tok.line, tok.column, tok.end_line, tok.end_column)


def _unquote(tok: Token) -> str:
    body = str(tok)[1:-1]
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in body else body


@v_args(meta=True, inline=True)
class _Build(Transformer):
    """Parse tree -> `ast` dataclasses. Callbacks never raise: errors come later."""

    def __init__(self, path: str, text: str):
        super().__init__()
        self.path, self.lines = path, text.splitlines()

    def _s(self, meta) -> Span:
        return _span(self.path, meta)

    # module level
    def std_module(self, meta, *names):
        return ("std", ".".join(names))

    def file_module(self, meta, s):
        return ("file", _unquote(s))

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
        return ast.Action(str(group), tuple(str(a) for a in axes), by, self._s(meta))

    def contract(self, meta, kind, action):
        return ast.Contract(str(kind), action, self._s(meta))

    def block(self, meta, name, params, *rest):
        contracts = tuple(r for r in rest if isinstance(r, ast.Contract))
        inputs = tuple(r for r in rest if isinstance(r, ast.Param))
        outputs = next(r for r in rest if isinstance(r, tuple))
        source = "\n".join(self.lines[meta.line - 1:meta.end_line])
        return ast.Block(str(name), params or (), inputs, outputs, contracts, tuple(rest[-1]),
                         self._s(meta), _tok_span(self.path, name), source)

    def body(self, meta, *stmts):
        return [s for s in stmts if s is not None]

    # statements
    def assign(self, meta, *items):
        *names, value = items
        return ast.Assign(tuple(str(n) for n in names), value, self._s(meta))

    def return_stmt(self, meta, *values):
        return ast.Return(tuple(values), self._s(meta))

    def repeat(self, meta, count, body):
        return ast.Repeat(count, tuple(body), self._s(meta))

    def doc(self, meta, s):
        return ast.Doc(_unquote(s), self._s(meta))

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
        value = float(text) if any(c in text for c in ".eE") else int(text)
        return ast.Number(value, self._s(meta))

    def true(self, meta):
        return ast.Bool(True, self._s(meta))

    def false(self, meta):
        return ast.Bool(False, self._s(meta))

    def string(self, meta, tok):
        return ast.String(_unquote(tok), self._s(meta))

    def call(self, meta, func, spec, *args):
        pos = tuple(a for a in args if a is not None and not isinstance(a, tuple))
        kw = tuple(a for a in args if isinstance(a, tuple))
        return ast.Call(str(func), spec, pos, kw, self._s(meta), _tok_span(self.path, func))

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
