"""`archc check --shard H=tp,F=tp --mesh tp=4`: the plan of every block of a file, its
preconditions and its communication, or the diagnostic that refuses the mapping, before
anything runs."""

from __future__ import annotations

from typing import Any

from ..errors import ArchError, ShapeError
from . import parse_mapping, plan
from .plan import ParallelError


def mapping(shard: str, mesh: str | None) -> tuple[dict[str, str], dict[str, int]]:
    """The command line's `--shard` and `--mesh`, checked (E800)."""
    axes = parse_mapping(shard, "--shard")
    if mesh is None:
        raise ParallelError("`--shard` needs `--mesh` with a size for each mesh dimension "
                            f"({', '.join(sorted(set(axes.values())))})", code="E800")
    sizes = parse_mapping(mesh, "--mesh")
    for k, v in sizes.items():
        if not v.isdigit() or int(v) < 1:
            raise ParallelError(f"mesh dimension `{k}` has size `{v}`; sizes are whole numbers >= 1", code="E800")
    return axes, {k: int(v) for k, v in sizes.items()}


def check_block(program: Any, block: Any, shard: dict[str, str], mesh: dict[str, int],
                records: dict, text: bool) -> list[ArchError]:
    """Print (and record) `block`'s plan at its default sizes; its refusal as an error. A
    block whose sizes have no defaults gets no plan (a note says so)."""
    try:
        p = plan(program, block.name, shard, mesh)
    except ShapeError as err:
        if err.code != "E333":
            raise
        if text:
            print(f"    parallel: no plan without sizes ({err.message})")
        return []
    except ParallelError as err:
        return [err]
    records.setdefault("parallel", []).append(p.record())
    if text:
        for line in p.report():
            print("    " + line)
    return []
