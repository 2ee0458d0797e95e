"""Progress bars for long commands (`archc verify`, `archc docs`, `make fuzz`): drawn
with `rich` on standard error, only when standard error is a terminal and `--quiet` was not
given, so pipes, logs and tests see exactly the output they saw before. Without `rich`
installed there is simply no bar."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

QUIET: ContextVar[bool] = ContextVar("archdsl_quiet", default=False)  # set by `archc --quiet`


def enabled() -> bool:
    """Whether a bar would be drawn now."""
    stream = sys.stderr
    return not QUIET.get() and stream is not None and hasattr(stream, "isatty") and stream.isatty()


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Yields `advance(n=1)`; draws a bar of `total` steps (a spinner when None) if enabled."""
    bar = None
    if enabled():
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:
            pass
        else:
            bar = Progress(console=Console(stderr=True), transient=True, redirect_stdout=False,
                           redirect_stderr=False)
    if bar is None:
        yield lambda n=1: None
        return
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
