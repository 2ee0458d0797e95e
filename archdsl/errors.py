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


class UsageError(ArchIOError):
    """A command-line input that does not exist or is not a file: a usage error (exit 2)."""

    code = "E606"


class ArchErrors(ArchError):
    """Several independent errors of one compile, in source order.

    It reads as its first error (`code`, `span`, `message`), so code that expects one error
    keeps working; `errors` holds them all."""

    def __init__(self, errors: list[ArchError]):
        flat: list[ArchError] = []
        for e in errors:
            flat.extend(e.errors if isinstance(e, ArchErrors) else [e])
        first = flat[0]
        super().__init__(first.message, first.span, first.help, first.code)
        self.errors = flat

    def __str__(self) -> str:
        more = len(self.errors) - 1
        return str(self.errors[0]) + (f" (and {more} more error{'s' * (more > 1)})" if more else "")


def raise_all(errors: list[ArchError]) -> None:
    """Raise nothing, the one error, or all of them as `ArchErrors`."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ArchErrors(errors)


class Poisoned(ArchError):
    """Internal: a value or block that depends on an error already reported. It stops the work
    that depends on it and is dropped when errors are collected; it never reaches the user."""

    def __init__(self) -> None:
        super().__init__("depends on an earlier error")
