"""`archc weights FILE --block B --from CKPT -o OUT.pt [--size N=V …] [--no-strict]`: convert a
checkpoint of another implementation (a torchvision or timm state_dict) into the state_dict of
the block's generated module, matched by structure (`archdsl.weights`), and print the report."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from ..errors import ArchError
from ..outputs import write_atomic
from ..program import compile_file
from .stats import parse_sizes

NAME = "weights"
HELP = "convert a torchvision/timm checkpoint into the state_dict of a block's generated module"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--block", required=True)
    p.add_argument("--from", dest="source", required=True, metavar="CKPT",
                   help="a state_dict saved with torch.save (or a dict holding one under `state_dict` or `model`)")
    p.add_argument("-o", "--output", required=True, help="the converted state_dict (.pt)")
    p.add_argument("--size", action="append", default=[], metavar="AXIS=N")
    p.add_argument("--no-strict", action="store_true", help="write what matched even if something did not")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..passes.stats import resolve_sizes
    from ..weights import load_weights

    sizes = parse_sizes(args.size)
    if sizes is None:
        return 2
    program = compile_file(args.file)
    module = program.module(args.block, **sizes).eval()
    ir = program.block(args.block)
    env = resolve_sizes(program.table, ir, sizes)
    example = tuple(torch.randn(*[int(a.size.evaluate(env)) for a in t.axes]) for _, t in ir.inputs)
    report = load_weights(module, read_state(args.source), example=example, strict=not args.no_strict)
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    write_atomic(Path(args.output), buf.getvalue())
    if getattr(args, "format", "text") == "json":
        print(json.dumps(report.as_dict()))
    else:
        print(report)
    return 0


def read_state(path: str) -> dict:
    """The state_dict in a checkpoint file (tensors only: `weights_only` never runs its code)."""
    import torch
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ArchError(f"no checkpoint {path}", code="E701") from None
    except Exception as err:  # torch raises several types for a file that is not a checkpoint
        raise ArchError(f"{path} is not a checkpoint that torch.load reads with weights_only=True "
                        f"({type(err).__name__})", code="E701") from None
    for key in ("state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ArchError(f"{path} holds no state_dict (a dict of tensors)", code="E701")
    return data


