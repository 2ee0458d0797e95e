"""Run a block split over several local processes (gloo on CPU) and compare it with the
single-process module holding the same weights: outputs, every gradient, the collectives it
makes against the plan's prediction, and the per-rank parameter memory of split modules.

    python -m archdsl.parallel.launch examples/transformer.arch --block GPT \\
        --shard H=tp,F=tp --mesh tp=2 --size L=2 --size D=64 --size H=4 --size T=16 --size V=128

Every process has a deadline (`--timeout`), and so has every collective (the process group's
timeout): a broken run fails, it never hangs. The ports are chosen free at run time on
127.0.0.1."""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import os
import socket
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .apply import natural_order


@dataclass
class Job:
    """What each process runs."""

    file: str
    block: str
    shard: dict[str, str]
    mesh: dict[str, int]
    sizes: dict[str, int] = field(default_factory=dict)
    batch: int = 2
    fuse: bool = True
    seed: int = 0
    timeout: float = 60.0
    steps: int = 0  # timed forward passes after the check (tokens/s)
    dtype: str = "float64"  # of the weights and float inputs: float64 checks, float32 measures
    ddp: bool = False  # wrap in DistributedDataParallel as generated (the mapping: {"B": "dp"})


def run(*jobs: Job) -> list[dict[str, Any]]:
    """Spawn one process per mesh position (the jobs' meshes have one size; the jobs run in
    turn in the same processes: torch is imported once), wait, never past the jobs' summed
    timeouts, and return rank 0's measurements for each job (see `_measure`)."""
    import torch.multiprocessing as mp
    worlds = {math.prod(j.mesh.values()) for j in jobs}
    if len(worlds) != 1:
        raise ValueError(f"the jobs of one run need meshes of one size, not {sorted(worlds)}")
    (world,) = worlds
    with tempfile.TemporaryDirectory() as out:
        ctx = mp.start_processes(_worker, args=(world, _free_port(), [asdict(j) for j in jobs], out),
                                 nprocs=world, join=False, start_method="spawn")
        limit = sum(j.timeout for j in jobs)
        deadline = time.monotonic() + limit
        try:
            while not ctx.join(timeout=max(0.1, min(1.0, deadline - time.monotonic()))):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {world}-process run did not finish in {limit:.0f} s")
        finally:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
        return [json.loads((Path(out) / f"job{i}.json").read_text()) for i in range(len(jobs))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, specs: list[dict], out: str) -> None:
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    jobs = [Job(**spec) for spec in specs]
    dist.init_process_group("gloo", rank=rank, world_size=world,
                            timeout=timedelta(seconds=min(j.timeout for j in jobs)))
    try:
        for i, job in enumerate(jobs):
            result = _measure(job, rank)
            if rank == 0:
                (Path(out) / f"job{i}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def _measure(job: Job, rank: int) -> dict[str, Any]:
    """On every rank: the single-process reference and the parallel module from the same
    weights, run on the same inputs (each data-parallel rank on its share of the batch)."""
    import torch
    from torch.distributed.device_mesh import init_device_mesh

    from ..interpret.differential import random_inputs, randomise
    from . import parallelize, plan
    from .measure import CollectiveCounter
    torch.set_num_threads(1)
    program = _compiled(job.file)
    p = plan(program, job.block, job.shard, job.mesh, fuse=job.fuse, **job.sizes)
    mesh = init_device_mesh("cpu", tuple(job.mesh.values()), mesh_dim_names=tuple(job.mesh))
    params = program.block(job.block).params
    ref = program.module(job.block, fuse=job.fuse, **{k: v for k, v in job.sizes.items() if k in params})
    randomise(ref, job.seed)
    dtype = getattr(torch, job.dtype)
    ref.to(dtype)
    if job.ddp:
        from torch.nn.parallel import DistributedDataParallel
        par = DistributedDataParallel(copy.deepcopy(ref), process_group=mesh[p.dp].get_group())
    else:
        par = parallelize(copy.deepcopy(ref), p, mesh)
    xs = [x.to(dtype) if x.is_floating_point() else x
          for x in random_inputs(program, job.block, p.sizes, (job.batch,), job.seed)]
    dp = p.mesh[p.dp] if p.dp else 1
    share = slice(None) if dp == 1 else _share(mesh, p.dp, job.batch)
    want = _outputs(ref(*xs))
    weights = [torch.randn(y.shape, generator=torch.Generator().manual_seed(job.seed + 1), dtype=dtype)
               for y in want]
    sum(((y * w).sum() for y, w in zip(want, weights)), torch.zeros(())).backward()
    fwd, bwd = CollectiveCounter(), CollectiveCounter()
    with fwd:
        got = _outputs(par(*[x[share] for x in xs]))
    with bwd:
        (dp * sum(((y * w[share]).sum() for y, w in zip(got, weights)), torch.zeros(()))).backward()
    result = {"world": dp * p.tp_size, "sizes": p.sizes,
              "output_error": max(_rel(g, w[share]) for g, w in zip(got, want)),
              "grad_error": _grad_error(ref, par, p),
              "measured": {"forward": dict(fwd.counts), "backward": dict(bwd.counts)},
              "measured_bytes": {"forward": sum(fwd.bytes.values()), "backward": sum(bwd.bytes.values())},
              "predicted": {ph: dict(p.counts(ph)) for ph in ("forward", "backward")},
              "predicted_bytes": {ph: p.payload_bytes(ph, batch=job.batch // dp, itemsize=dtype.itemsize)
                                  for ph in ("forward", "backward")},
              "split_memory_ratio": _memory_ratio(ref, par, p), "splits": len(p.splits)}
    if job.steps:
        result["tokens_per_s"] = _throughput(par, [x[share] for x in xs], job.steps) * dp
    return result


@functools.lru_cache(maxsize=None)
def _compiled(file: str) -> Any:
    from ..program import compile_file
    return compile_file(file)


def _share(mesh: Any, dim: str, batch: int) -> slice:
    n, r = mesh[dim].size(), mesh[dim].get_local_rank()
    if batch % n:
        raise ValueError(f"batch {batch} does not split over {dim} = {n}")
    return slice(r * batch // n, (r + 1) * batch // n)


def _outputs(y: Any) -> list:
    return list(y) if isinstance(y, tuple) else [y]


def _full(t: Any) -> Any:
    return t.full_tensor() if hasattr(t, "full_tensor") else t


def _rel(a: Any, b: Any, scale: Any = None) -> float:
    """max |a - b| / max |b| (or / `scale`)."""
    a, b = _full(a).detach().double(), _full(b).detach().double()
    return float((a - b).abs().max() / (b.abs().max() if scale is None else scale).clamp_min(1e-30))


def _grad_error(ref: Any, par: Any, plan: Any) -> float:
    """The largest error of any gradient element, relative to the largest gradient element of
    the model (gathered when sharded, interleaved rows put back in order): some gradients are
    zero in exact arithmetic (a key projection's bias: softmax ignores a shift) and rounding noise
    on both sides."""
    import torch
    grads = dict(getattr(par, "module", par).named_parameters())
    outer = {f"{s.fqn}.{n}": s.outer for s in plan.splits if s.outer > 1 for n in ("weight", "bias")}

    def ordered(name: str, grad: Any) -> Any:
        if grad is None or name not in outer:
            return grad
        return natural_order(_full(grad), outer[name], plan.tp_size)

    pairs = [(ordered(name, grads[name].grad), p.grad) for name, p in ref.named_parameters()]
    if any((a is None) != (b is None) for a, b in pairs):
        return float("inf")
    pairs = [(a, b) for a, b in pairs if b is not None]
    scale = max((b.detach().double().abs().max() for _, b in pairs), default=torch.ones((), dtype=torch.float64))
    return max((_rel(a, b, scale) for a, b in pairs), default=0.0)


def _memory_ratio(ref: Any, par: Any, p: Any) -> float:
    """Per-rank weight elements of the split modules over their single-process count (a
    row-parallel layer's bias is added after the sum, so it stays whole, as in Megatron)."""
    local = full = 0
    for s in p.splits:
        for (_, a), (_, b) in zip(ref.get_submodule(s.fqn).named_parameters(),
                                  par.get_submodule(s.fqn).named_parameters()):
            if a.dim() < 2:
                continue
            full += a.numel()
            local += (b.to_local() if hasattr(b, "to_local") else b).numel()
    return local / full if full else 1.0


def _throughput(module: Any, xs: list, steps: int) -> float:
    """Examples' positions per second of the forward pass (every element of the inputs' leading
    dimensions and axes counted as one token for a sequence model: batch x T)."""
    import torch
    with torch.no_grad():
        module(*xs)
        start = time.perf_counter()
        for _ in range(steps):
            module(*xs)
        elapsed = time.perf_counter() - start
    return xs[0].numel() * steps / elapsed


def main(argv: list[str] | None = None) -> int:
    from . import parse_mapping
    ap = argparse.ArgumentParser(prog="python -m archdsl.parallel.launch", description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--block", required=True)
    ap.add_argument("--shard", required=True, help="axis=mesh dimension, comma-separated (B: the batch)")
    ap.add_argument("--mesh", required=True, help="mesh dimension=size, comma-separated")
    ap.add_argument("--size", action="append", default=[], help="NAME=N (repeatable)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--no-fuse", action="store_true")
    a = ap.parse_args(argv)
    sizes = {k: int(v) for k, v in parse_mapping(",".join(a.size), "size").items()}
    mesh = {k: int(v) for k, v in parse_mapping(a.mesh, "mesh").items()}
    job = Job(a.file, a.block, parse_mapping(a.shard, "shard"), mesh, sizes, a.batch, not a.no_fuse, timeout=a.timeout)
    print(json.dumps(run(job)[0], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
