"""Room for walks that recurse once per level of block calls.

Some walks recurse per call level: symmetry analysis, and `nn.Module.__call__` in a generated
module that `archc verify` runs. A chain of thousands of blocks, each calling the next, then
needs far more than Python's default 1,000 frames. The CLI runs every command on a thread with a
large stack and a high recursion limit; where even that is not enough, the recursion ends in a
diagnostic (E370), never a traceback."""

from __future__ import annotations

import contextvars
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from .errors import ArchError

STACK_BYTES = 256 * 2**20
RECURSION_LIMIT = 100_000


@contextmanager
def deep_recursion() -> Iterator[None]:
    """A recursion limit of at least `RECURSION_LIMIT` inside, the old one after (for code run
    under libraries that lower it, such as Hypothesis around each example)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, RECURSION_LIMIT))
    try:
        yield
    except RecursionError:
        raise ArchError("calls nested too deeply to analyse (Python's stack ran out)", code="E370",
                        help="flatten the chain of block calls") from None
    finally:
        sys.setrecursionlimit(old)


def with_deep_stack(fn: Callable[[], int]) -> int:
    """`fn()` on a thread with a `STACK_BYTES` stack, under `deep_recursion`; what it returns or
    raises is returned or raised here."""
    result: dict[str, object] = {}
    context = contextvars.copy_context()  # the thread sees the caller's context (diagnostics.capture)

    def target() -> None:
        try:
            with deep_recursion():
                result["value"] = context.run(fn)
        except BaseException as err:  # re-raised on the calling thread
            result["error"] = err

    size = threading.stack_size(STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="archc", daemon=True)  # Ctrl-C still ends archc
        thread.start()
    finally:
        threading.stack_size(size)
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]  # type: ignore[return-value]
