"""Answers to editor requests (hover, definition, completion, symbols, fixes) from an `Analysis`:
plain functions of positions (1-based, like `Span`) returning plain data, so they are tested
without a client and the server only translates them to LSP types."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import Span
from ..ir import BlockIR
from ..ops import REGISTRY
from ..sizes import Size
from ..suggest import closest
from .analysis import WORD, Analysis, BlockIndex, real_path

KEYWORDS = ("block", "return", "repeat", "from", "import", "equivariant", "invariant", "by",
            "true", "false", "int", "bool", "float")
FIX = re.compile(r"did you mean `([^`]+)`")


# -- hover ------------------------------------------------------------------------------------
def hover(a: Analysis, line: int, col: int) -> tuple[str, Span] | None:
    """Markdown for the name under the position, and the span it covers."""
    hit = a.word_at(line, col)
    if hit is None:
        return None
    word, span = hit
    block = a.block_at(line, col)
    parts = [p for p in (_callee(a, word, block), _op(word), _variable(block, word, line, col),
                         _size_name(block, word)) if p]
    node = block.node_at(line, col) if block is not None else None
    if node is not None and node.types and (not parts or node.op == word):
        result = ", ".join(str(t) for t in node.types)
        parts.insert(0, _code(f"{a.lines[line - 1][node.span.column - 1:node.span.end_column - 1]}"
                              f": {result}" if node.span.line == node.span.end_line else result)
                     + (f"\n\n{_sizes_line(block.ir, node.types[0])}" if len(node.types) == 1 else ""))
    return ("\n\n---\n\n".join(parts), span) if parts else None


def _code(text: str) -> str:
    return f"```archdsl\n{text}\n```"


def _env(ir: BlockIR) -> dict[str, int]:
    """Concrete sizes of the block at its defaults and example sizes (where they are known)."""
    env: dict[str, int] = {}
    for _ in range(2):  # defaults may refer to later ones (`F = 4 * D` after `D`)
        for name, p in ir.params.items():
            if isinstance(p.default, Size) and p.default.symbols() <= set(env):
                env[name] = int(p.default.evaluate(env))
        for name, s in ir.examples.items():
            if s.symbols() <= set(env):
                env[name] = int(s.evaluate(env))
    return env


def _sizes_line(ir: BlockIR | None, t) -> str:
    """`K = D / H = 64` for each axis whose size is an expression or known at the defaults."""
    if ir is None:
        return ""
    env, out, evaluated = _env(ir), [], False
    for ax in t.axes:
        sym = ax.size.as_symbol()
        eq = ax.size if sym != ax.name else (ir.params[sym].default if sym in ir.params else None)
        text = f"{ax.name} = {eq}" if isinstance(eq, Size) and str(eq) != ax.name else ax.name
        if ax.size.symbols() <= set(env) and not ax.size.is_const and not (isinstance(eq, Size) and eq.is_const):
            text += f" = {int(ax.size.evaluate(env))}"
            evaluated = True
        if text != ax.name:
            out.append(f"`{text}`")
    return ("sizes: " + ", ".join(out) + (" (at the defaults)" if evaluated else "")) if out else ""


def _variable(block: BlockIndex | None, word: str, line: int, col: int) -> str | None:
    if block is None:
        return None
    t, _ = block.value_of(word, line, col)
    if t is None:
        return None
    sizes = _sizes_line(block.ir, t)
    return _code(f"{word}: {t}" + ("" if t.dtype == "float" else f" {t.dtype}")) + (f"\n\n{sizes}" if sizes else "")


def _size_name(block: BlockIndex | None, word: str) -> str | None:
    ir = block.ir if block is not None else None
    if ir is None:
        return None
    if word in ir.params:
        p = ir.params[word]
        text = f"{word}: {p.kind} parameter" + (f" = {p.default}" if p.default is not None else " (required)")
    elif word in ir.free:
        ex = ir.examples.get(word)
        text = f"{word}: axis size read from the input" + (f" (example {ex})" if ex is not None else "")
    else:
        return None
    env = _env(ir)
    if word in env:
        text += f"\n# = {env[word]} at the defaults"
    pres = [f"requires {p}" + (f"  ({p.origin})" if p.origin else "") for p in ir.preconditions
            if word in p.symbols()]
    return _code("\n".join([text, *pres]))


def signature(a: Analysis, key: tuple[str, str]) -> str:
    """A block's header as written, its docstring, contracts and preconditions."""
    b = a.block_ast(key)
    if b is None:
        return ""
    header = b.source.split("{", 1)[0].strip() if b.source else f"block {b.name}"
    lines = [header]
    ir = a.typed(key)
    if ir is not None:
        outs = ", ".join(str(t) for t in ir.outputs)
        sig = ", ".join(f"{n}: {t}" for n, t in ir.inputs)
        lines.append(f"# typed: ({sig}) -> {outs}")
        lines += [f"requires {p}" + (f"  ({p.origin})" if p.origin else "") for p in ir.preconditions]
    text = _code("\n".join(lines))
    if b.doc:
        text += f"\n\n{b.doc}"
    if b.contracts:
        text += "\n\ncontracts: " + ", ".join(f"`{c.kind} {_action(c.action)}"
                                               + (f" -> {_action(c.out)}`" if c.out else "`") for c in b.contracts)
    where = key[0] if key[0] != a.path else "this file"
    return text + f"\n\n*defined in {where}*"


def _action(act) -> str:
    return " ".join(f"{a.group}({', '.join(a.axes)})" for a in (act, *act.companions))


def _callee(a: Analysis, word: str, block: BlockIndex | None) -> str | None:
    """A block's signature; inside a caller, also what calling it requires of the caller."""
    key = a.namespace().get(word)
    if not isinstance(key, tuple):
        return None
    text = signature(a, key)
    if block is not None and block.ir is not None and block.ast.name != word:
        here = [f"requires {p}" for p in block.ir.preconditions if f"`{word}`" in p.origin]
        if here:
            text += f"\n\nin `{block.ast.name}`: " + ", ".join(f"`{r}`" for r in here)
    return text


def _op(word: str) -> str | None:
    op = REGISTRY.get(word)
    if op is None:
        return None
    text = _code(op.example or word) + (f"\n\n{op.summary}" if op.summary else "")
    if op.options:
        text += "\n\noptions: " + ", ".join(f"`{k}`" + (f" = {v}" if v is not None else "")
                                          for k, v in op.options.items())
    return text


# -- definition -------------------------------------------------------------------------------
def definition(a: Analysis, line: int, col: int) -> Span | None:
    """Where the name under the position is defined: a block (in any file, `std.*` included),
    an import's file, a variable's assignment, a size parameter or an input."""
    hit = a.word_at(line, col)
    if hit is None:
        return None
    word, _ = hit
    key = a.namespace().get(word)
    if isinstance(key, tuple):
        b = a.block_ast(key)
        if b is not None:
            s = b.name_span
            return Span(real_path(s.file), s.line, s.column, s.end_line, s.end_column)
    target = a.import_target(word)
    if target is not None:
        return Span(target, 1, 1, 1, 1)
    block = a.block_at(line, col)
    if block is None:
        return None
    _, where = block.value_of(word, line, col)
    if where is not None:
        return where
    for p in block.ast.params:
        if p.name == word:
            return p.span
    for p in block.ast.inputs:
        for ax in p.type.axes:
            if ax.name == word:
                return ax.span
    return None


# -- completion -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    label: str
    kind: str  # "op" | "block" | "axis" | "option" | "keyword" | "variable"
    detail: str = ""
    doc: str = ""


def completion(a: Analysis, line: int, col: int) -> list[Item]:
    """Ops, blocks in scope, axis and size names and variables of the enclosing block, options of
    the call the cursor is in, keywords."""
    items = [Item(name, "op", op.example, op.summary) for name, op in sorted(REGISTRY.items())
             if not name.startswith("_") and op.summary]
    for name, key in sorted(a.namespace().items()):
        if isinstance(key, tuple):
            b = a.block_ast(key)
            items.append(Item(name, "block", b.source.split("{", 1)[0].strip() if b and b.source else "",
                              (b.doc or "") if b else ""))
    block = a.block_at(line, col)
    if block is not None:
        items += [Item(n, "axis", "size or axis") for n in sorted(_axis_names(block))]
        items += [Item(n, "variable") for n in sorted({n for s in block.assignments for n in s.names}
                                                      | {p.name for p in block.ast.inputs})]
    func = _enclosing_call(a.lines[line - 1][:col - 1] if 0 < line <= len(a.lines) else "")
    if func in REGISTRY:
        items += [Item(k, "option", f"{k} = {v}" if v is not None else f"{k} (required)")
                  for k, v in REGISTRY[func].options.items()]
    return items + [Item(k, "keyword") for k in KEYWORDS]


def _axis_names(block: BlockIndex) -> set[str]:
    names = {p.name for p in block.ast.params} | {ax.name for p in block.ast.inputs for ax in p.type.axes}
    for n in block.nodes:
        names |= {ax.name for t in n.types for ax in t.axes}
    return names


def _enclosing_call(prefix: str) -> str | None:
    """The function whose `(` is open at the end of `prefix` (on one line)."""
    depth = 0
    for i in range(len(prefix) - 1, -1, -1):
        ch = prefix[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                head = re.search(r"([A-Za-z_]\w*)\s*(?:\[[^\[\]]*\])?\s*$", prefix[:i])
                return head.group(1) if head else None
            depth -= 1
    return None


# -- symbols and fixes ------------------------------------------------------------------------
def symbols(a: Analysis) -> list[tuple[str, str, Span, Span]]:
    """(name, detail, whole span, name span) of each block of the document."""
    out = []
    for b in a.blocks:
        detail = ""
        if b.ir is not None:
            detail = "(" + ", ".join(f"{n}: {t}" for n, t in b.ir.inputs) + ") -> " + \
                     ", ".join(str(t) for t in b.ir.outputs)
        out.append((b.ast.name, detail, b.ast.span, b.ast.name_span))
    return out


def fix(a: Analysis, span: Span, help: str | None) -> tuple[Span, str] | None:
    """The edit a diagnostic's `help` suggests: its "did you mean `X`?" replacing the name in the
    diagnostic's range that `X` is the close match of."""
    m = FIX.search(help or "")
    if m is None:
        return None
    new = m.group(1)
    for line in range(span.line, min(span.end_line, len(a.lines)) + 1):
        text = a.lines[line - 1]
        lo = span.column - 1 if line == span.line else 0
        hi = span.end_column - 1 if line == span.end_line else len(text)
        for w in WORD.finditer(text):
            if lo <= w.start() and w.end() <= max(hi, lo + 1) and closest(w.group(), [new]) == new:
                return Span(a.path, line, w.start() + 1, line, w.end() + 1), new
    return None
