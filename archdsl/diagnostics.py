"""Diagnostics: errors and warnings as records, rendered as text (Rust/Elm style) or JSON lines.

Errors are raised (`ArchError`, or `ArchErrors` for several); warnings are not: the compiler
reports them with `warn`, into `Program.warnings` and into every active `capture()`, so a
command-line run prints the warnings of whatever it compiled without each subcommand
having to collect them."""

from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .errors import ArchError, ArchErrors, Span
from .names import one_line

MAX_SHOWN = 20  # errors printed per run; the rest are counted
MAX_LINE = 160  # characters of a source line shown around the caret


@dataclass(frozen=True)
class Diagnostic:
    """One message for the user: where, how bad, which stable code, what to do."""

    severity: str  # "error" | "warning"
    code: str
    message: str
    span: Span | None = None
    help: str | None = None

    def header(self) -> str:
        where = f"{self.span}: " if self.span else ""
        return f"{where}{self.severity}[{self.code}]: {self.message}"

    def as_json(self) -> str:
        s = self.span
        return json.dumps({
            "severity": self.severity, "file": s.file if s else None, "line": s.line if s else None,
            "column": s.column if s else None, "end": [s.end_line, s.end_column] if s else None,
            "code": self.code, "message": self.message, "help": self.help}, ensure_ascii=False)


def of_error(err: ArchError) -> list[Diagnostic]:
    """The diagnostics of a raised error (several for `ArchErrors`)."""
    errors = err.errors if isinstance(err, ArchErrors) else [err]
    return [Diagnostic("error", e.code, e.message, e.span, e.help) for e in errors]


# -- warnings ---------------------------------------------------------------------------------
_SINKS: ContextVar[tuple[list[Diagnostic], ...]] = ContextVar("archdsl_warning_sinks", default=())


def warn(into: list[Diagnostic], code: str, message: str, span: Span | None,
         help: str | None = None) -> None:
    """Report a warning: appended to `into` and to every active `capture()` (once each)."""
    d = Diagnostic("warning", code, message, span, help)
    for sink in (into, *_SINKS.get()):
        if d not in sink:
            sink.append(d)


@contextmanager
def capture() -> Iterator[list[Diagnostic]]:
    """Collect every warning reported while the block runs."""
    sink: list[Diagnostic] = []
    token = _SINKS.set((*_SINKS.get(), sink))
    try:
        yield sink
    finally:
        _SINKS.reset(token)


# -- rendering --------------------------------------------------------------------------------
def render(diags: list[Diagnostic], fmt: str = "text",
           source: Callable[[str], str | None] | None = None) -> str:
    """All diagnostics (errors beyond `MAX_SHOWN` counted, not shown), one per line in JSON."""
    errors = [d for d in diags if d.severity == "error"]
    hidden = errors[MAX_SHOWN:]
    shown = [d for d in diags if d not in hidden] if hidden else diags
    if fmt == "json":
        return "\n".join(d.as_json() for d in shown)
    read = source or read_source_line
    parts = [render_text(d, read) for d in shown]
    if hidden:
        parts.append(f"... and {len(hidden)} more error{'s' * (len(hidden) > 1)} not shown")
    return "\n".join(parts)


def render_text(d: Diagnostic, read: Callable[[str], str | None] | None = None) -> str:
    """`file:line:col: error[CODE]: message`, the source line with a caret, and `help:`."""
    lines = [one_line(d.header())]  # a file name cannot forge a line or send terminal escapes
    span = d.span
    text = None
    if span is not None and span.line >= 1:
        text = (read or read_source_line)(span.file, span.line)
    if text is not None:
        start = max(span.column - 1, 0)
        stop = span.end_column - 1 if span.end_line == span.line else len(text)
        stop = max(stop, start + 1)
        lo = max(0, min(start - 40, len(text) - MAX_LINE))  # keep the caret on screen
        shown = text[lo:lo + MAX_LINE].replace("\t", " ")
        width = max(1, min(stop, lo + MAX_LINE) - start)
        cut = ("..." if lo else "", "..." if lo + MAX_LINE < len(text) else "")
        lines += [f"  {span.line:>4} | {cut[0]}{shown}{cut[1]}",
                  f"       | {' ' * (start - lo + len(cut[0]))}{'^' * width}"]
    if d.help:
        lines.append(f"  help: {d.help}")
    return "\n".join(lines)


def read_source_line(file: str, line: int) -> str | None:
    """Line `line` of a source file as the compiler saw it (standard modules included)."""
    if file.startswith("<std>/"):
        from .resources import data_dir
        path = data_dir("stdlib") / file[len("<std>/"):]
    elif file.startswith("<"):
        return None
    else:
        path = Path(file)
    try:
        with path.open("rb") as f:
            for i, raw in enumerate(f, 1):
                if i == line:
                    return raw.decode("utf-8", "replace").rstrip("\r\n")
    except OSError:
        return None
    return None
