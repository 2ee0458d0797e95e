"""Tensor types: ordered named axes with symbolic sizes.

The order of `axes` is the physical order the generated code keeps the tensor in, after
its leading broadcast (batch) dimensions; semantics never depend on it, since tensors
combine by axis name.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sizes import Size


@dataclass(frozen=True)
class Axis:
    name: str
    size: Size

    def __str__(self) -> str:
        return self.name if self.size.as_symbol() == self.name else f"{self.name}={self.size}"


@dataclass(frozen=True)
class TensorType:
    """A tensor's named axes; `batch` says whether leading broadcast dimensions precede them."""

    axes: tuple[Axis, ...]
    batch: bool = True
    dtype: str = "float"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def axis(self, name: str) -> Axis | None:
        for a in self.axes:
            if a.name == name:
                return a
        return None

    def size(self, name: str) -> Size:
        axis = self.axis(name)
        assert axis is not None, name
        return axis.size

    def dim(self, name: str) -> int:
        """The physical dimension index of an axis (counting the flattened batch as dim 0)."""
        return self.names.index(name) + (1 if self.batch else 0)

    @property
    def rank(self) -> int:
        return len(self.axes) + (1 if self.batch else 0)

    def replace(self, axes: tuple[Axis, ...] | list[Axis], **kw) -> TensorType:
        return TensorType(tuple(axes), kw.get("batch", self.batch), kw.get("dtype", self.dtype))

    def __str__(self) -> str:
        inner = ", ".join(str(a) for a in self.axes)
        return f"[{'*, ' if self.batch and inner else '*' if self.batch else ''}{inner}]"
