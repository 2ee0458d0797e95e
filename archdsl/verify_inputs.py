"""The inputs `archc verify` draws and how it compares outputs.

Integer inputs (token ids, indices) are drawn over their whole valid range: for each one, the
largest size of the block at which the module accepts it (every index op raises on an index out
of range), so a claim that fails only for ids above the smallest size is not missed (drawing
only from {0, 1} did miss them)."""

from __future__ import annotations

from typing import Any

from .stack import deep_recursion


def int_highs(model, block, env: dict[str, Any]) -> dict[int, int]:
    """For each integer input (by position): the largest size `n` of the block such that the
    module runs with that input filled with n - 1 (others at 0); 1 when none does."""
    import torch
    sizes = sorted({int(n) for n in env.values() if type(n) is int and n > 0}, reverse=True)
    ints = [i for i, (_, t) in enumerate(block.inputs) if t.dtype == "int"]
    out = {}
    for i in ints:
        out[i] = 1
        for n in sizes:
            xs = [_filled(t, env, n - 1 if j == i else 0) for j, (_, t) in enumerate(block.inputs)]
            try:
                with torch.no_grad(), deep_recursion():
                    model(*xs)
            except Exception:  # noqa: BLE001 - an index out of range: try a smaller bound
                continue
            out[i] = n
            break
    return out


def _filled(t, env, value: int):
    import torch
    shape = [2] + [int(a.size.evaluate(env)) for a in t.axes]
    if t.dtype == "int":
        return torch.full(shape, value, dtype=torch.long)
    if t.dtype == "bool":
        return torch.zeros(shape, dtype=torch.bool)
    return torch.zeros(shape, dtype=torch.float64)


def relative_error(got, want, ys) -> float:
    """||got - want|| over the entries finite in both, relative to how much f(x) varies over the
    batch of inputs (a large learned bias would otherwise hide any error), but never to less than
    1e-8 ||f(x)||: a constant f (`mean[T](softmax[T](x))` is 1/T) varies only by rounding, which
    would make rounding look like an error; entries infinite in both (a causal mask's -inf) agree
    when they are equal; any other non-finite entry is an error of 1."""
    import torch
    num = den = 0.0
    for a, b, y in zip(got, want, ys):
        a, b, y = a.double(), b.double(), y.double()
        fin = torch.isfinite(b)
        if not torch.equal(fin, torch.isfinite(a)) or not torch.equal(a[~fin].nan_to_num(0.0), b[~fin].nan_to_num(0.0)) \
                or not torch.equal(a[~fin].isnan(), b[~fin].isnan()):
            return 1.0
        num += float((a[fin] - b[fin]).norm()) ** 2
        y = y.nan_to_num(0.0, 0.0, 0.0)
        den += max(float((y - y.mean(0)).norm()), 1e-8 * float(y.norm())) ** 2
    return num ** 0.5 / max(den ** 0.5, 1e-300)


def random_input(t, env, gen, high: int):
    """A random input laid out [2, *t.axes]; integers over [0, high)."""
    import torch
    shape = [2] + [int(a.size.evaluate(env)) for a in t.axes]
    if t.dtype == "int":
        return torch.randint(0, high, shape, generator=gen)
    if t.dtype == "bool":
        return torch.randint(0, 2, shape, generator=gen).bool()
    return torch.randn(shape, generator=gen, dtype=torch.float64)


def as_tuple(y):
    return y if isinstance(y, tuple) else (y,)
