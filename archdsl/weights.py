"""`load_weights`: a pretrained model's weights into a generated module, matched by structure.

Names are no guide (ours follow the spec, timm's and torchvision's their own classes), so each
side's tensors (parameters and buffers) are listed by layer, layers in the order forward first
reads one of their tensors (found by running the module on one example input under a
`TorchFunctionMode`), each layer's tensors in torch's own order (weight, bias, running_mean, ...).
A state_dict without its module is taken in its key order: registration order, the order of use
in torchvision's and timm's CNNs, but not in a model whose own tensors are read after its
children's, such as ViT's class token: pass the module then. The two lists are aligned in order
(a longest common subsequence of compatible pairs), and a tensor is compatible only when its
shape is the same, or the same after dropping size-1 axes (a class token (1, 1, D) for (1, D), a
1x1 convolution for a Linear layer): never a reshape that merely has the same number of elements.
When two alignments are equally good, the tensors where they differ are ambiguous, and nothing is
guessed: with `strict=True` (the default) any unmatched or ambiguous tensor refuses the whole load
with the report, and the module is left untouched. Two layouts are converted from what forward
does: fused q/k/v projections (`weight_groups`) and relative-position tables (`weight_tables`);
and with a source module the two outputs on the example must agree afterwards (`_verify`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import weight_groups, weight_tables
from .errors import ArchError


@dataclass
class WeightReport:
    """What `load_weights` did: target key <- source key (target keys are the module's)."""

    matched: list[tuple[str, str]] = field(default_factory=list)
    transformed: list[tuple[str, str, str]] = field(default_factory=list)  # + what was done
    unmatched: list[str] = field(default_factory=list)  # target tensors that got nothing
    unused: list[str] = field(default_factory=list)  # source tensors that went nowhere
    ambiguous: list[str] = field(default_factory=list)  # target tensors with two equal candidates
    # whether the two modules' outputs on the example agreed after loading (None: not compared,
    # the source being a bare state_dict or the outputs of different shapes)
    verified: bool | None = None
    difference: float = 0.0  # the largest absolute difference of the outputs, when compared

    @property
    def complete(self) -> bool:
        return not (self.unmatched or self.unused or self.ambiguous)

    def as_dict(self) -> dict[str, Any]:
        return {"matched": [list(p) for p in self.matched], "transformed": [list(t) for t in self.transformed],
                "unmatched": self.unmatched, "unused": self.unused, "ambiguous": self.ambiguous,
                "verified": self.verified, "difference": self.difference}

    def summary(self) -> str:
        """One line: the counts, and the first few keys of each kind that went wrong."""
        parts = [f"{len(self.matched)} matched", f"{len(self.transformed)} transformed"]
        for what, keys in (("unmatched", self.unmatched), ("unused", self.unused), ("ambiguous", self.ambiguous)):
            more = ", ..." if len(keys) > 3 else ""
            parts.append(f"{len(keys)} {what}" + (f" ({', '.join(keys[:3])}{more})" if keys else ""))
        if self.verified is not None:
            parts.append("outputs agree on the example" if self.verified else
                         f"outputs DIFFER on the example (by up to {self.difference:.3g})")
        return ", ".join(parts)

    def __str__(self) -> str:
        lines = [self.summary()]
        lines += [f"  transformed {t} <- {s}: {what}" for t, s, what in self.transformed]
        lines += [f"  unmatched {t}" for t in self.unmatched[:20]]
        lines += [f"  unused {s}" for s in self.unused[:20]]
        lines += [f"  ambiguous {t}" for t in self.ambiguous[:20]]
        return "\n".join(lines)


class WeightsError(ArchError):
    """The source's weights do not fit the module (E700); `.report` says where."""

    code = "E700"

    def __init__(self, message: str, report: WeightReport):
        super().__init__(f"{message}: {report.summary()}", code="E700",
                         help="pass the source as a module with `example` if it is a state_dict, or "
                              "strict=False to load what matched")
        self.report = report


def use_order(module: Any, example: Any) -> list[str]:
    """The module's state_dict keys, by layer: layers in the order forward first reads one of
    their tensors, each layer's tensors in its own order (torch's: weight, bias, running_mean...,
    the order a state_dict has too), then the layers forward never reads, in state_dict order."""
    return trace(module, example)[0]


def trace(module: Any, example: Any) -> tuple[list[str], dict[str, tuple[str, int]]]:
    """`use_order`, and for each layer the call that first read it: the function's name and the
    id of its first argument that is not one of the module's tensors (its input; see
    `weight_groups`); and under a tensor's own key ("__getitem__", -1) when forward indexes it
    (a table read by lookup; see `weight_tables`)."""
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_flatten

    state = module.state_dict(keep_vars=True)
    layer_of = {id(t): _owner(k)[0] for k, t in state.items()}
    key_of = {id(t): k for k, t in state.items()}
    calls: dict[str, tuple[str, int]] = {}

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            flat = tree_flatten((args, kwargs or {}))[0]
            inputs = [id(a) for a in flat if isinstance(a, torch.Tensor) and id(a) not in layer_of]
            name = getattr(func, "__name__", "")
            for a in flat:
                layer = layer_of.get(id(a))
                if layer is not None and layer not in calls:
                    calls[layer] = (name, inputs[0] if inputs else -1)
            if name == "__getitem__" and id(args[0]) in key_of:
                calls[key_of[id(args[0])]] = (name, -1)
            return func(*args, **(kwargs or {}))

    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), Record():
            module(*example) if isinstance(example, tuple) else module(example)
    finally:
        module.train(was_training)
    rank = {layer: i for i, layer in enumerate(c for c in calls if c not in key_of)}
    keys = list(state)
    return sorted(keys, key=lambda k: (rank.get(_owner(k)[0], len(rank)), keys.index(k))), calls


def _squeezed(shape) -> tuple[int, ...]:
    return tuple(s for s in shape if s != 1)


Shape = tuple[tuple[int, ...], bool]  # a tensor's shape, and whether it holds floats


def _shape(t: Any) -> Shape:
    return tuple(t.shape), t.is_floating_point()


@lru_cache(maxsize=4096)
def _score(t: Shape, s: Shape) -> int:
    """2 for the same shape, 1 the same after dropping size-1 axes, 0 incompatible."""
    if t[1] != s[1]:
        return 0
    if t[0] == s[0]:
        return 2
    return 1 if t[0] and s[0] and _squeezed(t[0]) == _squeezed(s[0]) else 0


def _align(tv: list[Shape], sv: list[Shape]) -> tuple[dict[int, int], set[int]]:
    """A best order-preserving matching (most pairs, then most exact) of target to source
    positions, and the target positions matched differently by another equally good one."""
    n, m = len(tv), len(sv)
    sc = [[_score(a, b) for b in sv] for a in tv]
    best = [[0] * (m + 1) for _ in range(n + 1)]  # best[i][j]: score of tv[i:] against sv[j:]
    for i in range(n - 1, -1, -1):
        row, below, sci = best[i], best[i + 1], sc[i]
        for j in range(m - 1, -1, -1):
            diag = below[j + 1] + 2 + sci[j] if sci[j] else -1
            row[j] = max(below[j], row[j + 1], diag)

    def walk(prefer_match: bool) -> dict[int, int]:
        out, i, j = {}, 0, 0
        while i < n and j < m:
            take = sc[i][j] and best[i][j] == best[i + 1][j + 1] + 2 + sc[i][j]
            skips = [(best[i + 1][j], "i"), (best[i][j + 1], "j")]
            can_skip = [w for v, w in skips if v == best[i][j]]
            if take and (prefer_match or not can_skip):
                out[i] = j
                i, j = i + 1, j + 1
            elif "i" in can_skip and (prefer_match or "j" not in can_skip):
                i += 1
            else:
                j += 1
        return out

    first, other = walk(True), walk(False)
    differ = {i for i in set(first) | set(other) if first.get(i) != other.get(i)}
    return first, differ


def _state(source: Any, example: Any) -> tuple[list[str], dict[str, Any], dict[str, tuple[str, int]]]:
    """The source's keys in use order (key order for a bare state_dict), its tensors, with fused
    projections standing for runs of Linear layers of one input (`weight_groups`), and the call
    that first read each layer (none for a bare state_dict)."""
    if hasattr(source, "state_dict") and hasattr(source, "forward"):
        keys, calls = trace(source, example)
        return (*weight_groups.fuse(keys, source.state_dict(), calls), calls)
    state = dict(source)
    return list(state), state, {}


def _owner(key: str) -> tuple[str, str]:
    prefix, _, leaf = key.rpartition(".")
    return prefix, leaf


def match(module: Any, source: Any, example: Any) -> tuple[WeightReport, dict[str, Any]]:
    """The report and the tensors to load into `module` (converted to its shapes)."""
    report = WeightReport()
    tk, target, calls = _state(module, example)
    sk, source_state, source_calls = _state(source, example)
    relaid = weight_tables.relayout(module, tk, calls, source, sk, source_state, example) if source_calls else {}
    pairs, ambiguous = _align([_shape(target[k]) for k in tk], [_shape(source_state[k]) for k in sk])
    loaded: dict[str, Any] = {}
    for i, j in sorted(pairs.items()):
        t, s = tk[i], sk[j]
        if i in ambiguous:
            continue
        value = source_state[s]
        if tuple(value.shape) != tuple(target[t].shape) and len(weight_groups.parts(t)) == 1:
            report.transformed.append((t, s, f"size-1 axes {tuple(value.shape)} -> {tuple(target[t].shape)}"))
            loaded[t] = value.reshape(target[t].shape)  # only size-1 axes differ (see `_score`)
            continue
        if s in relaid:
            report.transformed.append((t, s, relaid[s]))
            loaded[t] = value
            continue
        values, transformed, matched = weight_groups.assign(t, s, value)
        loaded.update(values)
        report.transformed += transformed
        report.matched += matched
    report.ambiguous = [p for i in sorted(ambiguous) for p in weight_groups.parts(tk[i])]
    every = [p for t in tk for p in weight_groups.parts(t)]
    report.unmatched = [t for t in every if t not in loaded and t not in report.ambiguous]
    taken = {p for _, s in report.matched for p in weight_groups.parts(s)}
    taken |= {p for _, s, _ in report.transformed for p in weight_groups.parts(s)}
    report.unused = [p for s in sk for p in weight_groups.parts(s) if p not in taken]
    return report, loaded


def load_weights(module: Any, source: Any, example: Any = None, strict: bool = True) -> WeightReport:
    """Load `source` (an `nn.Module` or a state_dict) into the generated `module`, matching
    tensors by use order and shape (see the module docstring); `example` is one input (or a
    tuple of inputs) forward accepts. With `strict`, raises `WeightsError` (E700) unless every
    tensor on both sides is matched, before changing anything."""
    import torch

    if example is None:
        raise TypeError("load_weights needs `example`, an input the module accepts: tensors are "
                        "matched in the order forward uses them")
    report, loaded = match(module, source, example)
    if strict and not report.complete:
        raise WeightsError("the source's weights do not fit this module", report)
    state = module.state_dict(keep_vars=True)
    before = {k: state[k].detach().clone() for k in loaded}
    with torch.no_grad():
        for key, value in loaded.items():
            state[key].copy_(value)
    _verify(module, source, example, report)
    if strict and report.verified is False:
        with torch.no_grad():
            for key, value in before.items():
                state[key].copy_(value)
        raise WeightsError("every tensor found a place, but the two modules compute different things", report)
    return report


def _verify(module: Any, source: Any, example: Any, report: WeightReport) -> None:
    """Compare the outputs on `example` when the source is a module: the witness that a layout
    was read right (a fused projection interleaved per head, say, loads without error and is
    wrong). Matching is by structure, so only this run says the load computes what the source
    does; a disagreement is a counterexample."""
    import torch

    if not (hasattr(source, "state_dict") and hasattr(source, "forward")):
        return
    args = example if isinstance(example, tuple) else (example,)
    modes = module.training, source.training
    module.eval(), source.eval()
    try:
        with torch.no_grad():
            ours, theirs = module(*args), source(*args)
    finally:
        module.train(modes[0]), source.train(modes[1])
    if not (isinstance(ours, torch.Tensor) and isinstance(theirs, torch.Tensor)) or ours.shape != theirs.shape:
        return
    report.difference = float((ours - theirs).abs().max()) if ours.numel() else 0.0
    scale = float(theirs.abs().max()) if theirs.numel() else 0.0
    report.verified = report.difference <= 1e-4 * max(1.0, scale)

