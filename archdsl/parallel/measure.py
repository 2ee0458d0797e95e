"""Count the collectives a step actually makes, to compare with a plan's prediction: a
`TorchDispatchMode` that sees the functional collectives DTensor and FSDP2 issue (forward, and
backward: the autograd engine runs CPU work on the calling thread with the mode active)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from torch.utils._python_dispatch import TorchDispatchMode

# functional collective -> the name plans use
KINDS = {"all_reduce": "all_reduce", "all_gather_into_tensor": "all_gather",
         "reduce_scatter_tensor": "reduce_scatter", "all_to_all_single": "all_to_all"}


class CollectiveCounter(TorchDispatchMode):
    """`with CollectiveCounter() as c: ...` then `c.counts` ({"all_reduce": 4}) and `c.bytes`
    (bytes of the tensors handed to each kind of collective, as a plan's payload counts them:
    the result's size for an all-gather)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter = Counter()
        self.bytes: Counter = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if func.namespace == "_c10d_functional" and func.__name__.split(".")[0] in KINDS:
            kind = KINDS[func.__name__.split(".")[0]]
            self.counts[kind] += 1
            self.bytes[kind] += out.numel() * out.element_size()
        return out
