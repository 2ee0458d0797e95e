"""`archc profile`: measured time per statement of a generated module, next to its roofline bound.

`profile(program, block, sizes, batch, train)` runs the generated module under `torch.profiler`,
attributes the time of every aten op (and, with `train`, of its backward) to the `.arch`
statement that produced it, and puts the statement's FLOPs and memory traffic (from the IR) next
to the least time this machine could take for them (`roofline.peaks`)."""

from .measure import ProfileRow, profile
from .roofline import Peaks, peaks

__all__ = ["Peaks", "ProfileRow", "peaks", "profile"]
