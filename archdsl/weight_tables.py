"""Relative-position tables for `load_weights`: re-laid by the lookup forward performs.

A relative-position bias is a learned table read through an index: b[h, t, s] is the table's
entry for head h and the offset between query t and key s. Layouts differ in more than shape:
Swin keeps ((2M - 1)^2, H) rows numbered by query - key (as the spec's RelPosBias does);
TensorFlow's MaxViT (timm's RelPosBiasTf) keeps (H, 2M - 1, 2M - 1) numbered by key - query, so
the true conversion is flip(1, 2).permute(1, 2, 0), and a reshape of the same size loads without
error and is silently wrong. No layout is assumed here: both modules are asked. Each table is
filled with its own entry numbers (1, 2, ...), forward runs on the example until the first tensor
computed from the table has the bias's shape (heads, queries, keys), and the two bias tensors,
position by position, say which source entry each target entry is. The conversion is used only
when that is one consistent permutation of the entries; a table is recognised in the target as a
2-D tensor that forward first reads by indexing, and candidates in the source are the tensors of
as many elements (only the lookup, never the size, decides)."""

from __future__ import annotations

from typing import Any

Codes = Any  # a (heads, N, N) tensor of table entry numbers


def _bias_codes(module: Any, wanted: dict[str, tuple[int, int | None]], example: Any) -> dict[str, Codes]:
    """For each tensor `key` of `module` in `wanted` (heads, N or None), the entry numbers the
    bias forward computes from it holds, as (heads, N, N); keys whose forward computes no such
    tensor by lookup are left out. Every table is numbered at once and followed on its own (a
    tensor computed from two of them is nobody's bias), in one forward."""
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_flatten

    state = module.state_dict(keep_vars=True)
    saved = {k: state[k].detach().clone() for k in wanted}
    origin = {id(state[k]): k for k in wanted}  # tensor id -> the one table it is computed from
    alive, found = [], {}

    def bias(key: str, shape) -> int | None:  # the heads' axis, in a (H, N, N) or (N, N, H) tensor
        heads, n = wanted[key]
        s = [d for d in shape if d != 1]
        if len(s) != 3 or (n is not None and sorted(s) != sorted([heads, n, n])):
            return None
        first, last = s[0] == heads and s[1] == s[2], s[2] == heads and s[0] == s[1]
        return None if first == last else 0 if first else 2

    class Follow(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            sources = {origin.get(id(a)) for a in tree_flatten((args, kwargs or {}))[0]} - {None}
            for o in tree_flatten(out)[0] if sources else ():
                if not isinstance(o, torch.Tensor):
                    continue
                alive.append(o)  # keeps ids from being reused
                key = sources.pop() if len(sources) == 1 else ""
                origin[id(o)] = key
                axis = bias(key, o.shape) if key and key not in found else None
                if axis is not None:
                    codes = o.detach().reshape([d for d in o.shape if d != 1])
                    found[key] = codes if axis == 0 else codes.permute(2, 0, 1)
            return out

    args = example if isinstance(example, tuple) else (example,)
    try:
        with torch.no_grad():
            for k in wanted:
                state[k].copy_(torch.arange(1, state[k].numel() + 1, dtype=state[k].dtype).view(state[k].shape))
            with Follow():
                module(*args)
    finally:
        with torch.no_grad():
            for k, v in saved.items():
                state[k].copy_(v)
    out = {}
    for key, codes in found.items():
        if torch.equal(codes, codes.round()) and codes.min() >= 1 and codes.max() <= state[key].numel():
            out[key] = codes.long() - 1  # else computed from the table, but not a lookup of it
    return out


def _permutation(target: Codes, source: Codes, count: int) -> Any:
    """m with target entry i = source entry m[i], when the two lookups agree on one permutation."""
    import torch

    if target.shape != source.shape:
        return None
    m = torch.full((count,), -1, dtype=torch.long)
    m[target.flatten()] = source.flatten()
    if (m < 0).any() or not torch.equal(m[target.flatten()], source.flatten()):
        return None
    return m if torch.equal(m.sort().values, torch.arange(count)) else None


def relayout(module: Any, tk: list[str], calls: dict[str, tuple[str, int]], source: Any,
             source_keys: list[str], source_state: dict[str, Any], example: Any) -> dict[str, str]:
    """Source tables converted in place (in `source_state`) to the target's layout, found as the
    module docstring says; returns what was done, by source key."""
    import torch

    target_state = module.state_dict()
    tables = [k for k in tk if k in calls and k in target_state and target_state[k].dim() == 2
              and target_state[k].is_floating_point()]
    shapes = {tuple(target_state[k].shape): k for k in reversed(tables)}
    codes = _bias_codes(module, {k: (target_state[k].shape[-1], None) for k in shapes.values()}, example)
    lookups = {shape: codes[k] for shape, k in shapes.items() if k in codes}
    done: dict[str, str] = {}
    own = source.state_dict()
    candidates = {key: shape for key in source_keys for shape, c in lookups.items()
                  if key in own and source_state[key].is_floating_point()
                  and source_state[key].numel() == c.max().item() + 1}
    theirs = _bias_codes(source, {k: tuple(lookups[shape].shape[:2]) for k, shape in candidates.items()}, example)
    for key, their in theirs.items():
        shape, value = candidates[key], source_state[key]
        m = _permutation(lookups[shape], their, value.numel())
        if m is None:
            continue
        if tuple(value.shape) != shape or not torch.equal(m, torch.arange(value.numel())):
            source_state[key] = value.flatten()[m].view(shape)
            done[key] = (f"relative-position table {tuple(value.shape)} -> {shape}, re-laid by the "
                         "lookup both modules perform (not a reshape)")
    return done
