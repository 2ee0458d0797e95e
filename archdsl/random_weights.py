"""Random weights for numeric checks: the differential tests (`archdsl.interpret.differential`)
and `archc verify` draw every parameter and buffer from one seed, so that no claim or comparison
passes only because of a default initialisation (LayerNorm at weight 1, a zero `Param`,
BatchNorm at the identity)."""

from __future__ import annotations

import torch


def randomise(module: torch.nn.Module, seed: int) -> None:
    """Every floating parameter and buffer drawn anew: magnitudes in [0.25, 0.75] (scaled by
    1 / sqrt(fan-in) for matrices and kernels) with random signs; running variances positive.
    Non-persistent buffers are left alone: they are constants computed from sizes (Swin's mask
    patterns), not state."""
    gen = torch.Generator().manual_seed(seed)
    derived = {f"{prefix}.{name}".lstrip(".") for prefix, m in module.named_modules()
               for name in m._non_persistent_buffers_set}
    with torch.no_grad():
        for name, t in [*module.named_parameters(), *module.named_buffers()]:
            if not t.dtype.is_floating_point or name in derived:
                continue
            mag = torch.rand(t.shape, generator=gen, dtype=torch.float64) * 0.5 + 0.25
            sign = torch.randint(0, 2, t.shape, generator=gen) * 2 - 1
            value = mag if name.endswith("running_var") else mag * sign
            if t.dim() >= 2:
                value = value / max(1, t[0].numel()) ** 0.5
            t.copy_(value.to(t.dtype))
