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


class _Found(Exception):
    """Stops forward once the bias is seen."""


def _bias_codes(module: Any, key: str, example: Any, heads: int | None, n: int | None) -> Codes | None:
    """The entry numbers the bias computed from `module`'s tensor `key` holds, as (heads, N, N);
    None when forward computes no such tensor from it by lookup. `heads`, `n`: the shape sought
    (unknown on the target's side, where the table's second axis gives the heads)."""
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_flatten

    table = module.state_dict(keep_vars=True)[key]
    saved = table.detach().clone()
    count = table.numel()
    heads = heads or table.shape[-1]
    derived, alive, found = {id(table)}, [], []

    def bias(shape) -> int | None:  # which axis holds the heads, in a (H, N, N) or (N, N, H) tensor
        s = [d for d in shape if d != 1]
        if len(s) != 3 or (n is not None and sorted(s) != sorted([heads, n, n])):
            return None
        first, last = s[0] == heads and s[1] == s[2], s[2] == heads and s[0] == s[1]
        return None if first == last else 0 if first else 2

    class Follow(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if any(id(a) in derived for a in tree_flatten((args, kwargs or {}))[0]):
                for o in tree_flatten(out)[0]:
                    if isinstance(o, torch.Tensor):
                        derived.add(id(o))
                        alive.append(o)  # keeps ids from being reused
                        axis = bias(o.shape)
                        if axis is not None:
                            found.append(o.detach().reshape([d for d in o.shape if d != 1]))
                            found.append(axis)
                            raise _Found
            return out

    args = example if isinstance(example, tuple) else (example,)
    try:
        with torch.no_grad():
            table.copy_(torch.arange(1, count + 1, dtype=table.dtype).view(table.shape))
            with Follow():
                module(*args)
    except _Found:
        pass
    finally:
        with torch.no_grad():
            table.copy_(saved)
    if not found:
        return None
    codes = found[0] if found[1] == 0 else found[0].permute(2, 0, 1)
    if not torch.equal(codes, codes.round()) or codes.min() < 1 or codes.max() > count:
        return None  # computed from the table, but not a lookup of its entries
    return codes.long() - 1


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
    lookups: dict[tuple[int, ...], Codes] = {}
    for k in tables:
        shape = tuple(target_state[k].shape)
        if shape not in lookups:
            codes = _bias_codes(module, k, example, None, None)
            if codes is not None:
                lookups[shape] = codes
    done: dict[str, str] = {}
    for key in source_keys:
        value = source_state.get(key)
        if value is None or not value.is_floating_point():
            continue
        for shape, codes in lookups.items():
            count = codes.max().item() + 1
            if value.numel() != count:
                continue
            theirs = _bias_codes(source, key, example, codes.shape[0], codes.shape[1])
            m = _permutation(codes, theirs, count) if theirs is not None else None
            if m is None:
                continue
            if tuple(value.shape) != shape or not torch.equal(m, torch.arange(count)):
                source_state[key] = value.flatten()[m].view(shape)
                done[key] = (f"relative-position table {tuple(value.shape)} -> {shape}, re-laid by the "
                             "lookup both modules perform (not a reshape)")
            break
    return done
