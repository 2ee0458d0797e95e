"""`archc fmt`: the formatter. It works on the token stream, not on the syntax tree: spacing is
decided per pair of neighbouring tokens by their kinds, indentation by the depth of braces and
brackets, and comments, line breaks and the tokens themselves are kept. So new syntax needs no
formatter change (an unknown symbol keeps whether it had spaces around it), the result parses
to the same tree, and formatting twice changes nothing.

What it normalises: indentation (4 spaces per `{` level, one more per open bracket on a
continued line), one space around binary operators, `->` and `=`, two before a contract, none inside brackets or
before `,` `:` `)` `]`, two spaces before a trailing comment, at most one blank line in a row,
no trailing spaces, one final newline; a line longer than `WIDTH` that ends in a call is
broken after the call's top-level commas, one argument per line."""

from __future__ import annotations

import re
from dataclasses import dataclass

WIDTH = 100
TOKEN = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"{3}(?:[^"\\]|\\[\s\S]|"(?!""))*"{3}|"(?:[^"\\\n]|\\.)*")
  | (?P<cont>\\\r?\n)
  | (?P<nl>\r?\n)
  | (?P<ws>[ \t\f]+)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>->|//|\*\*|==|!=|<=|>=|[-+*/%=<>~])
  | (?P<other>.)
""", re.VERBOSE)
KEYWORDS = {"block", "return", "repeat", "from", "import", "by", "over", "equivariant", "invariant",
            "if", "else", "in", "as", "for", "and", "or", "not"}
VALUE = {"name", "number", "string"}
CONTRACTS = ("equivariant", "invariant")  # set off by two spaces, as a clause of the signature
OPEN, CLOSE = "([{", ")]}"
CONT_INDENT = "\0"  # where a line continued with `\` resumes: its indentation plus two levels


@dataclass
class Tok:
    kind: str  # comment | string | cont | nl | number | name | op | other
    text: str
    space: bool  # whitespace before it in the input


def tokens(text: str) -> list[Tok]:
    out, space = [], False
    for m in TOKEN.finditer(text.replace("\r\n", "\n")):
        kind = m.lastgroup
        if kind == "ws":
            space = True
            continue
        out.append(Tok(kind, m.group(), space))
        space = False
    return out


def _is_value(t: Tok | None) -> bool:
    return t is not None and ((t.kind in VALUE and t.text not in KEYWORDS) or t.text in (")", "]"))


def _gap(prev: Tok | None, t: Tok, before: Tok | None, inner: str) -> str:
    """The spacing between `prev` and `t` on one line (`before` precedes `prev`; `inner` is the
    innermost open bracket)."""
    if prev is None:
        return ""
    p, x = prev.text, t.text
    if t.kind == "comment" or (x in CONTRACTS and prev.kind != "cont"):
        return "  "
    if prev.kind == "cont":
        return CONT_INDENT
    if t.kind == "cont":
        return " "
    if x in (",", ":", ";", ".") or p == "." or x in ")]":
        return ""
    if p in "([" or (p == "{" and x == "}"):
        return ""
    if p in (",", ":", ";", "{") or x in "{}":
        return " "
    if x in "([":
        if prev.kind == "name" and p in KEYWORDS:
            return " "
        if _is_value(prev):
            return " " if (inner == "[" and t.space and prev.kind == "name") else ""
        return " "
    if t.kind == "op" or prev.kind == "op":
        unary = prev.kind == "op" and p in "-+" and not _is_value(before)
        if unary:
            return ""
        if t.kind == "op" and x in "-+" and not _is_value(prev):
            return " " if prev.kind != "other" or t.space else ""
        return " "
    if t.kind == "other" or prev.kind == "other":
        return " " if t.space else ""
    return " "


def _lines(toks: list[Tok]) -> list[tuple[int, list[Tok]]]:
    """The tokens split at newlines, each line with its indentation depth."""
    lines: list[tuple[int, list[Tok]]] = []
    stack: list[str] = []
    cur: list[Tok] = []
    depth_at_start = 0
    for t in toks:
        if t.kind == "nl":
            lines.append((depth_at_start, cur))
            cur = []
            continue
        if not cur:
            depth_at_start = max(len(stack) - (t.text in CLOSE), 0)
        cur.append(t)
        if t.text in OPEN:
            stack.append(t.text)
        elif t.text in CLOSE and stack:
            stack.pop()
    lines.append((depth_at_start, cur))
    return lines


def _render(toks: list[Tok]) -> str:
    out, stack = [], []
    for i, t in enumerate(toks):
        out.append(_gap(toks[i - 1] if i else None, t, toks[i - 2] if i > 1 else None,
                        stack[-1] if stack else "") + t.text)
        if t.text in OPEN:
            stack.append(t.text)
        elif t.text in CLOSE and stack:
            stack.pop()
    return "".join(out)


def _split_call(indent: str, toks: list[Tok]) -> list[str] | None:
    """A long line that ends in a call (`x = f(a, b, c)`), one argument per line, or None."""
    if not toks or toks[-1].text != ")" or any(t.kind in ("comment", "cont", "string") for t in toks):
        return None
    depth, start, commas = 0, None, []
    for i, t in enumerate(toks):
        if t.text in OPEN:
            depth += 1
            if depth == 1 and t.text == "(" and start is None:
                start = i
        elif t.text in CLOSE:
            depth -= 1
            if depth == 0 and start is not None and i != len(toks) - 1:
                start, commas = None, []
        elif t.text == "," and depth == 1 and start is not None:
            commas.append(i)
    if start is None or not commas:
        return None
    cuts = [start, *commas, len(toks) - 1]
    args = [indent + "    " + _render(toks[a + 1:b + 1]) for a, b in zip(cuts, cuts[1:])]
    args[-1] = args[-1][:-1]  # the call's `)`, on a line of its own
    return [indent + _render(toks[:start + 1]), *args, indent + ")"]


def format_source(text: str) -> str:
    """`text` formatted (the same tokens, so the same program). A split argument may itself
    be a long call, so the pass runs until nothing changes."""
    for _ in range(8):
        done = _format_once(text)
        if done == text:
            break
        text = done
    return text


def _format_once(text: str) -> str:
    out: list[str] = []
    for depth, toks in _lines(tokens(text)):
        if not toks:
            if out and out[-1] != "":
                out.append("")
            continue
        indent = "    " * depth
        line = (indent + _render(toks)).replace(CONT_INDENT, indent + "        ")
        split = _split_call(indent, toks) if len(line) > WIDTH else None
        out.extend(split or [line])
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""
