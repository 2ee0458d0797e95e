"""What an op case receives, and the table of op cases.

An op case is a plain function `(call, *inputs) -> NamedTensor` registered under the op's
registry name with `@case("name")`. It reads its axes and options from the IR node, its
weights from the objects the generated module stores them in (`call.held`), and computes the
result the most obvious way with torch tensor math."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from .. import static
from ..errors import Span
from ..ir import Node
from ..sizes import Size
from .named import NamedTensor


class InterpretError(Exception):
    """The interpreter cannot run a node, or found it disagrees with the checker."""

    def __init__(self, message: str, span: Span | None = None):
        where = f"{span.file}:{span.line}:{span.column}: " if span is not None else ""
        super().__init__(where + message)
        self.span = span


@dataclass
class OpCall:
    """One op node being run: its node, the block's sizes, the weights the generated module
    holds for it (in the order the code generator created them) and the module's mode."""

    node: Node
    env: dict[str, Any]
    held: list[Any]
    training: bool

    @property
    def attrs(self) -> dict[str, Any]:
        return self.node.attrs

    def kw(self, key: str) -> Any:
        """An option's value at the block's sizes (`kernel = k` with k = 3 is 3)."""
        return static.evaluate(self.node.attrs["kw"][key], self.env)

    def kw_value(self, value: Any) -> Any:
        """A static value (a size, `sqrt(K)`, a flag) at the block's sizes."""
        return static.evaluate(value, self.env)

    def n(self, size: Size) -> int:
        value = size.evaluate(self.env)
        if value.denominator != 1:
            raise InterpretError(f"size {size} is {value} here, not a whole number", self.node.span)
        return int(value)

    def axis(self, name: str) -> int:
        """The size of a new axis the op makes: as its spec gives it (`V = 2 * W`), else the
        block's size of that name."""
        size = self.node.attrs.get("spec_sizes", {}).get(name)
        return self.n(size) if size is not None else self.env[name]

    def weight(self, i: int = 0) -> Any:
        if len(self.held) <= i:
            raise InterpretError(f"`{self.node.op}` has no weight #{i} in the generated module", self.node.span)
        return self.held[i]

    def fail(self, message: str) -> InterpretError:
        return InterpretError(f"`{self.node.op}`: {message}", self.node.span)


Case = Callable[..., NamedTensor]
OPS: dict[str, Case] = {}


def case(*names: str) -> Callable[[Case], Case]:
    """Register an op case under the registry names it implements."""

    def register(fn: Case) -> Case:
        for name in names:
            if name in OPS:
                raise ValueError(f"two interpreter cases for `{name}`")
            OPS[name] = fn
        return fn

    return register


def einsum_letters(*name_lists: tuple[str, ...]) -> dict[str, str]:
    """A distinct einsum letter for every axis name."""
    names: list[str] = []
    for ns in name_lists:
        names += [n for n in ns if n not in names]
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if len(names) > len(letters):
        raise InterpretError(f"more than {len(letters)} axes in one contraction")
    return dict(zip(names, letters))


def named_einsum(spec_out: tuple[str, ...], *operands: NamedTensor) -> NamedTensor:
    """sum over every axis not in `spec_out` of the product of the operands, matched by name;
    leading dimensions broadcast (`...`)."""
    letters = einsum_letters(*(t.names for t in operands), spec_out)
    subs = ["..." + "".join(letters[n] for n in t.names) for t in operands]
    eq = ",".join(subs) + "->..." + "".join(letters[n] for n in spec_out)
    return NamedTensor(torch.einsum(eq, *(t.data for t in operands)), tuple(spec_out))
