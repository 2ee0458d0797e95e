"""The elements of the dihedral group D4 (p4m: quarter turns and reflections of a square
plane) for `archc verify`: every one of the seven elements other than the identity is measured,
not a sample, since a claim can fail for a reflection alone (a rotation-symmetric but chiral
kernel) or for one turn alone.

Element (k, s) maps an image x to `rot90(flip(x, Y)^s, k, (Y, X))`: first reflect Y when s = 1,
then turn k quarter turns, the same order as `orbit[G over Y X](x, group = dihedral)` entry
4 s + k (archdsl/interpret/axes.py).
"""

from __future__ import annotations

DIHEDRAL = [(k, s) for s in (0, 1) for k in range(4)][1:]  # (k, s): all but the identity


def dihedral_parts(element: dict) -> list[dict]:
    """Every non-identity element of each dihedral action in `element` (one plane each)."""
    return [{axes: g} for axes in element for g in DIHEDRAL]


def dihedral_act(x, dims: list[int], g: tuple[int, int]):
    """Apply element g = (k, s) to x over the two dims (Y, X)."""
    import torch
    k, s = g
    return torch.rot90(x.flip(dims[0]) if s else x, k, dims)


def dihedral_describe(axes: tuple[str, ...], g: tuple[int, int]) -> str:
    k, s = g
    flip = f"flip {axes[0]}, then " if s else ""
    return f"{flip}rot90 {', '.join(axes)} k={k}" if k else f"flip {axes[0]}"
