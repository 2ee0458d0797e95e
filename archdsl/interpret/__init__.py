"""The reference interpreter of the IR: the executable definition of what each op does.

`interpret(program, block, module, *inputs, **sizes)` runs a block node by node on named
tensors (`NamedTensor`), every op written the obvious way with torch tensor math, sharing no
code with the PyTorch code generator; the weights come from the generated `module`, so the two
can be compared (`differential.compare`)."""

from . import (  # noqa: F401  (registers the op cases)
    axes,
    fourier,
    index,
    learned,
    pointwise,
    pointwise_math,
    pooling,
    scan,
    sequence,
    spatial,
    spectral,
)
from .base import OPS, InterpretError
from .core import KINDS, interpret
from .named import NamedTensor

__all__ = ["KINDS", "OPS", "InterpretError", "NamedTensor", "interpret"]
