"""Group actions on named axes and the contracts that name them.

`perm(A, ...)` permutes each named axis independently, `shift(Y, X) by s` translates each
named axis cyclically by multiples of s, `flip(A, ...)` reverses axes, `rot90(Y, X)` turns
the (Y, X) plane by quarter turns (as `torch.rot90(x, k, dims=(Y, X))`). Every action is a
product of generators; each generator gets its own id so the analysis can track it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    roll: str | None = None  # rot90 only: `roll(R)`, this axis rolls by one per quarter turn

    def generators(self) -> list[tuple[str, ...]]:
        """The axes of each independent generator (`perm(N ~ M)`: one generator on N and M)."""
        if self.joint:
            return list(self.joint)
        return [self.axes] if self.group in ("rot90", "dihedral") else [(a,) for a in self.axes]

    def restricted(self, keep: list[int]) -> Action:
        gens = self.generators()
        joint = tuple(gens[i] for i in keep) if self.joint else ()
        return Action(self.group, tuple(a for i in keep for a in gens[i]), self.by, self.span, self.requires,
                      joint, tuple(e for e in self.equal if e[0] in joint), self.roll)

    def text(self, by: Size | None = None) -> str:
        by = self.by if by is None else by
        suffix = f" by {_paren(by)}" if self.group == "shift" and by != ONE else ""
        suffix += f" roll({self.roll})" if self.roll else ""
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
        if self.roll and t.axis(self.roll) is not None:  # a p4 feature map: R rolls with the turn
            out.append(Factor((0,), "cyc", (self.roll,), ONE))
        return out


@dataclass(frozen=True)
class Contract:
    kind: str  # "equivariant" | "invariant"
    action: Action
    span: Span | None = None
    out: Action | None = None  # how the output moves when it differs from the input (stride, p4)

    def text(self, by: Size | None = None) -> str:
        if self.out is None:
            return f"{self.kind} {self.action.text(by)}"
        return f"{self.kind} {self.action.text(by)} -> {self.out_action(by).text()}"

    def out_action(self, by: Size | None = None) -> Action:
        """The action on the outputs when the input moves by multiples of `by` (default: the
        declared `by`): `shift(Y) by 2 -> shift(Y)` at `by 4` is `-> shift(Y) by 2`."""
        out = self.out or self.action
        if by is None or by == self.action.by or self.action.group != "shift":
            return out
        return replace(out, by=out.by * (by / self.action.by))

    def with_by(self, by: Size) -> Contract:
        """The same claim restricted to input shifts by multiples of `by` (a subgroup)."""
        out = self.out_action(by) if self.out is not None else None
        return Contract(self.kind, replace(self.action, by=by, span=None), self.span, out)

    def restricted(self, keep: list[int]) -> Contract:
        """The claim on some generators only (the same ones on both sides)."""
        out = self.out.restricted(keep) if self.out is not None else None
        return Contract(self.kind, self.action.restricted(keep), self.span, out)

    def expected(self, t: TensorType) -> list[Factor]:
        """How an output of type `t` must move: the output action, a shift scaled by how far it
        moves per unit of input shift (`shift(Y) by 2 -> shift(Y)`: by one half)."""
        factors = (self.out or self.action).factors(t)
        if self.out is None or self.action.group != "shift" or self.out.by == self.action.by:
            return factors
        return [replace(f, scale=self.out.by / self.action.by) for f in factors]


def contracts_of(block: BlockIR) -> list[Contract]:
    """The block's declared contracts, checked against its signature (S102-S107, S120-S123)."""
    outs = block.contract_out_by or [None] * len(block.ast.contracts)
    return [_contract(c, by, out_by, block)
            for c, by, out_by in zip(block.ast.contracts, block.contract_by, outs)]


def _contract(c: ast.Contract, by_size: Size | None, out_by: Size | None, block: BlockIR) -> Contract:
    action = _action(c.action, by_size, [t for _, t in block.inputs], block, "input")
    out = None
    if c.out is not None:
        if c.kind == "invariant":
            raise SymmetryError("an invariant contract leaves the output unmoved: it takes no `->`",
                                c.out.span, code="S120", help="write `equivariant ... -> ...`")
        out = _action(c.out, out_by, block.outputs or [], block, "output")
        if out.group != action.group or len(out.generators()) != len(action.generators()):
            raise SymmetryError(f"`-> {out.text()}` must be the same group with as many axes as "
                                f"`{action.text()}`", c.out.span, code="S121",
                                help="`equivariant shift(Y, X) by 2 -> shift(Y, X)`, "
                                     "`equivariant rot90(Y, X) -> rot90(Y, X) roll(R)`")
    outs = block.output_names
    moved = out or action
    for axis in [] if action.joint else [*moved.axes, *([moved.roll] if moved.roll else [])]:
        present = [axis in names for names in outs]
        if c.kind == "invariant" and any(present):
            raise SymmetryError(f"`invariant {action.group}` acts on {axis}, but the output keeps {axis}",
                                c.span, code="S104",
                                help="an invariant axis is reduced away; did you mean `equivariant`?")
        if c.kind == "equivariant" and not all(present) and not (axis == moved.roll and any(present)):
            raise SymmetryError(f"`equivariant {moved.group}` acts on {axis}, which the output lacks",
                                c.span, code="S105", help="did you mean `invariant`?")
    if action.joint:
        joint_outputs(c, block)
    return Contract(c.kind, action, c.span, out)


def _action(a: ast.Action, by_size: Size | None, types: list[TensorType], block: BlockIR,
            side: str) -> Action:
    """One side of a contract checked against the types it acts on (the inputs, or the
    outputs after `->`)."""
    if a.group not in GROUPS:
        raise SymmetryError(f"unknown group `{a.group}`", a.span, code="S102",
                            help="groups: perm(A), perm(N ~ M), shift(Y, X) [by s], flip(A), "
                            "rot90(Y, X) [roll(R)], dihedral(Y, X)")
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
    roll = _roll(a, types, block)
    where = "input" if side == "input" else "output"
    for axis in a.axes:
        if not any(t.axis(axis) is not None for t in types):
            raise SymmetryError(f"`{a.group}` acts on {axis}, which no {where} of `{block.name}` has",
                                a.span, code="S103", help=_signature(block, side))
    if a.group in ("rot90", "dihedral"):
        for t in types:
            if (t.axis(a.axes[0]) is None) != (t.axis(a.axes[1]) is None):
                raise SymmetryError(f"`rot90({', '.join(a.axes)})` needs both axes in every {where} "
                                    f"that has one", a.span, code="S103")
    return Action(a.group, a.axes, by, a.span, requires, a.joint, equal, roll)


def _roll(a: ast.Action, types: list[TensorType], block: BlockIR) -> str | None:
    """`rot90(Y, X) roll(R)`: the regular representation of C4 (a p4 feature map, R of size 4)."""
    if not a.companions:
        return None
    (c, *rest) = a.companions
    if rest or c.group != "roll" or len(c.axes) != 1 or c.by is not None or a.group != "rot90":
        raise SymmetryError("only a quarter turn rolls one more axis: `rot90(Y, X) roll(R)`", c.span,
                            code="S122")
    r = c.axes[0]
    if r in a.axes or not any(t.axis(r) is not None for t in types):
        raise SymmetryError(f"`roll({r})` needs an axis other than {', '.join(a.axes)} that is there",
                            c.span, code="S122")
    sizes = {t.size(r) for t in types if t.axis(r) is not None}
    sizes |= {block.examples[str(n)] for n in sizes if str(n) in block.examples}  # `R = 3`
    wrong = sorted(str(n) for n in sizes if n.is_const and n != Size.of(4))
    if wrong:
        raise SymmetryError(f"`roll({r})` rolls by one per quarter turn: {r} must have size 4, not "
                            f"{', '.join(wrong)}", c.span, code="S123")
    return r


def _signature(block: BlockIR, side: str) -> str:
    if side == "input":
        return f"inputs: {', '.join(f'{n}: {t}' for n, t in block.inputs)}"
    return f"outputs: {', '.join('[' + ', '.join(n) + ']' for n in block.output_names)}"


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
