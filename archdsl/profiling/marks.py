"""Profiler ranges per `.arch` statement, opened from the lines `instrument` adds to a generated
module: each statement's range closes where the next one opens, and a block's last range when its
`forward` returns (a hook), so ranges nest exactly as blocks call blocks."""

from __future__ import annotations

import re
from typing import Any

from torch.autograd.profiler import record_function

PREFIX = "arch|"
# `        # x = x + MLP(x)  (transformer.arch:7)`: the statement comment the code generator writes
_COMMENT = re.compile(r"^(?P<indent>\s*)# (?P<text>.*)  \((?P<where>[^()]*:\d+)\)$")
_CLASS = re.compile(r"^class (?P<name>\w+)\(nn\.Module\):$")
_SCOPES: list[list[Any]] = []  # per running generated forward: [the open range or None]


def instrument(source: str) -> str:
    """`source` with a `mark` call after every statement comment, keyed by class and line."""
    out, cls = ["from archdsl.profiling.marks import mark as _arch_mark"], "?"
    for line in source.splitlines():
        out.append(line)
        if m := _CLASS.match(line):
            cls = m["name"]
        elif m := _COMMENT.match(line):
            key = f"{PREFIX}{cls}|{m['where']}|{m['text']}"
            out.append(f"{m['indent']}_arch_mark({key!r})")
    return "\n".join(out) + "\n"


def mark(key: str) -> None:
    """Close the running forward's open range and open `key`'s."""
    if not _SCOPES:
        return
    scope = _SCOPES[-1]
    if scope[0] is not None:
        scope[0].__exit__(None, None, None)
    scope[0] = record_function(key)
    scope[0].__enter__()


def enter(module, args) -> None:
    _SCOPES.append([None])


def leave(module, args, output) -> None:
    open_range = _SCOPES.pop()[0]
    if open_range is not None:
        open_range.__exit__(None, None, None)


def parse(key: str) -> tuple[str, str, str]:
    """(class, `file:line`, statement text) of a range name."""
    cls, where, text = key[len(PREFIX):].split("|", 2)
    return cls, where, text
