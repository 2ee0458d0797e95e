"""Random block specs for the symmetry soundness fuzz: one generator of chains of ops over
`h: [T, Y, X, D]` (depth up to 6, through block calls with bindings, grouped bindings and
broadcast axes, constant and symbolic repeats, stride-2 stages and upsampling), and the
claims the analysis proves for them. tests/test_symmetry_verify.py and
tests/test_symmetry_soundness.py (and `make fuzz`) draw from it; the numbers are checked there.

`compose` takes `pick` (choose one of a sequence): Hypothesis's `draw(st.sampled_from(...))`
in the tests, `random.choice` elsewhere, so this module needs neither."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..sizes import Size
from .actions import Action, Contract
from .verdicts import Verdict, judge

if TYPE_CHECKING:
    from ..ir import BlockIR, BlockTable

STEPS = [
    "relu({h})", "tanh({h})", "-{h}", "{h} * 0.5", "dropout({h}, p = 0.2)", "Linear[D -> D]({h})",
    "Linear[T -> T]({h})", "LayerNorm[D]({h})", "BatchNorm[D]({h})", "softmax[T]({h})", "softmax[Y]({h})",
    "{h} + Param[T, D]()", "{h} + Param[D]()", "{h} + {v}", "{h} * {v}",
    "Conv[D -> D over Y X]({h}, kernel = 3, padding = 1, mode = circular)",
    "Conv[D -> D over Y X]({h}, kernel = 3, padding = 1)",
    "Conv[D -> D over Y]({h}, kernel = 1)",
    "roll[Y]({h}, shift = 1)", "roll[Y]({h}, shift = 2)", "flip[Y]({h})", "flip[X]({h})", "rot90[Y X]({h})",
    "maxpool[Y X]({h}, kernel = 3, stride = 1, padding = 1)",
    "blurpool[Y X]({h}, stride = 1, mode = circular)",
    "merge[A B -> Y](relu(split[Y -> A B]({h}, B = 2)))",
    "Inner({h})", "Inner[T = Y]({h})", "Inner[T = (Y X)]({h})", "Inner[T = X, D = D]({h})",
    "ATTN", "DOWN", "UP", "REPEAT",
]
# A called block: attention along its T with a residual, broadcast over the caller's other axes.
INNER = """block Inner[D](x: [T, D]) -> [T, D] {
    k = rename[T -> S](x)
    return x + dot[S](softmax[S](dot[D](x, k)), k)
}
"""
DOWN = ["Conv[D -> D over Y X]({h}, kernel = 2, stride = 2)",
        "Conv[D -> D over Y X]({h}, kernel = 3, stride = 2, padding = 1, mode = circular)",
        "blurpool[Y X]({h}, stride = 2, mode = circular)", "maxpool[Y X]({h}, kernel = 2)",
        "aps[T D over Y X]({h}, stride = 2)"]
UP = "upsample[Y X]({h}, scale = 2)"
# the axes each ending reduces away
ENDS = {"{h}": (), "mean[T]({h})": ("T",), "sum[Y X]({h})": ("Y", "X"), "max[T Y X]({h})": ("T", "Y", "X"),
        "mean[Y]({h})": ("Y",)}
ACTIONS = [("perm", ("T",), 1), ("perm", ("Y",), 1), ("perm", ("D",), 1), ("shift", ("Y",), 1),
           ("shift", ("Y", "X"), 1), ("flip", ("Y",), 1), ("flip", ("X",), 1), ("rot90", ("Y", "X"), 1)]

# Callees on top of INNER: an input-dependent roll (aps) brought back to full size, a callee that
# calls a callee, a flip of the callee's own axis; with the calls that bind them every way.
CALLEES = INNER + """block PhaseUp(x: [C, Y]) -> [C, Y] {
    return upsample[Y](aps[C over Y](x, stride = 2), scale = 2)
}
block Mid[D](x: [T, D]) -> [T, D] {
    h = Inner[T = T](relu(x))
    repeat 2 { h = h + Inner(h) }
    return h
}
block Rev[D](x: [T, D]) -> [T, D] {
    return x + flip[T](x) * 0.5
}
"""
CALLS = ["PhaseUp[C = D]({h})", "PhaseUp[C = (T D)]({h})", "PhaseUp[C = (T X D)]({h})",
         "PhaseUp[C = (T Y D), Y = X]({h})", "Mid({h})", "Mid[T = (Y X)]({h})", "Mid[T = Y, D = D]({h})",
         "Rev({h})", "Rev[T = Y]({h})", "Rev[T = (Y X)]({h})", "SYMREPEAT"]
MORE_ACTIONS = [("shift", ("Y",), 2), ("shift", ("Y", "X"), 2), ("flip", ("Y", "X"), 1), ("perm", ("T", "D"), 1)]


def compose(pick: Callable[[Sequence], Any], depth: int, steps: Sequence[str] = tuple(STEPS),
            callees: str = INNER, repeats: Sequence[str] = ("Inner[T = Y](relu({n}))",)) -> tuple[str, list[str]]:
    """A block `Fuzz` (after `callees`) chaining `depth` steps; its output axes. "DOWN"/"UP" are
    stride-2 stages and upsampling (at most two down); "REPEAT"/"SYMREPEAT" repeat one of
    `repeats` 2 or L times; "ATTN" is attention along T; `{v}` an earlier value of equal size."""
    lines, level, names, h = [], {"x": 0}, ["x"], "x"
    for i in range(depth):
        step, new, lvl = pick(steps), f"h{i}", level[h]
        if step == "ATTN":
            lines.append(f"k{i} = rename[T -> S]({h})")
            expr = f"dot[S](softmax[S](dot[D]({h}, k{i})), k{i})"
        elif step in ("DOWN", "UP"):
            if lvl == (2 if step == "DOWN" else 0):
                continue
            expr = (pick(DOWN) if step == "DOWN" else UP).format(h=h)
            lvl += 1 if step == "DOWN" else -1
        elif step in ("REPEAT", "SYMREPEAT"):
            count = "2" if step == "REPEAT" else "L"
            lines += [f"{new} = {h}", f"repeat {count} {{ {new} = {pick(repeats).format(n=new)} }}"]
            level[new], h = lvl, new
            names.append(new)
            continue
        else:
            expr = step.format(h=h, v=pick([n for n in names if level[n] == lvl]))
        lines.append(f"{new} = {expr}")
        level[new], h = lvl, new
        names.append(new)
    end = pick(list(ENDS))
    out = [a for a in ("T", "Y", "X", "D") if a not in ENDS[end]]
    body = "\n".join(f"    {line}" for line in lines)
    return (callees + f"block Fuzz[T = 3, D = 3, L = 2](x: [T, Y = 8, X = 8, D]) -> [{', '.join(out)}] "
            f"{{\n{body}\n    return {end.format(h=h)}\n}}\n"), out


def proven_claims(table: BlockTable, ir: BlockIR, out: list[str], actions=ACTIONS) -> list[Verdict]:
    """Every claim over `actions` ((group, axes, by)) that the analysis proves for block `ir`, or
    proves for a subgroup (then the subgroup's claim): what a soundness check must measure."""
    claims = []
    for group, axes, by in actions:
        kept = [a in out for a in axes]
        if any(kept) and not all(kept):
            continue
        kind = "equivariant" if all(kept) else "invariant"
        v = judge(table, ir, Contract(kind, Action(group, axes, Size.of(by))))
        if v.verdict == "proven":
            claims.append(v)
        elif v.subgroup_verdict == "proven" and v.subgroup_claim is not None:
            claims.append(replace(v, claim=v.subgroup_claim, verdict="proven"))
    return claims
