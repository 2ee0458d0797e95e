"""Standard output as the command line uses it: a write that fails (a full disk, a closed
descriptor) or a character its encoding cannot represent is a diagnostic (E620, E621), and a
reader that goes away (`archc stats … | head`) ends archc quietly, as it ends `cat`."""

from __future__ import annotations

import errno
import os
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from .errors import ArchIOError

SIGPIPE_STATUS = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader left


class _Closed:
    """Stands in for a standard output that was closed before archc started (`>&-`)."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass


def flushed(fn: Callable[[Any], int], args: Any) -> int:
    """`fn(args)`, then standard output flushed, with its failures turned into diagnostics."""
    try:
        status = fn(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        raise
    except UnicodeEncodeError as err:
        ch = err.object[err.start:err.end]
        raise ArchIOError(f"standard output's encoding ({err.encoding}) cannot write {ch!r}", code="E621",
                          help="set PYTHONIOENCODING=utf-8 (or a UTF-8 locale), or write to a file with -o") from None
    except OSError as err:
        if err.filename is not None:
            raise  # not standard output: the command reports its own files
        raise ArchIOError(f"cannot write to standard output: {err.strerror or err}", code="E620",
                          help="check that the disk has room and that the output is open") from None


@contextmanager
def guarded_stdout() -> Iterator[list[bool]]:
    """Yields a flag list, made true when the reader of standard output went away; then the
    rest of the output is dropped (no "Exception ignored" at exit)."""
    broken: list[bool] = []
    if sys.stdout is None:
        sys.stdout = _Closed()
    try:
        yield broken
    except BrokenPipeError:
        broken.append(True)
    if broken:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
