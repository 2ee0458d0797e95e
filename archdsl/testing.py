"""Hypothesis strategies and pytest helpers for blocks written in archdsl.

`block_sizes(program, block)` draws concrete sizes (static parameters and free axes) under which
the block is valid: every precondition holds and every axis of every value is at least 1. Sizes
are kept small so the generated module runs in milliseconds. `broken_sizes` draws sizes that
violate one named precondition, to check it is refused.

    from hypothesis import given
    from archdsl import compile_file
    from archdsl.testing import block_sizes, run_block

    program = compile_file("examples/transformer.arch")

    @given(block_sizes(program, "EncoderLayer"))
    def test_shapes(sizes):
        outputs, expected = run_block(program, "EncoderLayer", sizes)
        assert [list(o.shape[1:]) for o in outputs] == expected

Symmetry claims too: `assert_symmetries(program, "DeepSet")` checks every contract and inferred
symmetry numerically (proven below 1e-6, refuted with a counterexample above 1e-3); it is
`archdsl.verify.assert_symmetries`, re-exported here.
"""

from __future__ import annotations

import random
from fractions import Fraction
from math import lcm
from typing import Any, Callable

from .optional import require

try:
    from hypothesis import strategies as st
except ImportError:  # named, with the extra that brings it, instead of a bare traceback
    require("hypothesis", feature="archdsl.testing", extra="verify")
    raise

from . import static
from .errors import ArchError
from .ir import BlockIR, Precondition
from .passes.feasibility import solve_free
from .passes.stats import resolve_sizes
from .program import Program
from .sizes import Size
from .verify import Check, assert_symmetries, verify_block

__all__ = ["Check", "assert_symmetries", "block_sizes", "broken_sizes", "drawn_symbols", "example_inputs",
           "random_sizes", "run_block", "verify_block"]

SMALL = 16  # the largest value drawn for a size with no smaller default


def drawn_symbols(block: BlockIR) -> list[str]:
    """The sizes a test chooses: size parameters whose default is a constant (or absent) and
    the free axes. Derived parameters (`K = D / H`) keep their formulas."""
    names = [p.name for p in block.params.values()
             if p.kind == "size" and (p.default is None or not static.symbols(p.default))]
    return names + list(block.free)


def _bound(block: BlockIR, name: str) -> int:
    default = block.params[name].default if name in block.params else block.examples.get(name)
    if isinstance(default, Size) and default.is_const:
        return max(1, min(int(default.const), SMALL))
    return SMALL


def _multiple_of(pre: Precondition, drawn: set[str]) -> tuple[str, int] | None:
    """For `S % M == 0`, or `(S // a) % M == 0` and the like (see `_floor_chain`), with S a drawn
    symbol not in M: (S, g). S is then drawn last, as a multiple of g M, which is enough."""
    chain = _floor_chain(pre.lhs) if pre.kind == "divides" else None
    return chain if chain and chain[0] in drawn and chain[0] not in pre.rhs.symbols() else None


def _floor_chain(size: Size) -> tuple[str, int] | None:
    """(S, g) such that `size` is a multiple of m whenever S is a multiple of g m: for one symbol S
    under positive rational factors and floor divisions by constants (`(S // 4) / 2`: g = 8)."""
    if len(size.terms) != 1:
        return None
    ((mono, coef),) = size.terms
    if coef <= 0 or len(mono) != 1 or mono[0][1] != 1:
        return None
    atom = mono[0][0]
    if atom.is_symbol:
        return atom.name, coef.denominator
    if not atom.is_floor or not (atom.den.is_const and atom.den.const.denominator == 1):
        return None
    inner = _floor_chain(atom.num)
    return (inner[0], inner[1] * int(atom.den.const) * coef.denominator) if inner else None


def _with_defaults(block: BlockIR, values: dict[str, int]) -> dict[str, Any]:
    """`values` with the derived parameters (`K = D / H`) evaluated, preconditions unchecked."""
    env: dict[str, Any] = dict(values)
    for p in block.params.values():
        if p.name not in env and p.default is not None:
            env[p.name] = static.evaluate(p.default, env)
    return env


def _forced(block: BlockIR, values: dict[str, int]) -> dict[str, int]:
    """Free sizes that an equality ties to the drawn ones (`M == N`): the value it forces, so
    that drawing does not have to hit it by chance."""
    others = _with_defaults(block, {k: v for k, v in values.items() if k not in block.free})
    solved = solve_free(block.preconditions, others, block.free)
    return {f: solved[f] for f in block.free if f in solved}


def _env(program: Program, block: BlockIR, values: dict[str, int]) -> dict[str, int] | None:
    try:
        env = resolve_sizes(program.table, block, values)
    except ArchError:
        return None
    return {k: v for k, v in env.items() if k in values}


def _free_range(program: Program, block: BlockIR) -> tuple[int, int]:
    """Free axes are drawn from 1..SMALL unless the block needs larger inputs (ConvNeXt's 4x stem
    and three 2x downsamplings need 32): then from n..2n, n the smallest power of two that works."""
    others = {k: _bound(block, k) for k in drawn_symbols(block) if k not in block.free}
    n = SMALL
    while block.free and n < 1024 and _env(program, block, {**others, **dict.fromkeys(block.free, n)}) is None:
        n *= 2
    return (1, SMALL) if n == SMALL or n >= 1024 else (n, 2 * n)


def _pick_sizes(pick: Callable[[int, int, str], int | None], program: Program, block: BlockIR,
                broken: Precondition | None, free_range: tuple[int, int]) -> dict[str, int] | None:
    """Sizes for `block` from `pick(lo, hi, label)` (a Hypothesis draw, or a seeded random
    choice); None when they do not satisfy the preconditions (or `broken` is not broken)."""
    names = drawn_symbols(block)
    if broken is not None:  # a derived parameter (`K = C * r * r`, `F = C`) is drawn too, so that
        # `broken` can fail while another precondition on it holds (`C % g` broken, `F % g` kept)
        others = set().union(*(p.symbols() for p in block.preconditions))
        names += sorted(n for n in (broken.symbols() | others) - set(names) if n in block.params)
    multiples: dict[str, list[tuple[int, Precondition]]] = {}
    for pre in block.preconditions:
        if pre is not broken and (found := _multiple_of(pre, set(names))) is not None:
            multiples.setdefault(found[0], []).append((found[1], pre))
    free_lo, free_hi = free_range
    values: dict[str, int] = {}
    for name in sorted(names, key=lambda n: n in multiples):  # divisors before their multiples
        lo, hi = (free_lo, max(free_hi, _bound(block, name))) if name in block.free and free_lo > 1 else \
            (1, _bound(block, name))
        if broken is not None and name in broken.symbols():
            hi = max(hi, SMALL)  # a group count that defaults to 1 must be able to leave it
        if broken is not None and broken.kind == "at_least" and name in broken.symbols():
            lo = 0  # `repeat n - 1` is broken by n = 0
        values[name] = pick(lo, hi, name)
        known = [a * int(pre.rhs.evaluate(values)) for a, pre in multiples.get(name, ())
                 if pre.rhs.symbols() <= values.keys()]
        m = lcm(*known) if known else 0
        if m >= 1:
            k_lo = max(1, -(-lo // m))
            values[name] = m * pick(k_lo, max(k_lo, hi // m), f"{name}/{m}")
    if broken is not None:
        env = _with_defaults(block, values)
        if broken.holds(env) or not all(p.holds(env) for p in block.preconditions if p is not broken):
            return None
        if any(isinstance(v, (float, Fraction)) and v != int(v) for k, v in env.items() if k not in values):
            return None  # a derived default (`K = D / H`) must be whole, or the module refuses it first
        return values
    values.update(_forced(block, values))
    return _env(program, block, values)


@st.composite
def _sizes(draw: st.DrawFn, program: Program, block: BlockIR, broken: Precondition | None,
           free_range: tuple[int, int]) -> dict[str, int]:
    values = _pick_sizes(lambda lo, hi, label: draw(st.integers(lo, hi), label=label), program, block,
                         broken, free_range)
    if values is None:
        draw(st.nothing())
    return values


def random_sizes(program: Program, block: str, seed: int = 0, tries: int = 100) -> dict[str, int] | None:
    """Valid sizes for `block` drawn like `block_sizes`, but from a seeded `random.Random` (for
    use outside Hypothesis, e.g. inside a fuzzer's own test); sizes of at least 2 are preferred,
    since a size of 1 hides which axis an op acts on. None if `tries` draws found none."""
    ir = program.block(block)
    rng = random.Random(seed)
    free_range = _free_range(program, ir)
    for i in range(tries):
        least = 2 if i < tries // 2 else 1
        values = _pick_sizes(lambda lo, hi, label: rng.randint(max(lo, min(least, hi)), hi), program, ir,
                             None, free_range)
        if values is not None:
            return values
    return None


def block_sizes(program: Program, block: str) -> st.SearchStrategy[dict[str, int]]:
    """Sizes under which `block` is valid (preconditions hold, no axis is empty)."""
    ir = program.block(block)
    return _sizes(program, ir, None, _free_range(program, ir))


def broken_sizes(program: Program, block: str, pre: Precondition) -> st.SearchStrategy[dict[str, int]]:
    """Sizes that satisfy every precondition of `block` except `pre`, which they violate."""
    ir = program.block(block)
    return _sizes(program, ir, pre, _free_range(program, ir))


def example_inputs(program: Program, block: str, sizes: dict[str, int], batch: int = 2, seed: int = 0) -> list:
    """Random input tensors for `block` at `sizes`, with one leading batch axis. Integer inputs
    (token ids) are drawn below the smallest size the block is given, so any embedding accepts them."""
    require("torch", feature="archdsl.testing", extra="verify")
    import torch

    ir = program.block(block)
    env = _with_defaults(ir, sizes)  # no precondition check: the module itself must refuse
    gen = torch.Generator().manual_seed(seed)
    low = min([v for v in env.values() if type(v) is int and v > 0] or [1])
    out = []
    for (name, t) in ir.inputs:
        shape = (batch, *(int(a.size.evaluate(env)) for a in t.axes))
        if t.dtype == "int":
            out.append(torch.randint(0, low, shape, generator=gen))
        elif t.dtype == "bool":
            out.append(torch.randint(0, 2, shape, generator=gen).bool())
        else:
            out.append(torch.randn(shape, generator=gen))
    return out


def run_block(program: Program, block: str, sizes: dict[str, int], fuse: bool = True,
              batch: int = 2) -> tuple[list[Any], list[list[int]]]:
    """Instantiate the generated module at `sizes`, run it on random inputs, and return its
    outputs (always a list) with the output shapes the IR predicts (without the batch axis)."""
    require("torch", feature="archdsl.testing", extra="verify")
    import torch

    ir = program.block(block)
    params = {k: v for k, v in sizes.items() if k in ir.params}
    torch.manual_seed(0)
    module = program.module(block, fuse=fuse, **params).eval()
    with torch.no_grad():
        result = module(*example_inputs(program, block, sizes, batch))
    outputs = list(result) if isinstance(result, tuple) else [result]
    return outputs, program.stats(block, **sizes)["outputs"]
