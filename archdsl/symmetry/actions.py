"""Group actions on named axes and the contracts that name them.

`perm(A, ...)` permutes each named axis independently, `shift(Y, X) by s` translates each
named axis cyclically by multiples of s, `flip(A, ...)` reverses axes, `rot90(Y, X)` turns
the (Y, X) plane by quarter turns (as `torch.rot90(x, k, dims=(Y, X))`). Every action is a
product of generators; each generator gets its own id so the analysis can track it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..errors import Span, SymmetryError
from ..ir import BlockIR
from ..sizes import Size
from ..types import TensorType
from .joint import joint_conditions, joint_outputs
from .state import ONE, Factor

GROUPS = {"perm": "perm", "shift": "shift", "flip": "flip", "rot90": "rot", "dihedral": "dihedral"}


@dataclass(frozen=True)
class Action:
    group: str  # "perm" | "shift" | "flip" | "rot90"
    axes: tuple[str, ...]
    by: Size = ONE  # shift only: multiples of this
    span: Span | None = None
    requires: tuple[tuple[Size, Size], ...] = ()  # (length, modulus): `by M / 2` needs M % 2 == 0
    joint: tuple[tuple[str, ...], ...] = ()  # perm(N ~ M, D): the axes of each generator
    equal: tuple[tuple[tuple[str, ...], str], ...] = ()  # perm(N ~ M): its axes' sizes equal ("N == M")

    def generators(self) -> list[tuple[str, ...]]:
        """The axes of each independent generator (`perm(N ~ M)`: one generator on N and M)."""
        if self.joint:
            return list(self.joint)
        return [self.axes] if self.group in ("rot90", "dihedral") else [(a,) for a in self.axes]

    def restricted(self, keep: list[int]) -> Action:
        gens = self.generators()
        joint = tuple(gens[i] for i in keep) if self.joint else ()
        return Action(self.group, tuple(a for i in keep for a in gens[i]), self.by, self.span, self.requires,
                      joint, tuple(e for e in self.equal if e[0] in joint))

    def text(self, by: Size | None = None) -> str:
        by = self.by if by is None else by
        suffix = f" by {_paren(by)}" if self.group == "shift" and by != ONE else ""
        axes = [" ~ ".join(g) for g in self.joint] if self.joint else self.axes
        return f"{self.group}({', '.join(axes)}){suffix}"

    def factors(self, t: TensorType, env: dict[str, Size] | None = None) -> list[Factor]:
        """How the generators act on a tensor of type `t` (inputs, and outputs of equivariance)."""
        out = []
        for i, axes in enumerate(self.generators()):
            if self.joint and self.group == "perm":  # the same permutation on each of its axes
                out += [Factor((i,), "perm", (a,)) for a in axes if t.axis(a) is not None]
                continue
            if not all(t.axis(a) is not None for a in axes):
                continue
            kind = GROUPS[self.group]
            base = t.size(axes[0]).subs(env or {}) if kind == "shift" else ONE
            out.append(Factor((i,), kind, axes, ONE, base))
        return out


@dataclass(frozen=True)
class Contract:
    kind: str  # "equivariant" | "invariant"
    action: Action
    span: Span | None = None

    def text(self, by: Size | None = None) -> str:
        return f"{self.kind} {self.action.text(by)}"


def contracts_of(block: BlockIR) -> list[Contract]:
    """The block's declared contracts, checked against its signature (S102-S107)."""
    return [_contract(c, by, block) for c, by in zip(block.ast.contracts, block.contract_by)]


def _contract(c: ast.Contract, by_size: Size | None, block: BlockIR) -> Contract:
    a = c.action
    if a.group not in GROUPS:
        raise SymmetryError(f"unknown group `{a.group}`", a.span, code="S102",
                            help="groups: perm(A), perm(N ~ M), shift(Y, X) [by s], flip(A), rot90(Y, X), "
                            "dihedral(Y, X)")
    if len(set(a.axes)) != len(a.axes):
        raise SymmetryError(f"`{a.group}` names an axis twice", a.span, code="S106")
    if a.group in ("rot90", "dihedral") and len(a.axes) != 2:
        raise SymmetryError(f"`{a.group}` turns the plane of exactly two axes: `{a.group}(Y, X)`", a.span,
                            code="S106")
    equal = joint_conditions(a, block) if a.joint else ()
    by, requires = ONE, ()
    if a.by is not None:
        if a.group != "shift":
            raise SymmetryError(f"`by` restricts shifts only, not `{a.group}`", a.by.span, code="S107")
        by, requires = _positive(by_size, a.by.span)
    ins = [t for _, t in block.inputs]
    for axis in a.axes:
        if not any(t.axis(axis) is not None for t in ins):
            raise SymmetryError(f"`{a.group}` acts on {axis}, which no input of `{block.name}` has",
                                a.span, code="S103",
                                help=f"inputs: {', '.join(f'{n}: {t}' for n, t in block.inputs)}")
    if a.group in ("rot90", "dihedral"):
        for n, t in block.inputs:
            if (t.axis(a.axes[0]) is None) != (t.axis(a.axes[1]) is None):
                raise SymmetryError(f"`rot90({', '.join(a.axes)})` needs both axes in `{n}`", a.span,
                                    code="S103")
    outs = block.output_names
    for axis in ([] if a.joint else a.axes):
        present = [axis in names for names in outs]
        if c.kind == "invariant" and any(present):
            raise SymmetryError(f"`invariant {a.group}` acts on {axis}, but the output keeps {axis}",
                                c.span, code="S104",
                                help="an invariant axis is reduced away; did you mean `equivariant`?")
        if c.kind == "equivariant" and not all(present):
            raise SymmetryError(f"`equivariant {a.group}` acts on {axis}, which the output lacks",
                                c.span, code="S105", help="did you mean `invariant`?")
    if a.joint:
        joint_outputs(c, block)
    return Contract(c.kind, Action(a.group, a.axes, by, a.span, requires, a.joint, equal), c.span)


def _positive(value: Size, span) -> tuple[Size, tuple[tuple[Size, Size], ...]]:
    """A `by` (evaluated by the elaborator) must be a positive size; a symbolic fraction with a
    constant denominator (Swin's half window, `by M / 2`) is whole under a condition on the
    sizes (`M % 2 == 0`), which every verdict on the contract then requires."""
    if value.is_const and value.const < 1:
        raise SymmetryError(f"`by` takes a whole positive size, not {value}", span, code="S107")
    if value.is_integral:
        return value, ()
    num, den = value.split_fraction()
    if value.is_const or not den.is_const or not num.is_integral:
        raise SymmetryError(f"`by` takes a whole positive size, not {value}", span, code="S107",
                            help="a size divided by a constant is allowed: `by M / 2`")
    return value, ((num, den),)


def _paren(s: Size) -> str:
    text = str(s)
    return f"({text})" if " " in text else text
