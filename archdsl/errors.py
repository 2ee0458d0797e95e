"""One error hierarchy for everything a user can get wrong.

Every error carries a stable code (documented in docs/errors.md), the span of the
offending source, and optionally a `help` line with the fix. The CLI renders them as
`file:line:col: error[CODE]: message`, the source line and a caret.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of a source file (1-based lines and columns, end exclusive)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ArchError(Exception):
    """The root of every error a user can cause; never a bug in archdsl."""

    code = "E000"

    def __init__(self, message: str, span: Span | None = None, help: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.message, self.span, self.help = message, span, help
        if code:
            self.code = code

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        return f"{where}error[{self.code}]: {self.message}"


class ParseError(ArchError):
    """The text does not parse (E1xx)."""

    code = "E101"


class ResolveError(ArchError):
    """A name, import, block or op that cannot be resolved (E2xx)."""

    code = "E201"


class ShapeError(ArchError):
    """Axes or sizes that do not fit (E3xx)."""

    code = "E301"


class SymmetryError(ArchError):
    """A symmetry contract that does not hold (S1xx)."""

    code = "S101"


class CodegenError(ArchError):
    """A construct the PyTorch backend cannot emit (E5xx)."""

    code = "E501"


class ArchIOError(ArchError):
    """A file that cannot be read or written (E6xx)."""

    code = "E601"
