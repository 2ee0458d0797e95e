"""Fused projections for `load_weights`: q, k and v as three Linear layers or as one.

timm computes attention's q, k and v with one Linear layer (`qkv`, output rows q then k then v),
a spec may write three; both compute the same thing exactly when the three layers read the same
input, because a Linear layer's output rows are independent: stacking the three weights along
their output axis (torch's dim 0 of `weight` and of `bias`) gives the fused layer, and splitting
the fused one in equal parts along that axis gives the three back. Nothing else is justified (a
run of layers that read different inputs is not a projection of one input), so a group is found
only from what forward does: a run of two or more layers, consecutive in order of first use,
each first used by `linear` on the same input tensor, with the same weight shape and the same
tensors (weight, bias). Each group stands in the alignment for one virtual fused layer, on both
sides, so fused meets fused whichever side wrote three layers; in q, k, v order, the order forward
uses them (the order every spec and the stdlib write them)."""

from __future__ import annotations

from typing import Any

SEP = " + "  # joins the keys of a group's tensors into one virtual key


def layer(key: str) -> str:
    return key.rpartition(".")[0]


def groups(keys: list[str], state: dict[str, Any], calls: dict[str, tuple[str, int]]) -> list[list[str]]:
    """Runs of layers (state_dict prefixes) that are projections of one input (module docstring);
    `calls[layer]` is (function name, id of its input) of the call that first read the layer."""
    layers = list(dict.fromkeys(layer(k) for k in keys))
    leaves = {lay: [k.rpartition(".")[2] for k in keys if layer(k) == lay] for lay in layers}

    def signature(lay: str):
        call = calls.get(lay)
        if not call or call[0] != "linear" or "weight" not in leaves[lay]:
            return None
        return call[1], tuple(state[f"{lay}.weight"].shape), tuple(leaves[lay])

    out, run = [], []
    for lay in [*layers, None]:
        sig = signature(lay) if lay is not None else None
        if run and sig is not None and sig == signature(run[-1]):
            run.append(lay)
            continue
        if len(run) > 1:
            out.append(run)
        run = [lay] if sig is not None else []
    return out


def fuse(keys: list[str], state: dict[str, Any], calls: dict[str, tuple[str, int]]) -> tuple[list[str], dict[str, Any]]:
    """`keys` with each group's tensors replaced by virtual keys (one per leaf: weight, bias), and
    `state` with the virtual tensors added: the group's tensors stacked along the output axis."""
    import torch

    state = dict(state)
    replaced: dict[str, list[str]] = {}
    for run in groups(keys, state, calls):
        for leaf in [k.rpartition(".")[2] for k in keys if layer(k) == run[0]]:
            parts = [f"{lay}.{leaf}" for lay in run]
            virtual = SEP.join(parts)
            state[virtual] = torch.cat([state[p] for p in parts], 0)
            replaced[parts[0]] = [virtual]
            replaced.update({p: [] for p in parts[1:]})
    return [v for k in keys for v in replaced.get(k, [k])], state


def parts(key: str) -> list[str]:
    """The real keys a (possibly virtual) key stands for."""
    return key.split(SEP)


def assign(target: str, source: str, value: Any) -> tuple[dict[str, Any], list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Spread a source tensor (fused or not) over a target key (fused or not): the tensors to load,
    the transformed (target, source, what) entries and the plainly matched pairs."""
    ts, ss = parts(target), parts(source)
    if len(ts) == len(ss):
        chunks = value.chunk(len(ts), 0) if len(ts) > 1 else (value,)
        return dict(zip(ts, chunks)), [], list(zip(ts, ss))
    rows = value.shape[0] // len(ts)
    if len(ts) > 1:
        what = f"rows {{}} of the fused projection, split along its output axis into {len(ts)}"
        done = [(t, source, what.format(f"{i * rows}:{(i + 1) * rows}")) for i, t in enumerate(ts)]
    else:
        done = [(target, source, f"{len(ss)} projections of one input stacked along the output axis")]
    return dict(zip(ts, value.chunk(len(ts), 0))), done, []
