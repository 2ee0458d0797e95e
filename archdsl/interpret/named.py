"""Named tensors: a torch tensor whose trailing dimensions carry axis names.

Leading dimensions that have no name are broadcast dimensions (the batch, windows...): any
number of them, combined by PyTorch's right-aligned broadcasting. Everything the interpreter
does goes through a name; positions only matter inside one of these helpers."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class NamedTensor:
    """`data` has shape (*lead, *sizes of `names`); the lead dimensions are unnamed."""

    data: torch.Tensor
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.data.dim() < len(self.names) or len(set(self.names)) != len(self.names):
            raise ValueError(f"bad named tensor: shape {tuple(self.data.shape)}, names {self.names}")

    @property
    def lead(self) -> int:
        """How many unnamed leading (broadcast) dimensions there are."""
        return self.data.dim() - len(self.names)

    @property
    def lead_shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape[:self.lead])

    def dim(self, name: str) -> int:
        """The position of a named axis in `data`."""
        if name not in self.names:
            raise KeyError(f"no axis {name} in {self.names}")
        return self.lead + self.names.index(name)

    def size(self, name: str) -> int:
        return self.data.shape[self.dim(name)]

    def has(self, name: str) -> bool:
        return name in self.names

    def order(self, names: list[str] | tuple[str, ...]) -> NamedTensor:
        """The same tensor with its named axes permuted to `names` (all of them)."""
        if sorted(names) != sorted(self.names):
            raise ValueError(f"cannot order {self.names} as {tuple(names)}")
        perm = list(range(self.lead)) + [self.dim(n) for n in names]
        return NamedTensor(self.data.permute(perm), tuple(names))

    def last(self, names: list[str] | tuple[str, ...]) -> NamedTensor:
        """`names` moved to the end, in that order; the other named axes keep theirs."""
        rest = [n for n in self.names if n not in names]
        return self.order(rest + list(names))

    def aligned(self, names: list[str] | tuple[str, ...]) -> torch.Tensor:
        """`data` laid out as (*lead, *names), with a size-1 dimension for every name this tensor
        lacks: ready to broadcast against another tensor aligned the same way."""
        missing = [n for n in self.names if n not in names]
        if missing:
            raise ValueError(f"axes {missing} are not in {tuple(names)}")
        x = self.order([n for n in names if n in self.names]).data
        for i, n in enumerate(names):
            if n not in self.names:
                x = x.unsqueeze(self.lead + i)
        return x

    def rename(self, mapping: dict[str, str]) -> NamedTensor:
        return NamedTensor(self.data, tuple(mapping.get(n, n) for n in self.names))

    def with_data(self, data: torch.Tensor, names: tuple[str, ...] | None = None) -> NamedTensor:
        return NamedTensor(data, self.names if names is None else tuple(names))

    def split(self, name: str, parts: list[tuple[str, int]]) -> NamedTensor:
        """Axis `name` cut row-major into `parts` (name, size), in its place."""
        i = self.names.index(name)
        data = self.data.unflatten(self.dim(name), tuple(s for _, s in parts))
        return NamedTensor(data, self.names[:i] + tuple(n for n, _ in parts) + self.names[i + 1:])

    def merge(self, parts: tuple[str, ...], into: str) -> NamedTensor:
        """Axes `parts` joined row-major (the first outermost) into one axis `into`, at the end."""
        x = self.last(parts)
        data = x.data.flatten(x.data.dim() - len(parts)) if parts else x.data.unsqueeze(-1)
        return NamedTensor(data, x.names[:len(x.names) - len(parts)] + (into,))

    def index(self, name: str, idx: torch.Tensor) -> NamedTensor:
        """Positions `idx` (a 1-d index tensor) of axis `name`, in that order."""
        return self.with_data(self.data.index_select(self.dim(name), idx.to(self.data.device)))


def union(*tensors: NamedTensor) -> tuple[str, ...]:
    """Every axis name of `tensors`, in order of first appearance."""
    out: list[str] = []
    for t in tensors:
        out += [n for n in t.names if n not in out]
    return tuple(out)


def broadcast(*tensors: NamedTensor) -> tuple[list[torch.Tensor], tuple[str, ...]]:
    """The tensors' data aligned on the union of their names, lead dimensions broadcast."""
    names = union(*tensors)
    datas = [t.aligned(names) for t in tensors]
    lead = torch.broadcast_shapes(*(t.lead_shape for t in tensors))
    return [d.expand(*lead, *d.shape[d.dim() - len(names):]) for d in datas], names
