"""Joint permutations: `perm(N ~ M)` is ONE permutation acting on the axes N and M together,
the symmetry of a graph (`x: [N, D]` the node features, `adj: [N, M]` the adjacency with M the
same nodes: `P x`, `P A Pᵀ`). The analysis gives each axis of the group a factor of the same
generator, so a contraction `dot[M](adj, rename[N -> M](x))` cancels it exactly as `dot[S]` of
two tokens moved by one `perm(T)` does; every other rule is unchanged (a rule that is exact for
independent permutations of N and M is exact for the diagonal subgroup).

The permutation acts on axes of equal sizes: the contract requires it (`N == M`, printed with
every verdict) and is refused (S109) when no sizes satisfy it; `~` belongs to `perm` only (S108).
"""

from __future__ import annotations

from .. import ast
from ..errors import SymmetryError
from ..ir import BlockIR, Precondition
from ..sizes import Size


def joint_conditions(a: ast.Action, block: BlockIR) -> tuple[tuple[tuple[str, ...], str], ...]:
    """Each joint group's size equalities, as (axes, "N == M") in the form preconditions are
    printed; refused when they can never hold."""
    if a.group != "perm":
        raise SymmetryError(f"`~` joins the axes of one permutation; `{a.group}` does not take it",
                            a.span, code="S108", help="`perm(N ~ M)`: one permutation of N and M")
    return equalities(a.joint, block, a.span)


def equalities(joint, block: BlockIR, span) -> tuple[tuple[tuple[str, ...], str], ...]:
    """The size conditions of joint groups (S109 when one can never hold)."""
    from ..passes.feasibility import why_infeasible
    out = []
    solved = _solved(block)
    for group in joint:
        sizes = [None if s is None else s.subs(solved) for s in (_size(block, axis) for axis in group)]
        for axis, size in zip(group[1:], sizes[1:]):
            if size is None or sizes[0] is None or size == sizes[0]:
                continue
            pre = _canonical(sizes[0], size, span, f"perm({' ~ '.join(group)})")
            why = why_infeasible(pre)
            if size.is_const and sizes[0].is_const or why:
                raise SymmetryError(f"`perm({' ~ '.join(group)})` permutes {group[0]} and {axis} "
                                    f"together, but their sizes ({sizes[0]} and {size}, with the "
                                    "block's preconditions) can never be equal", span, code="S109",
                                    help="one permutation acts on axes of the same length")
            out.append((group, pre.render()))
    return tuple(out)


def joint_outputs(c: ast.Contract, block: BlockIR) -> None:
    """An equivariant output carries some axis of each joint group; an invariant one none."""
    for group in c.action.joint:
        for names in block.output_names:
            present = [a for a in group if a in names]
            if c.kind == "invariant" and present:
                raise SymmetryError(f"`invariant perm({' ~ '.join(group)})`, but the output keeps "
                                    f"{present[0]}", c.span, code="S104",
                                    help="an invariant axis is reduced away; did you mean `equivariant`?")
            if c.kind == "equivariant" and not present:
                raise SymmetryError(f"`equivariant perm({' ~ '.join(group)})`, but the output has none "
                                    "of these axes", c.span, code="S105", help="did you mean `invariant`?")


def _canonical(a: Size, b: Size, span, origin: str) -> Precondition:
    """`a == b` as the shape pass states equalities (the positive terms of the difference on
    the left), in whichever orientation renders first: the same text for `N ~ M` and `M ~ N`."""
    forms = []
    for diff in (a - b, b - a):
        pos = Size({m: c for m, c in diff.terms if c > 0})
        lhs, rhs = (pos, pos - diff) if pos != 0 else (-diff, Size.of(0))
        forms.append(Precondition("equal", lhs, rhs, span, origin))
    return min(forms, key=lambda p: p.render())


def _solved(block: BlockIR) -> dict[str, Size]:
    """Sizes the block's preconditions fix in terms of others (`M == N + 2` from a padded
    contraction): substituted before asking whether the joint sizes can be equal."""
    out: dict[str, Size] = {}
    for p in block.preconditions:
        if p.kind != "equal":
            continue
        for lhs, rhs in ((p.lhs, p.rhs), (p.rhs, p.lhs)):
            name = lhs.as_symbol()
            if name and name not in out and name not in rhs.symbols():
                out[name] = rhs
                break
    return out


def _size(block: BlockIR, axis: str):
    return next((t.size(axis) for _, t in block.inputs if t.axis(axis) is not None), None)
