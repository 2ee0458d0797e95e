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

from typing import Any

from hypothesis import strategies as st

from . import static
from .errors import ArchError
from .ir import BlockIR, Precondition
from .passes.stats import resolve_sizes
from .program import Program
from .sizes import Size
from .verify import Check, assert_symmetries, verify_block

__all__ = ["Check", "assert_symmetries", "block_sizes", "broken_sizes", "drawn_symbols", "example_inputs",
           "run_block", "verify_block"]

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


def _multiple_of(pre: Precondition, drawn: set[str]) -> str | None:
    """For `S % M == 0` with S a single drawn symbol not in M: S (drawn last, as a multiple)."""
    s = pre.lhs.as_symbol() if pre.kind == "divides" else None
    return s if s in drawn and s not in pre.rhs.symbols() else None


def _env(program: Program, block: BlockIR, values: dict[str, int]) -> dict[str, int] | None:
    try:
        env = resolve_sizes(program, block, values)
    except ArchError:
        return None
    return {k: v for k, v in env.items() if k in values}


@st.composite
def _sizes(draw: st.DrawFn, program: Program, block: BlockIR, broken: Precondition | None) -> dict[str, int]:
    names = drawn_symbols(block)
    multiples = {s: pre for pre in block.preconditions if pre is not broken
                 and (s := _multiple_of(pre, set(names))) is not None}
    values: dict[str, int] = {}
    for name in sorted(names, key=lambda n: n in multiples):  # divisors before their multiples
        values[name] = draw(st.integers(1, _bound(block, name)), label=name)
        pre = multiples.get(name)
        if pre is not None and pre.rhs.symbols() <= values.keys():
            m = int(pre.rhs.evaluate(values))
            if m >= 1:
                values[name] = m * draw(st.integers(1, max(1, _bound(block, name) // m)), label=f"{name}/{m}")
    if broken is not None:
        if broken.holds(values) or not all(p.holds(values) for p in block.preconditions if p is not broken):
            draw(st.nothing())
        return values
    env = _env(program, block, values)
    if env is None:
        draw(st.nothing())
    return env


def block_sizes(program: Program, block: str) -> st.SearchStrategy[dict[str, int]]:
    """Sizes under which `block` is valid (preconditions hold, no axis is empty)."""
    return _sizes(program, program.block(block), None)


def broken_sizes(program: Program, block: str, pre: Precondition) -> st.SearchStrategy[dict[str, int]]:
    """Sizes that satisfy every precondition of `block` except `pre`, which they violate."""
    return _sizes(program, program.block(block), pre)


def example_inputs(program: Program, block: str, sizes: dict[str, int], batch: int = 2, seed: int = 0) -> list:
    """Random input tensors for `block` at `sizes`, with one leading batch axis. Integer inputs
    (token ids) are drawn below the smallest size the block is given, so any embedding accepts them."""
    import torch

    ir = program.block(block)
    env = dict(sizes)  # not `stats`: broken sizes must reach the generated module's own checks
    for p in ir.params.values():
        if p.name not in env and p.default is not None:
            env[p.name] = static.evaluate(p.default, env)
    gen = torch.Generator().manual_seed(seed)
    low = min([v for v in env.values() if isinstance(v, int) and not isinstance(v, bool) and v > 0] or [1])
    out = []
    for (name, t) in ir.inputs:
        shape = (batch, *[int(a.size.evaluate(env)) for a in t.axes])
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
    import torch

    ir = program.block(block)
    params = {k: v for k, v in sizes.items() if k in ir.params}
    torch.manual_seed(0)
    module = program.module(block, fuse=fuse, **params).eval()
    with torch.no_grad():
        result = module(*example_inputs(program, block, sizes, batch))
    outputs = list(result) if isinstance(result, tuple) else [result]
    return outputs, program.stats(block, **sizes)["outputs"]
