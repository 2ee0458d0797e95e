"""Run a generated module under `torch.profiler` and attribute its time to `.arch` statements.

Forward time is the length of each statement's profiler range (`marks`), callees included;
backward time (with `train`) is the time of every autograd node whose forward op ran inside a
statement's range, matched by autograd's sequence number. The FLOPs and traffic beside them come
from the IR (`passes.report` conventions); training counts backward as twice the forward's
FLOPs and traffic, the usual estimate for matmul-dominated layers."""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import torch

from ..backends.pytorch import emission_order, import_source, python_class_names
from ..interpret.differential import random_inputs
from ..passes.report import traffic_bytes
from ..passes.stats import node_costs, resolve_sizes
from . import marks
from .roofline import Peaks

if TYPE_CHECKING:
    from ..ir import BlockIR, Graph
    from ..program import Program

Key = tuple[str, str]  # (generated class, "file.arch:line")
TRAIN_FACTOR = 3  # forward + backward ≈ 3 × forward, for FLOPs and traffic


@dataclass
class ProfileRow:
    path: tuple[Key, ...]
    text: str  # the statement, as the generated comment quotes it
    flops: int
    traffic_bytes: int
    forward_s: float = 0.0
    backward_s: float = 0.0
    bound_s: float = 0.0
    limiter: str = ""

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def measured_s(self) -> float:
        return self.forward_s + self.backward_s

    @property
    def of_bound(self) -> float:
        """The roofline bound as a fraction of the measured time (1.0: at the roofline)."""
        return self.bound_s / self.measured_s if self.measured_s else 0.0

    def as_json(self) -> dict[str, Any]:
        cls, where = self.path[-1]
        return {"path": [list(k) for k in self.path], "depth": self.depth, "block": cls, "where": where,
                "statement": self.text, "flops": self.flops, "traffic_bytes": self.traffic_bytes,
                "forward_s": self.forward_s, "backward_s": self.backward_s, "measured_s": self.measured_s,
                "bound_s": self.bound_s, "of_bound": round(self.of_bound, 4), "limiter": self.limiter}


def profile(program: Program, block: str, sizes: dict[str, int], peaks: Peaks, batch: int = 1,
            train: bool = False, depth: int = 1, iters: int = 5, fuse: bool = True,
            seed: int = 0) -> tuple[list[ProfileRow], dict[str, float]]:
    """Rows to `depth` (the block's statements, then its callees'), and per-iteration totals:
    `wall_s` (timed without the profiler) and `attributed_s` (the depth-1 rows' sum)."""
    ir = program.block(block)
    env = resolve_sizes(program.table, ir, sizes)
    classes = python_class_names(emission_order(program.table, program.check()))
    rows = _statement_rows(program, ir, env, classes, _Scale(batch, 1, TRAIN_FACTOR if train else 1), depth, fuse)
    generated = import_source(marks.instrument(program.source(fuse=fuse)))
    module = program.instance(generated, block, **{k: v for k, v in env.items() if k in ir.params})
    module.train(train)
    for m in module.modules():
        if type(m).__module__ == generated.__name__:
            m.register_forward_pre_hook(marks.enter)
            m.register_forward_hook(marks.leave)
    inputs = [x.float() if x.is_floating_point() else x for x in random_inputs(program, block, env, (batch,), seed)]
    step = _step(module, inputs, train)
    for _ in range(2):
        step()
    with _native_stderr_silenced(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(iters):
            step()
    forward, backward = _attribute(prof.events())
    for r in rows:
        key = tuple(r.path)
        r.forward_s, r.backward_s = forward.get(key, 0.0) / iters, backward.get(key, 0.0) / iters
        r.bound_s = peaks.bound_s(r.flops, r.traffic_bytes)
        r.limiter = peaks.limiter(r.flops, r.traffic_bytes)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    wall = (time.perf_counter() - start) / iters
    return rows, {"wall_s": wall, "attributed_s": sum(r.measured_s for r in rows if r.depth == 1)}


def _statement_rows(program: Program, ir: BlockIR, env: dict[str, Any], classes: dict, scale: _Scale,
                    depth: int, fuse: bool) -> list[ProfileRow]:
    """A row per statement of the graphs the module runs (fused ones when `fuse`: a statement
    fused into the next has no code, and so no row)."""
    rows: dict[tuple[Key, ...], ProfileRow] = {}
    walk = _Walk(program, classes, depth, fuse, rows)
    walk(ir, program.table.body(ir, fuse), env, scale, ())
    return list(rows.values())


@dataclass(frozen=True)
class _Scale:
    """How often a graph runs: over `examples` positions (batch × broadcast), as `copies` with
    their own parameters (repeat iterations), `passes` times (1 forward, 3 training)."""

    examples: int
    copies: int
    passes: int


@dataclass
class _Walk:
    program: Program
    classes: dict
    depth: int
    fuse: bool
    rows: dict

    def __call__(self, ir: BlockIR, g: Graph, env: dict[str, Any], scale: _Scale,
                 prefix: tuple[Key, ...]) -> None:
        """Add the costs of `g`'s nodes to their statements' rows (a repeat body's `count` times)."""
        table = self.program.table
        source = ir.ast.source.splitlines()
        for node in g.operations():
            if node.kind == "repeat":
                times = int(node.attrs["count"].evaluate(env))
                inner = _Scale(scale.examples * times, scale.copies * times, scale.passes)
                self(ir, node.attrs["body"], env, inner, prefix)
                continue
            path = (*prefix, (self.classes[(ir.file, ir.name)], f"{Path(ir.file).name}:{node.stmt}"))
            i = node.stmt - ir.ast.span.line
            text = source[i].split("#")[0].strip() if 0 <= i < len(source) else ""
            row = self.rows.setdefault(path, ProfileRow(path, text, 0, 0))
            c = node_costs(table, g, node)
            row.flops += int(c.flops.evaluate(env)) * scale.examples * scale.passes
            params = int(c.params.evaluate(env)) * scale.copies
            row.traffic_bytes += traffic_bytes(g, node, env, scale.examples, params) * scale.passes
            if node.kind == "call" and len(path) < self.depth:
                binding = node.attrs["binding"]
                callee = table[node.attrs["callee"]]
                inner_env = {k: int(v.evaluate(env)) for k, v in binding.sizes.items()}
                per = int(binding.broadcast_size().evaluate(env))
                within = _Scale(scale.examples * per, scale.copies, scale.passes)
                self(callee, table.body(callee, self.fuse), inner_env, within, path)


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Kineto writes `profiler_start`/`profiler_stop` trace lines to file descriptor 2 at every
    profile, whatever its log level; they are not for our users. Python's own stderr (and any
    exception) is untouched."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)



def _step(module: torch.nn.Module, inputs: list[torch.Tensor], train: bool):
    def forward():
        with torch.no_grad():
            module(*inputs)

    def train_step():
        out = module(*inputs)
        outs = out if isinstance(out, (tuple, list)) else [out]
        sum(o.float().sum() for o in outs if o.is_floating_point()).backward()
        module.zero_grad(set_to_none=True)

    return train_step if train else forward


def _attribute(events) -> tuple[dict, dict]:
    """Seconds per statement path: forward (range lengths) and backward (autograd nodes whose
    forward op ran in the range), each added to the path and all its prefixes for backward (a
    range's length already includes its children)."""
    forward: dict[tuple[Key, ...], float] = defaultdict(float)
    backward: dict[tuple[Key, ...], float] = defaultdict(float)
    owner: dict[int, tuple[Key, ...]] = {}
    path_of: dict[int, tuple[Key, ...]] = {}
    for e in events:
        if e.name.startswith(marks.PREFIX):
            path = _path(e, path_of)
            forward[path] += e.cpu_time_total / 1e6
        elif e.sequence_nr >= 0 and not e.name.startswith("autograd::"):
            parent = _enclosing(e)
            if parent is not None and e.sequence_nr not in owner:
                owner[e.sequence_nr] = _path(parent, path_of)
    for e in events:
        if e.name.startswith("autograd::engine::evaluate_function") and e.sequence_nr in owner:
            path = owner[e.sequence_nr]
            for n in range(1, len(path) + 1):
                backward[path[:n]] += e.cpu_time_total / 1e6
    return forward, backward


def _enclosing(event):
    e = event.cpu_parent
    while e is not None and not e.name.startswith(marks.PREFIX):
        e = e.cpu_parent
    return e


def _path(event, memo: dict[int, tuple[Key, ...]]) -> tuple[Key, ...]:
    if id(event) in memo:
        return memo[id(event)]
    cls, where, _ = marks.parse(event.name)
    parent = _enclosing(event)
    path = (*(_path(parent, memo) if parent is not None else ()), (cls, where))
    memo[id(event)] = path
    return path
