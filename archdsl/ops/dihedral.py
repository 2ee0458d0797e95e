"""Symmetry rules of `orbit` and `unorbit` over the dihedral group D4 (`group = dihedral`:
p4m, the eight quarter turns and reflections of a square plane; entry 4 s + k of the orbit is
x reflected along the first axis s times, then turned k quarter turns).

The analysis checks a `dihedral(Y, X)` contract one generator at a time (rot90(Y, X), then
flip(Y): together they generate D4), so these rules see a single factor h on the plane. For any
h in D4, entry g of the orbit of h x is e_g h x = e_{g'} x for the g' with e_{g'} = e_g h: the
orbit of h x is the orbit of x with G permuted by a fixed permutation of h (right
multiplication), and the plane no longer moves. `unorbit` undoes it: entry g of the result is
e_g^-1 y[g], so when y[g] = y0[g'] the result is h (e_{g'}^-1 y0[g']): the plane moves by h
again, G still by the same permutation (reduced away by `mean[G]`).
"""

from __future__ import annotations

from ..sizes import Size

ORIGIN = "dihedral orbit"


def dihedral_orbit(rule, s, hit, over: tuple[str, ...], g: str):
    """A turn of the plane or a reflection of one of its axes becomes a fixed permutation of G."""
    f = hit[0]
    plane = f.kind == "rot" and set(f.axes) == set(over)
    mirror = f.kind == "flip" and len(f.axes) == 1 and f.axes[0] in over
    if len(hit) != 1 or not (plane or mirror):
        return rule.broken(f"`orbit` over the dihedral group does not commute with {f.describe()}",
                           certain=False)
    perm = rule.moved(f, kind="perm", axes=(g,), scale=Size.of(1), origin=(ORIGIN, ("orbit",), over, f))
    return rule.state([x for x in s.factors if x is not f] + [perm])


def dihedral_unorbit(rule, s, cyc, over: tuple[str, ...], g: str):
    """G permuted by the dihedral `orbit` over the same plane: the plane moves again by the
    element that made the permutation."""
    if cyc.kind != "perm" or cyc.origin[:1] != (ORIGIN,) or cyc.origin[2] != over:
        return rule.broken(f"`unorbit` expects {g} to be made by the dihedral `orbit` over "
                           f"{' '.join(over)}", certain=False)
    return rule.state(list(s.factors) + [cyc.origin[3]])
