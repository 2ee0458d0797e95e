"""The syntax tree: frozen dataclasses, one per grammar rule, each keeping its span."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .errors import Span

AxisTerm = Union[str, tuple[str, ...]]  # a name, or a parenthesised group `(My Mx)`


@dataclass(frozen=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True)
class Number:
    value: int | float
    span: Span


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span


@dataclass(frozen=True)
class String:
    value: str
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str  # one of + - * / // % **
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class Neg:
    operand: Expr
    span: Span


@dataclass(frozen=True)
class AxisClause:
    """`D -> H K`, `C -> F over Y X`, `S`, `Y X`: axes acted on, produced, and spatial axes."""

    lhs: tuple[AxisTerm, ...]
    rhs: tuple[AxisTerm, ...] | None
    over: tuple[AxisTerm, ...] | None
    span: Span


@dataclass(frozen=True)
class Binding:
    """`H = 8` (a size) or `T = Y` / `T = (My Mx)` (an axis) at a block call."""

    name: str
    value: Expr | tuple[str, ...]
    span: Span


Clause = Union[AxisClause, Binding]


@dataclass(frozen=True)
class Call:
    func: str
    spec: tuple[Clause, ...] | None
    args: tuple[Expr, ...]
    kwargs: tuple[tuple[str, Expr], ...]
    span: Span
    func_span: Span
    label: str | None = None  # `... as qkv`: the submodule's name, and an instance to call again
    label_span: Span | None = None


Expr = Union[Name, Number, Bool, String, BinOp, Neg, Call]


@dataclass(frozen=True)
class TypeAxis:
    name: str
    example: Expr | None  # `Y = 224`: an example size for a free axis
    span: Span


@dataclass(frozen=True)
class TensorTypeExpr:
    axes: tuple[TypeAxis, ...]
    dtype: str | None
    span: Span


@dataclass(frozen=True)
class SizeParam:
    name: str
    default: Expr | None
    span: Span


@dataclass(frozen=True)
class Param:
    name: str
    type: TensorTypeExpr
    span: Span


@dataclass(frozen=True)
class Action:
    """A group action: `perm(T)`, `shift(Y, X) by 2`."""

    group: str
    axes: tuple[str, ...]
    by: Expr | None
    span: Span
    joint: tuple[tuple[str, ...], ...] = ()  # `perm(N ~ M, D)`: ((N, M), (D,)), one generator each
    companions: tuple[Action, ...] = ()  # `rot90(Y, X) roll(R)`: moved by the same generator


@dataclass(frozen=True)
class Contract:
    kind: str  # "equivariant" | "invariant"
    action: Action
    span: Span
    out: Action | None = None  # `-> shift(Y, X)`: how the output moves (None: as the input)


@dataclass(frozen=True)
class Assign:
    targets: tuple[str, ...]
    value: Expr
    span: Span


@dataclass(frozen=True)
class Return:
    values: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Repeat:
    count: Expr
    body: tuple[Stmt, ...]
    span: Span
    index: str | None = None  # `repeat i in 4 { ... }`: the iteration number, a static size


@dataclass(frozen=True)
class Doc:
    text: str
    span: Span


@dataclass(frozen=True)
class If:
    """`if a == b { ... } else { ... }` (or `if flag { ... }`): a static choice."""

    left: Expr
    op: str | None  # "==", "!=", "<", "<=", ">", ">=", or None for `if flag`
    right: Expr | None
    then: tuple
    orelse: tuple
    span: Span


Stmt = Union[Assign, Return, Repeat, If, Doc]


@dataclass(frozen=True)
class Block:
    name: str
    params: tuple[SizeParam, ...]
    inputs: tuple[Param, ...]
    outputs: tuple[TensorTypeExpr, ...]
    contracts: tuple[Contract, ...]
    body: tuple[Stmt, ...]
    span: Span
    name_span: Span
    source: str = field(default="", compare=False)  # the block's text, for docs

    @property
    def doc(self) -> str:
        """The docstring: a string that is the body's first statement."""
        return self.body[0].text if self.body and isinstance(self.body[0], Doc) else ""


@dataclass(frozen=True)
class Import:
    module: str
    is_file: bool
    names: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class Module:
    path: str
    imports: tuple[Import, ...]
    blocks: tuple[Block, ...]
