"""Scaling out from named axes (issue 15): tensor-parallel, FSDP2 and DDP plans derived from
the spec, applied with PyTorch's own distributed engine.

    plan = archdsl.parallel.plan(program, "GPT", shard={"H": "tp", "F": "tp"}, mesh={"tp": 2})
    print("\\n".join(plan.report()))               # splits, preconditions, collectives
    module = program.module("GPT")                 # same weights on every rank (seeded)
    archdsl.parallel.parallelize(module, plan, device_mesh)

`plan` refuses, before anything runs, a mapping that cannot work (a size the mesh does not
divide: E801; an op that acts on a split axis: E802; ...). `parallelize` only carries the plan
out: local sizes, `parallelize_module` with Colwise/RowwiseParallel, `fully_shard` units."""

from __future__ import annotations

from typing import Any

from .apply import fully_shard_units, parallelize
from .derive import Instance, Layout, Walk
from .plan import BATCH, Collective, LocalSize, ParallelError, Plan, Split

__all__ = ["BATCH", "Collective", "LocalSize", "ParallelError", "Plan", "Split", "fully_shard_units",
           "parallelize", "plan", "parse_mapping"]


def plan(program: Any, block: str, shard: dict[str, str], mesh: dict[str, int], fuse: bool = True,
         **sizes: int) -> Plan:
    """The plan for `block` of `program` (a `Program`) at `sizes` (defaults for the rest), with
    `shard` mapping axis names to mesh dimensions (`B` maps the batch: data parallelism) and
    `mesh` giving each dimension's size. `fuse` must match the module it will be applied to
    (`program.module(block, fuse=...)`)."""
    from ..passes.stats import resolve_sizes
    ir = program.block(block)
    env = resolve_sizes(program.table, ir, sizes)
    p = _empty_plan(ir, shard, mesh, env, fuse)
    walk = Walk(program.table, program.weight_map(fuse=fuse), fuse, p)
    root = Instance(ir, env, {}, (), 1, root=True)
    outs = walk.instance(root, [Layout(None, False) for _ in ir.inputs])
    if any(x.split for x in outs):
        raise ParallelError(f"a result of `{ir.name}` would be split along {next(x.split for x in outs if x.split)}",
                            ir.ast.name_span, code="E803", help="gather it with a Linear that makes the axis")
    p.units = _units(program.table, ir, walk, fuse)
    p.unsplit = sorted(set(walk.mapped) - {s.axis for s in p.splits})
    return p


def _empty_plan(ir, shard: dict[str, str], mesh: dict[str, int], env: dict, fuse: bool) -> Plan:
    dims = {d for a, d in shard.items() if a != BATCH}
    missing = sorted(set(shard.values()) - set(mesh))
    if missing:
        raise ParallelError(f"the mapping uses mesh dimension {', '.join(missing)}, which `mesh` does not size",
                            ir.ast.name_span, code="E800", help="give it a size: `--mesh tp=2`")
    if len(dims) > 1:
        raise ParallelError(f"axes map to {len(dims)} tensor-parallel mesh dimensions ({', '.join(sorted(dims))}); "
                            "one is supported", ir.ast.name_span, code="E800")
    dp = shard.get(BATCH)
    if dp is not None and dp in dims:
        raise ParallelError(f"`{dp}` cannot hold both the batch and split axes", ir.ast.name_span, code="E800")
    sizes = {k: int(v) for k, v in env.items() if isinstance(v, int) and not isinstance(v, bool)}
    return Plan(ir.name, dict(shard), dict(mesh), sizes, fuse, tp=next(iter(dims), None), dp=dp)


def _units(table, ir, walk: Walk, fuse: bool) -> list[tuple[str, ...]]:
    """FSDP units: the module of each iteration of every repeat of the root block that calls a
    block (one repeated layer each)."""
    units = []
    wmap = walk.weights[(ir.file, ir.name)]
    for node in table.body(ir, fuse).operations():
        if node.kind != "repeat":
            continue
        count = int(node.attrs["count"].evaluate(walk.plan.sizes))
        for inner in node.attrs["body"].operations():
            for attr in wmap.get((node.id, inner.id), []) if inner.kind == "call" else []:
                units += [(attr, str(i)) for i in range(count)]
    return units


def parse_mapping(text: str, what: str) -> dict[str, str]:
    """`H=tp,F=tp` -> {"H": "tp", "F": "tp"} (the command line's `--shard` and `--mesh`)."""
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ParallelError(f"bad {what} `{item}`: write NAME=VALUE, comma-separated", code="E800")
        out[key.strip()] = value.strip()
    return out
