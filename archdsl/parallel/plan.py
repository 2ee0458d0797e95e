"""What a parallel plan says, independent of how it is derived or applied: which learned
operations are split how, which sizes become local, what must divide, and which collectives
a forward and a backward step make. Plain data, so `archc check` prints it without touching
`torch.distributed`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..errors import ArchError, Span
from ..ir import Precondition

# style -> how the report names it (Megatron's terms)
STYLES = {"colwise": "column-parallel", "rowwise": "row-parallel", "gather": "column-parallel, gathered",
          "vocab": "vocabulary-parallel", "width": "width-parallel"}
BATCH = "B"  # the mapping key for the batch (every leading broadcast dimension): data parallelism


class ParallelError(ArchError):
    """A sharding that cannot run as the spec says (E8xx)."""

    code = "E802"


@dataclass(frozen=True)
class Split:
    """One learned operation split over the tensor-parallel mesh dimension."""

    path: tuple[str, ...]  # the submodule in the generated module tree (attribute names, indices)
    style: str  # a key of STYLES
    axis: str  # the sharded axis
    op: str  # its label: `Linear D → H K`
    span: Span
    block: str
    outer: int = 1  # output rows before the split axis (`R` of `R H K`): interleaved before sharding

    @property
    def fqn(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class LocalSize:
    """A static size the module reads that is sharded: set to its per-rank value."""

    path: tuple[str, ...]  # the module holding it ("" parts: the root)
    attribute: str
    param: str
    full: int
    local: int


@dataclass(frozen=True)
class Collective:
    """One collective over the tensor-parallel group, for one example (batch of 1)."""

    kind: str  # "all_reduce" | "all_gather"
    phase: str  # "forward" | "backward"
    numel: int  # elements of the full tensor it carries, per example when batched
    site: Split
    batched: bool = True  # whether the tensor carries the batch (a Param-derived one does not)

    def elements(self, batch: int) -> int:
        return self.numel * (batch if self.batched else 1)


@dataclass
class Plan:
    """The parallel plan of one block at concrete sizes (see `archdsl.parallel.plan`)."""

    block: str
    shard: dict[str, str]  # axis name -> mesh dimension name
    mesh: dict[str, int]  # mesh dimension name -> size
    sizes: dict[str, int]  # the block's sizes the plan was made at
    fuse: bool
    tp: str | None = None  # the tensor-parallel mesh dimension
    dp: str | None = None  # the data-parallel mesh dimension (from the `B` key)
    splits: list[Split] = field(default_factory=list)
    local_sizes: list[LocalSize] = field(default_factory=list)
    requires: list[Precondition] = field(default_factory=list)
    collectives: list[Collective] = field(default_factory=list)
    units: list[tuple[str, ...]] = field(default_factory=list)  # FSDP units: one per repeated layer
    unsplit: list[str] = field(default_factory=list)  # mapped axes no learned op makes or contracts

    @property
    def tp_size(self) -> int:
        return self.mesh[self.tp] if self.tp else 1

    def counts(self, phase: str) -> Counter:
        """Collectives of one kind per step: {"all_reduce": 24, ...}."""
        return Counter(c.kind for c in self.collectives if c.phase == phase)

    def payload_bytes(self, phase: str, batch: int = 1, itemsize: int = 4) -> int:
        """Bytes of the tensors the collectives of `phase` carry (each counted once)."""
        return sum(c.elements(batch) for c in self.collectives if c.phase == phase) * itemsize

    def wire_bytes(self, phase: str, batch: int = 1, itemsize: int = 4) -> float:
        """Bytes each rank sends in `phase` with ring algorithms: an all-reduce of n bytes
        sends 2 n (p - 1) / p, an all-gather of a result of n bytes sends n (p - 1) / p."""
        p = self.tp_size
        factor = {"all_reduce": 2 * (p - 1) / p, "all_gather": (p - 1) / p}
        return sum(c.elements(batch) * factor[c.kind] for c in self.collectives if c.phase == phase) * itemsize

    def report(self, batch: int = 1, itemsize: int = 4) -> list[str]:
        """The plan as `archc check --shard` prints it: splits and local sizes (repeated layers
        folded into `*`), preconditions with their sources, communication per step."""
        lines = [f"parallel over {', '.join(f'{k}={v}' for k, v in self.mesh.items())} "
                 f"(shard {', '.join(f'{a}={d}' for a, d in self.shard.items())}):"]
        for (path, style, op, span, outer), n in _folded((s.path, s.style, s.op, s.span, s.outer) for s in self.splits):
            lines.append(f"    {STYLES[style]:<26} {path}  {op}  ({_where(span)})" + (f"  x{n}" if n > 1 else "")
                         + (f"  (rows interleaved: {outer} parts)" if outer > 1 else ""))
        for (path, attr, full, local), n in _folded((ls.path + (ls.attribute,), ls.attribute, ls.full, ls.local)
                                                    for ls in self.local_sizes):
            lines.append(f"    local size {path} = {full} / {self.tp_size} = {local}" + (f"  x{n}" if n > 1 else ""))
        for pre in self.requires:
            lines.append(f"    requires {pre}  ({pre.origin})")
        if self.unsplit:
            lines.append(f"    not split: {', '.join(self.unsplit)} (no learned operation makes or contracts it)")
        for phase in ("forward", "backward"):
            counts = self.counts(phase)
            what = ", ".join(f"{n} {kind.replace('_', '-')}" for kind, n in sorted(counts.items())) or "none"
            lines.append(f"    {phase}: {what}; {_mib(self.payload_bytes(phase, batch, itemsize))} carried, "
                         f"{_mib(self.wire_bytes(phase, batch, itemsize))} sent per rank "
                         f"(batch {batch}, {itemsize}-byte elements)")
            for (kind, op, span, numel), n in _folded((c.kind, c.site.op, c.site.span, c.numel)
                                                       for c in self.collectives if c.phase == phase):
                lines.append(f"        {n} x {kind.replace('_', '-')} of {numel} elements after {op} "
                             f"({_where(span)})")
        if self.dp:
            lines.append(f"    data-parallel over {self.dp}: {len(self.units)} fully_shard unit(s) "
                         "(each repeated layer), then the root")
        return lines

    def record(self, batch: int = 1, itemsize: int = 4) -> dict:
        """The plan as JSON data (`archc check --format json`)."""
        return {"block": self.block, "mesh": self.mesh, "shard": self.shard,
                "splits": [{"module": s.fqn, "style": s.style, "axis": s.axis, "op": s.op,
                            "at": _where(s.span)} for s in self.splits],
                "local_sizes": [{"module": ".".join(ls.path), "attribute": ls.attribute, "full": ls.full,
                                 "local": ls.local} for ls in self.local_sizes],
                "requires": [f"{p}" for p in self.requires],
                "collectives": {phase: {"counts": dict(self.counts(phase)),
                                        "payload_bytes": self.payload_bytes(phase, batch, itemsize),
                                        "wire_bytes_per_rank": self.wire_bytes(phase, batch, itemsize)}
                                for phase in ("forward", "backward")},
                "units": [".".join(u) for u in self.units], "unsplit": self.unsplit}


def _folded(items) -> list[tuple[tuple, int]]:
    """Group entries that differ only in repeat indices (`layers.3.mlp` -> `layers.*.mlp`)."""
    out: Counter = Counter()
    for first, *rest in items:
        if isinstance(first, tuple):  # a module path
            first = ".".join("*" if p.isdigit() else p for p in first) or "(root)"
        out[(first, *rest)] += 1
    return list(out.items())


def _where(span: Span) -> str:
    return f"{span.file.rsplit('/', 1)[-1]}:{span.line}"


def _mib(n: float) -> str:
    return f"{n / 2**20:.3f} MiB"
