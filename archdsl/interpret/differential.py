"""Differential testing: the generated module (fused and unfused), the reference interpreter
and the checker must agree on a block.

`compare(program, block, sizes, seed, batch)` re-initialises every parameter and buffer of the
unfused module at random (away from 0 and 1, so that a forgotten weight or bias shows), copies
them into the fused module, runs both and the interpreter in float64 on random inputs with extra
leading batch dimensions, and reports every disagreement: outputs (relative 1e-5), output shapes
against the checker's prediction, and `stats` FLOPs against `FlopCounterMode` at batch 1."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..errors import ArchError
from ..passes.stats import resolve_sizes
from ..random_weights import randomise
from .base import InterpretError
from .core import interpret

RTOL = 1e-5


@dataclass
class Report:
    """What one comparison found; `ok` when nothing disagreed."""

    block: str
    sizes: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    errors: dict[str, float] = field(default_factory=dict)  # max relative error per comparison

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.block} at {self.sizes}: "
        return head + ("agree" if self.ok else "; ".join(self.problems))


def random_inputs(program: Any, block: str, env: dict[str, Any], batch: tuple[int, ...], seed: int) -> list[torch.Tensor]:
    """Inputs laid out as (*batch, *declared axes); integer inputs below the smallest size."""
    ir = program.block(block)
    gen = torch.Generator().manual_seed(seed)
    low = min([v for v in env.values() if type(v) is int and v > 0] or [1])
    out = []
    for _, t in ir.inputs:
        shape = (*batch, *(int(a.size.evaluate(env)) for a in t.axes))
        if t.dtype == "int":
            out.append(torch.randint(0, low, shape, generator=gen))
        elif t.dtype == "bool":
            out.append(torch.randint(0, 2, shape, generator=gen).bool())
        else:
            out.append(torch.randn(shape, generator=gen, dtype=torch.float64))
    return out


def _as_list(y: Any) -> list[torch.Tensor]:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b| over finite entries (1 where shapes differ or the non-finite entries
    are not the same: NaN where NaN, the same infinities)."""
    if a.shape != b.shape:
        return 1.0
    a, b = a.double(), b.double()
    fin = torch.isfinite(b)
    if not torch.equal(fin, torch.isfinite(a)) or not torch.equal(a[~fin].isnan(), b[~fin].isnan()) \
            or not torch.equal(a[~fin].nan_to_num(0.0), b[~fin].nan_to_num(0.0)):
        return 1.0
    if not fin.any():
        return 0.0
    scale = b[fin].abs().max().item()
    return (a[fin] - b[fin]).abs().max().item() / max(scale, 1e-12)


def compare(program: Any, block: str, sizes: dict[str, int] | None = None, seed: int = 0,
            batch: tuple[int, ...] = (2, 3), flops: bool = True) -> Report:
    """Run the differential comparison of `block` at `sizes` (parameters and free sizes; the
    rest take their defaults). Never raises for a disagreement: it is in the report."""
    sizes = dict(sizes or {})
    report = Report(block, sizes)
    ir = program.block(block)
    env = resolve_sizes(program.table, ir, sizes)
    params = {k: v for k, v in sizes.items() if k in ir.params}
    try:
        plain = program.module(block, fuse=False, **params).double().eval()
        randomise(plain, seed)
        fused = program.module(block, fuse=True, **params).double().eval()
        fused.load_state_dict(plain.state_dict())
    except Exception as err:  # noqa: BLE001 - a module that cannot be built is a finding
        report.problems.append(f"building the module: {type(err).__name__}: {err}")
        return report
    xs = random_inputs(program, block, env, batch, seed)
    results: dict[str, list[torch.Tensor]] = {}
    runs = {"unfused module": lambda: plain(*xs), "fused module": lambda: fused(*xs),
            "interpreter": lambda: interpret(program, block, plain, *xs, **params),
            "fused interpreter": lambda: interpret(program, block, fused, *xs, fuse=True, **params)}
    for name, run in runs.items():
        try:
            with torch.no_grad():
                results[name] = _as_list(run())
        except (InterpretError, ArchError) as err:
            report.problems.append(f"{name}: {err}")
        except Exception as err:  # noqa: BLE001 - a crash of generated code is a finding
            report.problems.append(f"{name} raised {type(err).__name__}: {err}")
    stats = program.stats(block, **sizes)
    shapes = [[*batch, *s] if t.batch else s for s, t in zip(stats["outputs"], ir.outputs)]
    _compare_outputs(report, results, shapes)
    if flops and "unfused module" in results:
        _compare_flops(report, program, block, plain, env, stats["flops"], seed)
    return report


def _compare_outputs(report: Report, results: dict[str, list[torch.Tensor]], want: list[list[int]]) -> None:
    for name, outs in results.items():
        got = [list(o.shape) for o in outs]
        if got != want:
            report.problems.append(f"{name} returns shapes {got}, the checker predicts {want}")
    ref = results.get("interpreter")
    if ref is None:
        return
    for name, outs in results.items():
        if name == "interpreter" or len(outs) != len(ref):
            continue
        err = max((rel_error(o, r) for o, r in zip(outs, ref)), default=0.0)
        report.errors[name] = err
        if err > RTOL:
            report.problems.append(f"{name} differs from the interpreter by {err:.2e} (relative)")


def _compare_flops(report: Report, program: Any, block: str, plain: torch.nn.Module, env: dict[str, Any],
                   want: int, seed: int) -> None:
    xs = random_inputs(program, block, env, (1,), seed)
    try:
        # grad mode on: under no_grad a view of a parameter requires grad yet has no grad_fn, which
        # FlopCounterMode's module tracker rejects when it reaches a submodule (a learned latent
        # array passed to a block call); forward FLOPs are the same either way
        with FlopCounterMode(display=False) as counter:
            plain(*xs)
    except Exception as err:  # noqa: BLE001 - reported with the outputs already
        report.problems.append(f"unfused module at batch 1 raised {type(err).__name__}: {err}")
        return
    if counter.get_total_flops() != want:
        report.problems.append(f"stats counts {want} FLOPs, FlopCounterMode {counter.get_total_flops()}")


def compare_program(program: Any, seen: set | None = None, seed: int = 0) -> tuple[list[Report], int]:
    """`compare` every block of the program's root file at sizes drawn by
    `archdsl.testing.random_sizes`, skipping blocks whose code (with every block it calls) was
    compared before (`seen` holds their keys). Returns the reports and how many blocks had no
    valid sizes to draw, or too large to run at any drawn size (not compared)."""
    from ..backends.pytorch import emission_order
    from ..testing import random_sizes
    seen = set() if seen is None else seen
    reports, unsized = [], 0
    for name in program.block_names():
        try:
            ir = program.block(name)
        except ArchError:
            continue
        key = tuple((b.file, b.ast.source) for b in emission_order(program.table, [ir]))
        if key in seen:
            continue
        seen.add(key)
        try:
            sizes = random_sizes(program, name, seed=seed, tries=20)
            if sizes is not None and _too_large(program.stats(name, **sizes)):
                sizes = None
        except ArchError:
            sizes = None
        if sizes is None:
            unsized += 1
            continue
        try:
            reports.append(compare(program, name, sizes, seed=seed))
        except ArchError:  # the drawn sizes leave an axis empty (E337)...: nothing to run
            unsized += 1
        except Exception as err:  # noqa: BLE001 - a crash of the comparison itself is a finding
            reports.append(Report(name, sizes, [f"comparison raised {type(err).__name__}: {err}"]))
    return reports, unsized


MAX_PARAMS, MAX_FLOPS = 20_000_000, 2_000_000_000  # a fuzzed spec may ask for 10**9 channels


def _too_large(stats: dict[str, Any]) -> bool:
    return stats["params"] > MAX_PARAMS or stats["flops"] > MAX_FLOPS
