"""Carry a `Plan` out on a generated module with PyTorch's distributed engine: per-rank sizes,
`parallelize_module` with `ColwiseParallel` / `RowwiseParallel` (DTensor), and FSDP2's
`fully_shard` on the plan's units. Nothing here decides anything: the plan did."""

from __future__ import annotations

from typing import Any

from .plan import Plan


def parallelize(module: Any, plan: Plan, mesh: Any) -> Any:
    """Apply `plan` to `module` (built by `program.module(plan.block, fuse=plan.fuse, ...)` with
    the same weights on every rank) over `mesh` (a `DeviceMesh` whose dimension names are the
    plan's, or a one-dimensional mesh for the tensor-parallel dimension). With a data-parallel
    dimension in the plan, the units and the root are then wrapped with FSDP2's `fully_shard`.
    Returns the module (changed in place)."""
    from torch.distributed.tensor.parallel import parallelize_module
    if plan.tp is not None:
        tp_mesh = _dim(mesh, plan.tp)
        if tp_mesh.size() != plan.tp_size:
            raise ValueError(f"the plan is for {plan.tp} = {plan.tp_size}, the mesh has {tp_mesh.size()}")
        _set_local_sizes(module, plan)
        for split in plan.splits:
            if split.outer > 1:
                _interleave(module.get_submodule(split.fqn), split.outer, plan.tp_size)
        parallelize_module(module, tp_mesh, {s.fqn: _style(s.style) for s in plan.splits})
    if plan.dp is not None:
        fully_shard_units(module, plan, _dim(mesh, plan.dp))
    return module


def fully_shard_units(module: Any, plan: Plan, mesh: Any) -> Any:
    """FSDP2 over `mesh`: each unit of the plan (one repeated layer each), then the root."""
    from torch.distributed.fsdp import fully_shard
    for unit in plan.units:
        fully_shard(module.get_submodule(".".join(unit)), mesh=mesh)
    fully_shard(module, mesh=mesh)
    return module


def _dim(mesh: Any, name: str) -> Any:
    names = mesh.mesh_dim_names or ()
    if mesh.ndim == 1 and (not names or names == (name,)):
        return mesh
    if name not in names:
        raise ValueError(f"the mesh has no dimension `{name}` (it has {', '.join(names) or 'unnamed ones'})")
    return mesh[name]


def _interleave(linear: Any, outer: int, tp: int) -> None:
    """Reorder a Linear's output rows from (outer, axis, inner) to (tp, outer, axis / tp, inner),
    so that column-parallel sharding (equal contiguous row blocks) gives rank r the rows of its
    share of the axis in every outer part: (outer, axis / tp, inner), the local layout. The
    sharded module's gathered weights (and gradients) are in this order: `natural_order` undoes it."""
    import torch
    with torch.no_grad():
        for p in (linear.weight, linear.bias):
            if p is not None:
                p.copy_(p.reshape(outer, tp, -1, *p.shape[1:]).transpose(0, 1).reshape(p.shape))


def natural_order(rows: Any, outer: int, tp: int) -> Any:
    """A gathered weight, bias or gradient of an interleaved split in the module's own row order."""
    return rows.reshape(tp, outer, -1, *rows.shape[1:]).transpose(0, 1).reshape(rows.shape)


def _set_local_sizes(module: Any, plan: Plan) -> None:
    for ls in plan.local_sizes:
        sub = module.get_submodule(".".join(ls.path))
        if getattr(sub, ls.attribute, None) != ls.full:
            raise ValueError(f"`{'.'.join(ls.path + (ls.attribute,))}` is {getattr(sub, ls.attribute, None)!r}, "
                             f"the plan expects {ls.full}: was the module built at the plan's sizes?")
        setattr(sub, ls.attribute, ls.local)


def _style(style: str) -> Any:
    """The `torch.distributed.tensor.parallel` style for each of the plan's styles."""
    from torch.distributed.tensor import Replicate
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel
    return {"colwise": lambda: ColwiseParallel(),
            "gather": lambda: ColwiseParallel(output_layouts=Replicate()),
            "rowwise": lambda: RowwiseParallel(),
            "width": lambda: ColwiseParallel(input_layouts=Replicate()),
            "vocab": lambda: RowwiseParallel(input_layouts=Replicate())}[style]()
